"""Big Hugo-style content trees for import/export tests and benchmarks.

``generate_site(root, pages=1000, seed=0)`` writes a tree shaped like a real documentation
site: sections nested up to four levels, each with an ``_index.md``; file names repeated
across sections (``introduction.md``, ``overview.md``, ``Params.md``, route-like names such as
``publish.md`` or ``sync.md``, and ``index.md`` page bundles); capitalised names; leaf bundles
with small real images (Pillow, the same bytes for the same seed); YAML front matter with a
mix of Hugo's keys (some TOML, a few JSON, a few files without any); bodies of 1-8 KB that
mix the Markdown and shortcode constructs real sites use (fences in lists and with
attributes, escaped shortcodes, alerts, definition lists, tables, footnotes...).

With ``hugo=True`` the tree goes to ``root/content`` and ``root`` also gets a ``hugo.toml``,
the layouts and shortcode stubs of ``tests/fixtures/hugo-docs`` and a ``static/`` folder, so
``hugo --source root`` builds it; ``SiteInfo.hugo_pages`` is the page count hugo reports.
Without it ``root`` itself is the content tree. Either way ``SiteInfo.content_dir`` is the
folder to import.

    python -m tests.sitegen OUT --pages 1000 [--seed 0] [--no-images] [--hugo]
    python -m tests.sitegen --expected tests/fixtures/hugo-docs   # rewrite its EXPECTED.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HUGO_DOCS = FIXTURES / "hugo-docs"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MAX_DEPTH = 4


@dataclass
class SiteInfo:
    root: Path
    content_dir: Path  # the folder to import (root itself, or root/content with hugo=True)
    markdown_files: int = 0
    section_pages: int = 0  # _index.md files, the root one (the home page) included
    regular_pages: int = 0  # every other Markdown file
    bundles: int = 0  # leaf bundles: a folder with index.md and its images
    branch_bundles: int = 0  # sections with images beside their _index.md
    images: int = 0
    repeated_name_pages: int = 0  # regular pages whose file name another page also has
    max_depth: int = 0  # of section folders below the content folder
    drafts: int = 0
    future: int = 0  # publishDate in the future: hugo skips them
    expired: int = 0  # expiryDate in the past: hugo skips them
    hugo_pages: int = 0  # what `hugo` reports as "Pages" for this tree
    hugo_resources: int = 0  # what it reports as "Non-page files": the built pages' images
    files: list[str] = field(default_factory=list)  # every file, relative to content_dir
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # this process's CPU time (less noisy on a busy machine)

    @property
    def image_files(self) -> list[str]:
        return [f for f in self.files if f.lower().endswith(IMAGE_SUFFIXES)]

    @property
    def markdown_paths(self) -> list[str]:
        return [f for f in self.files if f.endswith(".md")]

    def to_dict(self) -> dict[str, Any]:
        skip = {"root", "content_dir", "files"}
        counts = {k: v for k, v in vars(self).items() if k not in skip}
        return {"content_dir": str(self.content_dir), **counts, "files": len(self.files)}


# ---------------------------------------------------------------------------------------
# Images: small, real, deterministic


_SPECKLE = bytes(255 if value < 7 else 0 for value in range(256))


def make_image(kind: str, seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small real image (png, jpg, gif or webp): a gradient, a few shapes and some
    texture, all drawn from ``seed``, so the same seed gives the same bytes."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    width, height = size
    c1 = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    c2 = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    row = bytes(
        channel
        for x in range(width)
        for channel in (
            c1[0] + (c2[0] - c1[0]) * x // max(width - 1, 1),
            c1[1] + (c2[1] - c1[1]) * x // max(width - 1, 1),
            c1[2] + (c2[2] - c1[2]) * x // max(width - 1, 1),
        )
    )
    image = Image.frombytes("RGB", size, row * height)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 7)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (x0, y0, x0 + rng.randint(6, width // 2), y0 + rng.randint(6, height // 2))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, outline=colour, width=2)
    # texture, so that JPEG and WebP are not trivially small: about one pixel in forty
    mask = Image.frombytes("L", size, rng.randbytes(width * height).translate(_SPECKLE))
    image.paste(Image.frombytes("RGB", size, rng.randbytes(width * height * 3)), mask=mask)
    out = io.BytesIO()
    if kind == "png":
        image.save(out, "PNG", optimize=False)
    elif kind in ("jpg", "jpeg"):
        image.save(out, "JPEG", quality=85)
    elif kind == "gif":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=32).save(out, "GIF")
    elif kind == "webp":
        image.save(out, "WEBP", quality=80, method=0)
    else:
        raise ValueError(f"unknown image kind {kind!r}")
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# Vocabulary

TOP_SECTIONS = [
    "getting-started", "content-management", "functions", "methods", "templates",
    "hosting-and-deployment", "troubleshooting", "tools", "configuration", "guides",
    "reference", "tutorials", "showcase", "news", "contribute", "installation", "modules",
    "render-hooks", "quick-reference", "api", "themes", "community", "security", "about",
]  # fmt: skip
SUB_SECTIONS = [
    "strings", "math", "collections", "resources", "transform", "page", "site", "pages",
    "organization", "advanced", "examples", "internals", "shortcodes", "taxonomies", "menus",
    "images", "js", "css", "urls", "time", "lang", "hugo", "os", "path", "data", "partials",
    "output-formats", "multilingual", "archetypes", "deployment", "ci", "recipes", "v1", "v2",
    "legacy", "how-to", "concepts", "cookbook", "plugins", "widgets",
]  # fmt: skip
# File names real sites repeat from section to section; the route-like ones are also the
# names of the CMS's own API path segments.
COMMON_NAMES = [
    "introduction", "overview", "configuration", "usage", "examples", "faq", "installation",
    "troubleshooting", "reference", "changelog", "Params", "Title", "Content", "publish",
    "revisions", "content", "media", "sync", "batch", "settings", "index-page", "README",
]  # fmt: skip
CAPITALISED = [
    "AllTranslations", "Asin", "FirstUpper", "ReplaceRE", "TrimPrefix", "CountWords",
    "GetPage", "RegularPages", "IsHome", "Permalink", "RelPermalink", "TableOfContents",
    "WordCount", "ByWeight", "GroupByDate", "Unmarshal", "Markdownify", "Resize", "Fill",
    "Where", "Sort", "Delimit", "Apply", "Scratch", "BaseURL", "LastChange", "Sites",
]  # fmt: skip
WORDS = [
    "configure", "render", "build", "deploy", "template", "partial", "bundle", "section",
    "taxonomy", "menu", "image", "processing", "module", "theme", "content", "front-matter",
    "shortcode", "output", "format", "cache", "server", "draft", "summary", "alias", "url",
    "permalink", "language", "translation", "sitemap", "feed", "pagination", "search",
    "syntax", "highlighting", "diagram", "math", "table", "list", "glossary", "migration",
]  # fmt: skip
TAGS = [
    "templates", "content", "images", "configuration", "deployment", "performance",
    "markdown", "shortcodes", "taxonomies", "menus", "multilingual", "modules", "security",
    "css", "javascript", "go", "data", "urls", "seo", "accessibility",
]  # fmt: skip
CATEGORIES = ["fundamentals", "functions", "methods", "guides", "news", "reference", "tools"]
UNICODE_TITLES = [
    "Café — Übersicht", "日本語のドキュメント", "Ça marche ✓", "Überblick: Größen & Maße",
    "Español: configuración", "Ελληνικά και 🚀", "Привет, Hugo", "naïve façade — “quotes”",
]  # fmt: skip
SENTENCES = [
    "Hugo renders each page with the most specific template it can find.",
    "A section is a folder of content with an _index.md file at its top.",
    "Front matter sits at the top of the file and holds the page's metadata.",
    "Use the weight field to order pages within a list.",
    "Page bundles keep a page and its resources together in one folder.",
    "The build reports how many pages, paginator pages and aliases it wrote.",
    "Shortcodes let editors call a template from inside Markdown.",
    "Image processing resizes, crops and converts images at build time.",
    "Configuration can live in TOML, YAML or JSON files.",
    "Taxonomies group content by tags, categories or any term you define.",
    "The summary is either the first seventy words or the text before the divider.",
    "Menus can be defined in the site configuration or in front matter.",
    "Drafts, future and expired content are excluded unless you ask for them.",
    "A leaf bundle has no children; a branch bundle can have many.",
    "Output formats let one page be rendered as HTML, JSON and more.",
    "Permalinks are built from the section and the slug unless a url is set.",
    "Aliases write small redirect pages at the old addresses.",
    "The cascade passes front matter values down to every descendant page.",
    "Render hooks override how links, images and headings become HTML.",
    "Modules fetch themes and components with Go's module system.",
    "Syntax highlighting is done by Chroma while the site builds.",
    "Resources are fetched, transformed and published only when a template uses them.",
    "Lists of pages can be filtered with where and sorted with sort.",
    "Relative links resolve against the page's own folder.",
    "The server rebuilds only what changed while you edit.",
    "Every page has a kind: home, section, page, taxonomy or term.",
    "Headless bundles publish nothing but can be used by other pages.",
    "The ref and relref shortcodes fail the build when their target is missing.",
    "Multilingual sites keep one content folder per language or one file per translation.",
    "Markdown attributes add ids and classes to headings and blocks.",
]  # fmt: skip
CODE_SNIPPETS = {
    "go-html-template": [
        '{{ range .Pages }}\n  <h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>\n'
        "  {{ .Summary }}\n{{ end }}",
        "{{ with .Params.images }}\n  {{ $img := $.Resources.GetMatch (index . 0) }}\n"
        '  <img src="{{ $img.RelPermalink }}" alt="">\n{{ end }}',
        '{{ $s := "a-b--c---d" }}\n{{ replaceRE `(-{2,})` "-" $s }} → a-b-c-d',
    ],
    "toml": [
        "baseURL = 'https://example.org/'\ntitle = 'My site'\n\n[params]\n  color = 'blue'",
        "[markup.goldmark.renderer]\nunsafe = true\n\n[markup.highlight]\nstyle = 'monokai'",
        "[[menus.main]]\nname = 'Docs'\npageRef = '/docs'\nweight = 10",
    ],
    "yaml": [
        "params:\n  author: Jane Doe\n  social:\n    mastodon: '@jane@example.social'",
        "imaging:\n  quality: 80\n  resampleFilter: lanczos",
    ],
    "go": [
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, Hugo")\n}',
        "func add(a, b int) int {\n\treturn a + b\n}",
    ],
    "sh": [
        "hugo new site quickstart\ncd quickstart\nhugo server --buildDrafts",
        "hugo --minify --gc\nls public/",
    ],
    "json": ['{\n  "title": "Example",\n  "tags": ["a", "b"]\n}'],
    "text": ["content/\n├── _index.md\n└── posts/\n    ├── _index.md\n    └── first.md"],
}


class Lit(str):
    """A value written as is (a date in one of the forms people type)."""


def _date(rng: random.Random, *, future: bool = False, past: bool = False) -> Lit:
    year = 2099 if future else (2016 if past else rng.randint(2017, 2024))
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    hour, minute = rng.randint(0, 23), rng.choice([0, 15, 30, 45])
    form = rng.randrange(4)
    if form == 0:
        return Lit(f"{year}-{month:02d}-{day:02d}")
    if form == 1:
        return Lit(f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00-07:00")
    if form == 2:
        return Lit(f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z")
    return Lit(f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00 +0100")


# ---------------------------------------------------------------------------------------
# Front matter writers


_YAML_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.,/()'-]*$")
_YAML_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"}


def _yaml_scalar(value: Any, rng: random.Random) -> str:
    if isinstance(value, Lit):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    plain_ok = (
        _YAML_PLAIN.match(text)
        and text.lower() not in _YAML_RESERVED
        and not text.endswith((" ", ":"))
        and not re.fullmatch(r"[\d.]+", text)
    )
    if plain_ok and rng.random() < 0.7:
        return text
    if "'" not in text and "\\" not in text and rng.random() < 0.4:
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def _yaml(items: dict[str, Any], rng: random.Random, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in items.items():
        if indent == 0 and rng.random() < 0.06:
            lines.append(f"# {rng.choice(WORDS)} {rng.choice(WORDS)}")
        if isinstance(value, dict):
            if (
                value
                and rng.random() < 0.15
                and all(not isinstance(v, dict | list) for v in value.values())
            ):
                inner = ", ".join(f"{k}: {_yaml_scalar(v, rng)}" for k, v in value.items())
                lines.append(f"{pad}{key}: {{{inner}}}")
            else:
                lines.append(f"{pad}{key}:")
                lines.extend(_yaml(value, rng, indent + 2))
        elif isinstance(value, list):
            if not value:
                lines.append(f"{pad}{key}: []")
            elif all(isinstance(v, dict) for v in value):
                lines.append(f"{pad}{key}:")
                for element in value:
                    sub = _yaml(element, rng, indent + 4)
                    lines.append(f"{pad}  - {sub[0].lstrip()}")
                    lines.extend(sub[1:])
            elif rng.random() < 0.5:
                inner = ", ".join(_yaml_scalar(v, rng) for v in value)
                lines.append(f"{pad}{key}: [{inner}]")
            else:
                lines.append(f"{pad}{key}:")
                lines.extend(f"{pad}  - {_yaml_scalar(v, rng)}" for v in value)
        elif isinstance(value, str) and "\n" in value:
            style = rng.choice(["|", ">"])
            lines.append(f"{pad}{key}: {style}")
            lines.extend(f"{pad}  {line}" if line else "" for line in value.split("\n"))
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(value, rng)}")
    return lines


def _toml_value(value: Any) -> str:
    if isinstance(value, Lit):
        return str(value) if " " not in value else json.dumps(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value)
    if "\n" in text:
        return '"""\n' + text.replace("\\", "\\\\") + '"""'
    return json.dumps(text, ensure_ascii=False)


def _toml(items: dict[str, Any], prefix: str = "") -> list[str]:
    scalars = {k: v for k, v in items.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in items.items() if isinstance(v, dict)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for key, table in tables.items():
        name = f"{prefix}{key}"
        if any(not isinstance(v, dict) for v in table.values()) or not table:
            lines.extend(["", f"[{name}]"])
        lines.extend(_toml(table, f"{name}."))
    return lines


def front_matter(items: dict[str, Any] | None, style: str, rng: random.Random) -> str:
    """The front matter block, delimiters included ('' for a page without one)."""
    if items is None:
        return ""
    if style == "toml":
        return "+++\n" + "\n".join(_toml(items)) + "\n+++\n"
    if style == "json":
        plain = json.loads(json.dumps(items, ensure_ascii=False))
        return json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
    if not items:
        return "---\n---\n"
    return "---\n" + "\n".join(_yaml(items, rng)) + "\n---\n"


# ---------------------------------------------------------------------------------------
# The tree


@dataclass
class _Page:
    folder: str  # posix path of its folder below the content dir ('' for the root)
    name: str  # file stem ('_index' for a section, 'index' for a bundle)
    bundle: str = ""  # the bundle folder name
    images: list[str] = field(default_factory=list)
    built: bool = True
    skip: str = ""  # why hugo skips it: draft, future or expired
    has_description: bool = False
    taxonomies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        parts = [p for p in (self.folder, self.bundle, f"{self.name}.md") if p]
        return "/".join(parts)

    @property
    def ref(self) -> str:
        """The argument of a ref shortcode that finds this page."""
        if self.bundle:
            return "/" + "/".join(p for p in (self.folder, self.bundle) if p)
        return "/" + self.path


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[str] = []
        self.made: set[Path] = set()

    def write(self, rel: str, data: bytes | str) -> None:
        path = self.root / rel
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        self.files.append(rel)


def _sections(rng: random.Random, count: int) -> list[str]:
    """Section folders (posix, relative), parents before children, one chain four deep."""
    tops = rng.sample(TOP_SECTIONS, k=min(len(TOP_SECTIONS), max(3, count // 4)))
    sections = list(tops)
    children: dict[str, set[str]] = {s: set() for s in sections}
    chain = tops[0]
    for _ in range(MAX_DEPTH - 1):  # guarantee the deepest level
        child = rng.choice(SUB_SECTIONS)
        children[chain].add(child)
        chain = f"{chain}/{child}"
        children[chain] = set()
        sections.append(chain)
    while len(sections) < count:
        parent = rng.choice(sections)
        if parent.count("/") + 1 >= MAX_DEPTH:
            continue
        child = rng.choice(SUB_SECTIONS)
        if child in children[parent]:
            continue
        children[parent].add(child)
        sections.append(f"{parent}/{child}")
        children[sections[-1]] = set()
    return sections


def generate_site(
    root: Path,
    pages: int = 1000,
    *,
    seed: int = 0,
    images: bool = True,
    hugo: bool = False,
) -> SiteInfo:
    """Write a Hugo-style content tree of ``pages`` Markdown files (``_index.md`` files
    included) under ``root`` and describe it. The same arguments give the same bytes."""
    started, started_cpu = time.perf_counter(), time.process_time()
    root = Path(root)
    content = root / "content" if hugo else root
    rng = random.Random(seed)
    writer = _Writer(content)
    info = SiteInfo(root=root, content_dir=content)
    pages = max(pages, 8)

    section_count = max(4, min(pages // 12, 400))
    sections = ["", *_sections(rng, section_count)]
    info.max_depth = max(s.count("/") + 1 for s in sections if s)
    used: dict[str, set[str]] = {s: set() for s in sections}  # lower-cased names per folder
    for section in sections:
        if section:
            parent, _, name = section.rpartition("/")
            used[parent].add(name.lower())

    # Plan every page first, so ref shortcodes can point at pages written later too.
    plan: list[_Page] = [_Page(folder=s, name="_index") for s in sections]
    serial = 0
    while len(plan) < pages:
        folder = rng.choice(sections[1:]) if rng.random() < 0.92 else ""
        roll = rng.random()
        if roll < 0.24:
            stem = rng.choice(COMMON_NAMES)
        elif roll < 0.36:
            stem = rng.choice(CAPITALISED)
        else:
            serial += 1
            stem = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
            if stem.lower() in used[folder]:
                stem = f"{stem}-{serial}"
        if stem.lower() in used[folder]:
            continue
        used[folder].add(stem.lower())
        if rng.random() < 0.14:
            plan.append(_Page(folder=folder, name="index", bundle=stem.lower()))
        else:
            plan.append(_Page(folder=folder, name=stem))

    # Which pages hugo will skip, decided before any body needs a ref target.
    for page in plan:
        if page.name == "_index":
            continue
        roll = rng.random()
        if roll < 0.045:
            page.skip = "draft" if roll < 0.025 else "future" if roll < 0.035 else "expired"
            page.built = False
    skipped = Counter(p.skip for p in plan)
    info.drafts, info.future, info.expired = skipped["draft"], skipped["future"], skipped["expired"]
    targets = [p for p in plan if p.built and p.name != "_index"]

    image_seed = seed * 1_000_003
    for page in plan:
        page_rng = random.Random(rng.getrandbits(64))
        if page.bundle or (page.name == "_index" and page.folder and page_rng.random() < 0.08):
            kinds = ["png", "jpg", "webp", "gif"]
            names = ["cover.png", "photo.jpg", "diagram.png", "screenshot.webp", "anim.gif"]
            count = page_rng.randint(1, 4)
            chosen = page_rng.sample(names, k=count)
            if page.bundle and page_rng.random() < 0.3:
                chosen.append("images/figure-1.png")  # a resource in a bundle's subfolder
            for name in chosen:
                page.images.append(name)
                if images:
                    image_seed += 1
                    kind = name.rsplit(".", 1)[1]
                    kind = kind if kind in kinds else "png"
                    base = page.folder if not page.bundle else f"{page.folder}/{page.bundle}"
                    writer.write(f"{base}/{name}".lstrip("/"), make_image(kind, image_seed))
            if page.bundle:
                info.bundles += 1
            else:
                info.branch_bundles += 1
        items, style = _page_front_matter(page, page_rng)
        body = _body(page, page_rng, targets)
        head = front_matter(items, style, page_rng)
        writer.write(page.path, head + body if head else body.lstrip("\n"))

    if hugo:
        _hugo_scaffold(root)

    info.markdown_files = len(plan)
    info.section_pages = sum(1 for p in plan if p.name == "_index")
    info.regular_pages = info.markdown_files - info.section_pages
    names = Counter(Path(p.path).name for p in plan if p.name != "_index")
    info.repeated_name_pages = sum(n for n in names.values() if n > 1)
    info.images = sum(len(p.images) for p in plan) if images else 0
    built = [p for p in plan if p.name != "_index" and p.built]
    tags = {t for p in built for t in p.taxonomies.get("tags", [])}
    categories = {c for p in built for c in p.taxonomies.get("categories", [])}
    # home and sections + rendered pages + the two taxonomy lists and their terms
    info.hugo_pages = info.section_pages + len(built) + 2 + len(tags) + len(categories)
    if images:
        info.hugo_resources = sum(len(p.images) for p in plan if p.built)
    info.files = sorted(writer.files)
    info.seconds = time.perf_counter() - started
    info.cpu_seconds = time.process_time() - started_cpu
    return info


def _page_front_matter(page: _Page, rng: random.Random) -> tuple[dict[str, Any] | None, str]:
    roll = rng.random()
    style = "yaml" if roll < 0.82 else "toml" if roll < 0.97 else "json"
    if page.name != "_index" and page.built and rng.random() < 0.01:
        return None, "none"  # no front matter at all
    stem = page.bundle or (page.folder.rsplit("/", 1)[-1] if page.name == "_index" else page.name)
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem).replace("-", " ").replace("_", " ")
    items: dict[str, Any] = {}
    if page.name == "_index" and not page.folder:
        items["title"] = "Documentation"
        items["description"] = "Everything about the project, generated for tests."
        items["cascade"] = {"params": {"show_toc": True}}
        page.has_description = True
        return items, "yaml"
    if rng.random() < 0.97:
        items["title"] = (
            rng.choice(UNICODE_TITLES) if rng.random() < 0.04 else words.strip().capitalize()
        )
    if rng.random() < 0.3:
        items["linkTitle"] = words.split(" ")[0].capitalize()
    if rng.random() < 0.7:
        text = " ".join(rng.sample(SENTENCES, 2))
        if rng.random() < 0.15 and style != "json":
            text = text.replace(". ", ".\n", 1) + "\n"
        items["description"] = text
        page.has_description = True
    if page.name != "_index":
        if rng.random() < 0.85:
            items["date"] = _date(rng)
        if rng.random() < 0.4:
            items["lastmod"] = _date(rng)
        if rng.random() < 0.5:
            items["weight"] = rng.randrange(1, 200) * 10
        if page.skip == "draft":
            items["draft"] = True
        elif page.skip == "future":
            items["publishDate"] = _date(rng, future=True)
        elif page.skip == "expired":
            items["expiryDate"] = _date(rng, past=True)
        elif rng.random() < 0.05:
            items["expiryDate"] = _date(rng, future=True)
        elif rng.random() < 0.05:
            items["publishDate"] = _date(rng)
        if rng.random() < 0.45:
            items["tags"] = rng.sample(TAGS, rng.randint(1, 4))
        if rng.random() < 0.35:
            items["categories"] = rng.sample(CATEGORIES, rng.randint(1, 2))
        if rng.random() < 0.25:
            items["keywords"] = rng.sample(WORDS, 3)
        if rng.random() < 0.1:
            items["aliases"] = [f"/old/{page.path.lower().removesuffix('.md')}/"]
        if rng.random() < 0.04:
            items["slug"] = f"{stem.lower()}-{rng.randrange(10**6)}"
        elif rng.random() < 0.03:
            items["url"] = f"/u/{page.path.lower().removesuffix('.md')}/"
        if rng.random() < 0.15:
            items["toc"] = True
        if rng.random() < 0.05:
            items["math"] = True
        if rng.random() < 0.04:
            items["layout"] = "wide"
        if rng.random() < 0.04:
            items["type"] = "reference"
        if rng.random() < 0.03:
            items["build"] = {"list": "never", "render": "always"}
        if rng.random() < 0.06:
            items["summary"] = rng.choice(SENTENCES)
    if rng.random() < 0.12:
        items["menu"] = {
            "docs": {
                "parent": page.folder.rsplit("/", 1)[-1] or "home",
                "identifier": f"m-{page.path.lower()}",
                "weight": rng.randrange(1, 50),
            }
        }
    if rng.random() < 0.1:
        items["params"] = {
            "author": rng.choice(["Jane Doe", "Ana Ruiz", "李雷", "Zoë Ölçer"]),
            "reviewed": rng.random() < 0.5,
            "social": {"mastodon": "@docs@example.social", "card": "summary_large_image"},
        }
    if page.images:
        if "cover.png" in page.images and rng.random() < 0.7:
            items["images"] = ["cover.png"]
        if "photo.jpg" in page.images and rng.random() < 0.3:
            items["cover"] = {"image": "photo.jpg", "alt": "A photo", "relative": True}
        if rng.random() < 0.3:
            items["resources"] = [
                {"src": name, "title": f"Image {i + 1}", "params": {"credit": "Example"}}
                for i, name in enumerate(page.images[:2])
            ]
    if page.name == "_index" and rng.random() < 0.1:
        items["cascade"] = {"params": {"section_banner": True}}
    if page.name != "_index" and page.built:
        page.taxonomies = {k: list(items.get(k, [])) for k in ("tags", "categories")}
    return items, style


# ---------------------------------------------------------------------------------------
# Bodies


class _Body:
    """One page's Markdown, built from the constructs real documentation uses."""

    def __init__(self, page: _Page, rng: random.Random, targets: list[_Page]) -> None:
        self.page = page
        self.rng = rng
        self.targets = targets
        self.footnotes: list[str] = []
        self.references: list[str] = []
        self.heading_ids: set[str] = set()

    # inline -----------------------------------------------------------------------------

    def sentence(self) -> str:
        text = self.rng.choice(SENTENCES)
        roll = self.rng.random()
        if roll < 0.12:
            word = self.rng.choice(["page", "section", "template", "bundle", "front matter"])
            text = text.replace(word, f"**{word}**", 1)
        elif roll < 0.2:
            text = text.replace("the ", "*the* ", 1)
        elif roll < 0.28:
            text += f" See `{self.rng.choice(CAPITALISED)}` or `.Params.{self.rng.choice(WORDS)}`."
        elif roll < 0.33:
            text += " Write `![alt](image.png)` for an image, or `{{</* figure */>}}`."
        elif roll < 0.38:
            text += " More at https://gohugo.io/documentation/."
        elif roll < 0.43:
            text += f" Read [the guide](https://example.org/{self.rng.choice(WORDS)}/)."
        elif roll < 0.47:
            label = len(self.footnotes) + 1
            text += f"[^{label}]"
            self.footnotes.append(f"[^{label}]: {self.rng.choice(SENTENCES)}")
        elif roll < 0.5:
            text = f"~~{text}~~ {self.rng.choice(SENTENCES)}"
        elif roll < 0.53:
            label = f"ref-{len(self.references) + 1}"
            text += f" See [{self.rng.choice(WORDS)}][{label}]."
            self.references.append(f'[{label}]: https://example.org/{label}/ "Reference"')
        elif roll < 0.55:
            text += " ***Really*** _important_, __strong__ and <kbd>Ctrl</kbd>+<kbd>C</kbd>."
        return text

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    # blocks -----------------------------------------------------------------------------

    def heading(self) -> str:
        level = self.rng.choice([2, 2, 2, 3, 3, 4, 5, 6])
        words = self.rng.sample(WORDS, 2)
        title = f"{words[0].capitalize()} {words[1]}"
        if self.rng.random() < 0.2:
            slug = f"{words[0]}-{words[1]}-{len(self.heading_ids)}"
            self.heading_ids.add(slug)
            title += f" {{#{slug} .{words[1]}}}"
        return "#" * level + " " + title

    def code(self, *, tilde: bool = False) -> str:
        lang = self.rng.choice(list(CODE_SNIPPETS))
        snippet = self.rng.choice(CODE_SNIPPETS[lang])
        fence = "~~~" if tilde else "```"
        roll = self.rng.random()
        attrs = ""
        if roll < 0.2 and lang in ("toml", "yaml", "json"):
            attrs = ' {file="hugo.' + lang + '"}'
        elif roll < 0.35:
            attrs = " {hl_lines=[2,3] linenos=true}"
        elif roll < 0.42:
            attrs = " {linenos=table,hl_lines=[1],linenostart=199}"
        return f"{fence}{lang}{attrs}\n{snippet}\n{fence}"

    def list_with_code(self) -> str:
        code = self.code(tilde=self.rng.random() < 0.2)
        if self.rng.random() < 0.5:
            indented = "\n".join(("   " + line) if line else "" for line in code.split("\n"))
            return (
                f"1. {self.sentence()}\n\n{indented}\n\n2. {self.sentence()}\n3. {self.sentence()}"
            )
        indented = "\n".join(("    " + line) if line else "" for line in code.split("\n"))
        return f"- {self.sentence()}\n  - {self.sentence()}\n\n{indented}\n\n- {self.sentence()}"

    def nested_list(self) -> str:
        return (
            f"- {self.sentence()}\n  - {self.sentence()}\n    - `{self.rng.choice(WORDS)}`\n"
            f"  - {self.sentence()}\n- {self.sentence()}\n\n"
            f"1. {self.sentence()}\n   1. {self.sentence()}\n2. {self.sentence()}"
        )

    def quoted_code(self) -> str:
        code = self.code()
        quoted = "\n".join(f"> {line}" if line else ">" for line in code.split("\n"))
        return f"> {self.sentence()}\n>\n{quoted}"

    def four_backticks(self) -> str:
        return (
            "````md\n```toml {file=\"hugo.toml\"}\ntitle = 'x'\n```\n\n"
            '{{</* figure src="example.png" alt="An example" */>}}\n\n'
            "![Not an image](not-an-image.png)\n````"
        )

    def indented_code(self) -> str:
        return (
            f"{self.sentence()}\n\n"
            "    hugo --printPathWarnings\n    ![not an image](indented.png)\n    exit 0"
        )

    def table(self) -> str:
        cells = self.rng.sample(CAPITALISED, 3)
        badge = "{{< new-in 0.110.0 />}}" if self.rng.random() < 0.4 else "yes"
        return (
            "| Name | Kind | Since | Default |\n|:-----|:----:|------:|---------|\n"
            f"| `{cells[0]}` | method | 0.{self.rng.randint(20, 110)} | {badge} |\n"
            f"| `{cells[1]}` | function | 0.{self.rng.randint(20, 110)} | *none* |\n"
            f"| {cells[2]} | alias | 0.{self.rng.randint(20, 110)} | `false` |"
        )

    def definition_list(self) -> str:
        terms = self.rng.sample(WORDS, 2)
        return (
            f"{terms[0]}\n: {self.sentence()}\n\n"
            f"{terms[1]}\n: {self.sentence()}\n: {self.sentence()}"
        )

    def alert(self) -> str:
        kind = self.rng.choice(["NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION"])
        return f"> [!{kind}]\n> {self.sentence()}\n> {self.sentence()}"

    def tasks(self) -> str:
        return f"- [x] {self.sentence()}\n- [ ] {self.sentence()}\n- [ ] ~~{self.sentence()}~~"

    def raw_html(self) -> str:
        return (
            '<div class="callout" markdown="1">\n  <p>'
            f'{self.rng.choice(SENTENCES)}</p>\n  <img src="/images/logo.png" alt="Logo">\n'
            "</div>"
        )

    def image(self) -> str:
        roll = self.rng.random()
        if self.page.images and roll < 0.6:
            name = self.rng.choice(self.page.images)
            if self.rng.random() < 0.3:
                return f'![{name.split(".")[0].capitalize()}](./{name} "The {name}")'
            if self.rng.random() < 0.2:
                label = f"img-{len(self.references) + 1}"
                self.references.append(f"[{label}]: {name}")
                return f"![Reference-style image][{label}]"
            return f"![{name.split('.')[0].capitalize()}]({name})"
        if roll < 0.8:
            return "![Logo](/images/logo.png)"
        return "![External](https://images.example.com/photos/mountain.jpg)"

    def shortcode(self) -> str:
        roll = self.rng.random()
        if self.page.images and roll < 0.18:
            name = self.rng.choice(self.page.images)
            if self.rng.random() < 0.5:
                return f'{{{{< figure src="{name}" alt="A figure" caption="{name}" >}}}}'
            return (
                f'{{{{< figure\n  src="{name}"\n  alt="A figure on several lines"\n'
                '  caption="Named arguments, one a line"\n  class="wide"\n>}}'
            )
        if roll < 0.28:
            snippet = self.rng.choice(CODE_SNIPPETS["go"])
            return f'{{{{< highlight go "linenos=table" >}}}}\n{snippet}\n{{{{< /highlight >}}}}'
        if roll < 0.34:
            return "{{< youtube 0RKpf3rK57I >}}"
        if roll < 0.38:
            return "{{< vimeo 146022717 >}}"
        if roll < 0.5:
            return (
                '{{< details summary="More" >}}\n'
                f"{self.paragraph()}\n\n{self.code()}\n{{{{< /details >}}}}"
            )
        if roll < 0.6:
            return f"{{{{% note %}}}}\n{self.sentence()} Inner **Markdown**.\n{{{{% /note %}}}}"
        if roll < 0.68:
            return f"{{{{< new-in 0.{self.rng.randint(100, 140)}.0 />}}}}"
        if roll < 0.74:
            return (
                '{{< tabs >}}\n{{< tab "Linux" >}}\n```sh\nsudo apt install hugo\n```\n'
                '{{< /tab >}}\n{{< tab "macOS" >}}\n```sh\nbrew install hugo\n```\n'
                "{{< /tab >}}\n{{< /tabs >}}"
            )
        if roll < 0.78:
            return '{{< api-badge status="beta" />}}'
        if roll < 0.82 and self.page.has_description:
            return 'Description: {{< param "description" >}}'
        if roll < 0.9 and self.targets:
            target = self.rng.choice(self.targets)
            kind = "ref" if self.rng.random() < 0.6 else "relref"
            return f'See [{target.name}]({{{{< {kind} "{target.ref}" >}}}}).'
        return f'{{{{% alert type="warning" %}}}}\n{self.sentence()}\n{{{{% /alert %}}}}'

    # the page ---------------------------------------------------------------------------

    def render(self) -> str:
        rng = self.rng
        target = rng.choice([1000, 1500, 2000, 2500, 3000, 3500, 4500, 6000, 8000])
        builders = [
            (self.paragraph, 30), (self.heading, 10), (self.code, 8), (self.list_with_code, 4),
            (self.nested_list, 3), (self.quoted_code, 2), (lambda: self.code(tilde=True), 2),
            (self.four_backticks, 1), (self.indented_code, 2), (self.table, 3),
            (self.definition_list, 3), (self.alert, 3), (self.tasks, 1), (self.raw_html, 1),
            (self.image, 4), (self.shortcode, 10),
        ]  # fmt: skip
        functions = [b for b, _ in builders]
        weights = [w for _, w in builders]
        blocks = [self.paragraph()]
        size = len(blocks[0])
        while size < target:
            block = rng.choices(functions, weights)[0]()
            blocks.append(block)
            size += len(block) + 2
        tail = self.references + self.footnotes
        text = "\n\n".join(blocks + ([("\n".join(tail))] if tail else []))
        return "\n" + text + "\n"


def _body(page: _Page, rng: random.Random, targets: list[_Page]) -> str:
    others = [t for t in targets if t is not page]
    return _Body(page, rng, others).render()


# ---------------------------------------------------------------------------------------
# A buildable site around the content


HUGO_TOML = """\
baseURL = "https://docs.example.org/"
title = "Generated documentation"
languageCode = "en-us"
disableKinds = ["RSS", "sitemap"]

[taxonomies]
tag = "tags"
category = "categories"

[markup.goldmark.renderer]
unsafe = true

[markup.goldmark.parser.attribute]
block = true
title = true
"""


def _hugo_scaffold(root: Path) -> None:
    (root / "hugo.toml").write_text(HUGO_TOML, encoding="utf-8")
    shutil.copytree(HUGO_DOCS / "layouts", root / "layouts", dirs_exist_ok=True)
    logo = root / "static" / "images" / "logo.png"
    logo.parent.mkdir(parents=True, exist_ok=True)
    logo.write_bytes(make_image("png", 7, (48, 48)))


# ---------------------------------------------------------------------------------------
# Fixture inventories and hugo's counts


HUGO_STAT = re.compile(
    r"^\s*(Pages|Paginator pages|Non-page files|Static files|Aliases)\s*\|\s*(\d+)"
)


def hugo_stats(source: Path, destination: Path, hugo: str = "hugo") -> dict[str, int]:
    """Build ``source`` with hugo and return the counts it prints (raises on a failed build)."""
    done = subprocess.run(
        [hugo, "--source", str(source), "--destination", str(destination)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or "ERROR" in done.stderr:
        raise RuntimeError(f"hugo failed:\n{done.stdout}\n{done.stderr}")
    stats = {}
    for line in done.stdout.splitlines():
        match = HUGO_STAT.match(line)
        if match:
            stats[match.group(1)] = int(match.group(2))
    return stats


def inventory(site: Path) -> dict[str, Any]:
    """What EXPECTED.json records about a fixture site's files."""
    content = site / "content" if (site / "content").is_dir() else site
    files = sorted(p.relative_to(content).as_posix() for p in content.rglob("*") if p.is_file())
    files = [f for f in files if f != "EXPECTED.json"]
    return {
        "markdown_files": sum(1 for f in files if f.endswith((".md", ".markdown"))),
        "image_files": sum(1 for f in files if f.lower().endswith(IMAGE_SUFFIXES)),
        "files": files,
    }


def _hugo_list(site: Path, what: str, hugo: str) -> list[str]:
    done = subprocess.run(
        [hugo, "list", what, "--source", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.split(",", 1)[0] for line in done.stdout.splitlines() if line.strip()]
    return sorted(r.removeprefix("content/") for r in rows if r.startswith("content/"))


def write_expected(site: Path, hugo: str = "hugo") -> dict[str, Any]:
    """Rewrite ``site/EXPECTED.json`` from the files on disk and a real hugo build (of a
    copy: hugo leaves a lock file and a resources folder in the folder it builds)."""
    import tempfile

    found = inventory(site)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "site"
        shutil.copytree(site, copy)
        stats = hugo_stats(copy, Path(scratch) / "public", hugo)
        not_built = {what: _hugo_list(copy, what, hugo) for what in ("drafts", "future", "expired")}
    version = subprocess.run([hugo, "version"], capture_output=True, text=True, check=True)
    match = re.search(r"v(\d+\.\d+\.\d+)", version.stdout)
    static = site / "static"
    expected = {
        "markdown_files": found["markdown_files"],
        "image_files": found["image_files"],
        "hugo_version": match.group(1) if match else version.stdout.strip(),
        "hugo_pages": stats["Pages"],
        "hugo_stats": stats,
        "not_built": not_built,
        "static_files": sorted(
            p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()
        ),
        "files": found["files"],
    }
    (site / "EXPECTED.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sitegen", description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, help="folder to write the site into")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--hugo", action="store_true", help="add hugo.toml and layouts")
    parser.add_argument("--expected", type=Path, help="rewrite this fixture's EXPECTED.json")
    args = parser.parse_args(argv)
    if args.expected:
        expected = write_expected(args.expected)
        print(json.dumps({k: v for k, v in expected.items() if k != "files"}, indent=2))
        return 0
    if args.out is None:
        parser.error("give OUT, or --expected FIXTURE")
    info = generate_site(
        args.out, args.pages, seed=args.seed, images=not args.no_images, hugo=args.hugo
    )
    print(json.dumps(info.to_dict(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
