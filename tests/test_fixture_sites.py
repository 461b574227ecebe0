"""The fixture sites and the site generator are what they claim to be.

``tests/fixtures/hugo-docs`` is a documentation site shaped like gohugo.io's docs,
``tests/fixtures/jekyll-blog`` a small Jekyll blog, ``tests/sitegen.py`` writes big Hugo-style
trees. Import/export tests rely on them holding every construct listed here; these tests fail
when a fixture loses one, or when EXPECTED.json no longer describes the files.

After changing hugo-docs, rewrite its EXPECTED.json with
``python -m tests.sitegen --expected tests/fixtures/hugo-docs``.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tomllib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.sitegen import IMAGE_SUFFIXES, generate_site, hugo_stats, inventory

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HUGO_DOCS = FIXTURES / "hugo-docs"
CONTENT = HUGO_DOCS / "content"
JEKYLL = FIXTURES / "jekyll-blog"
HUGO = shutil.which("hugo")
HUGO_BUILTIN_SHORTCODES = {
    "figure", "gist", "highlight", "instagram", "param", "ref", "relref", "tweet", "twitter",
    "twitter_simple", "vimeo", "vimeo_simple", "youtube",
}  # fmt: skip


# ---------------------------------------------------------------------------------------
# Helpers


def split_front_matter(text: str) -> tuple[str, str, str]:
    """(format, raw front matter, body); format is yaml, toml, json or none."""
    lines = text.split("\n")
    for delimiter, kind in (("---", "yaml"), ("+++", "toml")):
        if lines[0] == delimiter:
            end = lines.index(delimiter, 1)
            return kind, "\n".join(lines[1:end]), "\n".join(lines[end + 1 :])
    if lines[0] == "{":
        end = lines.index("}", 1)
        return "json", "\n".join(lines[: end + 1]), "\n".join(lines[end + 1 :])
    return "none", "", text


def parse_front_matter(kind: str, raw: str) -> dict:
    if kind == "yaml":
        return yaml.safe_load(raw) or {}
    if kind == "toml":
        return tomllib.loads(raw)
    if kind == "json":
        return json.loads(raw)
    return {}


@functools.cache
def documents(content: Path) -> dict[str, tuple[str, str, str]]:
    """Every Markdown file below ``content``: relative path -> (format, raw, body)."""
    return {
        p.relative_to(content).as_posix(): split_front_matter(p.read_text(encoding="utf-8"))
        for p in sorted(content.rglob("*"))
        if p.suffix in (".md", ".markdown")
    }


def docs() -> dict[str, tuple[str, str, str]]:
    return documents(CONTENT)


def bodies() -> str:
    return "\n".join(body for _, _, body in docs().values())


def without_code(body: str) -> str:
    """The body without fenced blocks, lines indented four spaces or more (indented code:
    no real image in the fixtures is indented that far) and inline code spans."""
    kept: list[str] = []
    fence = ""
    for line in body.split("\n"):
        bare = line.lstrip(" >")
        if fence:
            if bare.startswith(fence) and not bare[len(fence) :].strip(fence[0] + " "):
                fence = ""
            continue
        match = re.match(r"(`{3,}|~{3,})", bare)
        if match:
            fence = match.group(1)
            continue
        if not line.startswith("    "):
            kept.append(line)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", "\n".join(kept), flags=re.S)


IMAGE_REF = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)")
IMAGE_DEF = re.compile(r"^\[[^\]]+\]:\s*(\S+\.(?:png|jpe?g|gif|webp))", re.M | re.I)
SHORTCODE_SRC = re.compile(r"\{\{[<%]\s*(?:figure|img)\b[^}]*?\bsrc=\"([^\"]+)\"", re.S)


def image_references(body: str) -> list[str]:
    text = without_code(body)
    found = IMAGE_REF.findall(text) + IMAGE_DEF.findall(text) + SHORTCODE_SRC.findall(text)
    return [ref for ref in found if ref.lower().endswith(IMAGE_SUFFIXES)]


def shortcode_names(text: str) -> set[str]:
    """Shortcodes hugo will call: escaped ones ({{</* x */>}}) are text, but unescaped ones
    run even inside code fences."""
    text = re.sub(r"\{\{([<%])/\*.*?\*/\1?[>%]\}\}", "", text, flags=re.S)
    return set(re.findall(r"\{\{[<%]-?\s*/?\s*([A-Za-z][\w.-]*)", text))


def bundle_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


# ---------------------------------------------------------------------------------------
# EXPECTED.json


@pytest.mark.parametrize("site", [HUGO_DOCS, JEKYLL], ids=lambda p: p.name)
def test_expected_json_lists_the_files_on_disk(site: Path) -> None:
    expected = json.loads((site / "EXPECTED.json").read_text(encoding="utf-8"))
    found = inventory(site)
    assert expected["files"] == found["files"]
    assert expected["markdown_files"] == found["markdown_files"]
    assert expected["image_files"] == found["image_files"]


def test_expected_json_of_hugo_docs_is_consistent() -> None:
    expected = json.loads((HUGO_DOCS / "EXPECTED.json").read_text(encoding="utf-8"))
    assert 60 <= expected["markdown_files"] <= 80
    assert expected["image_files"] >= 12
    assert expected["hugo_pages"] == expected["hugo_stats"]["Pages"] > 0
    assert expected["hugo_stats"]["Non-page files"] == expected["image_files"]
    for name in expected["static_files"]:
        assert (HUGO_DOCS / "static" / name).is_file()
    skipped = expected["not_built"]
    assert len(skipped["drafts"]) >= 2 and skipped["future"] and skipped["expired"]
    for path in skipped["drafts"]:
        kind, raw, _ = docs()[path]
        assert parse_front_matter(kind, raw)["draft"] is True
    for path in skipped["future"]:
        assert str(parse_front_matter(*docs()[path][:2])["publishDate"]).startswith("2099")
    for path in skipped["expired"]:
        assert str(parse_front_matter(*docs()[path][:2])["expiryDate"]) < "2021"


def test_jekyll_expected_json_is_consistent() -> None:
    expected = json.loads((JEKYLL / "EXPECTED.json").read_text(encoding="utf-8"))
    assert 10 <= len(expected["files"]) <= 16
    for path in expected["posts"] + expected["drafts"] + expected["pages"]:
        assert (JEKYLL / path).is_file(), path
    assert expected["published_posts"] == len(expected["posts"]) - len(expected["unpublished"])


# ---------------------------------------------------------------------------------------
# hugo-docs: the site around the content


def test_hugo_docs_configuration_and_layouts() -> None:
    config = tomllib.loads((HUGO_DOCS / "hugo.toml").read_text(encoding="utf-8"))
    assert config["markup"]["goldmark"]["renderer"]["unsafe"] is True
    assert config["markup"]["goldmark"]["parser"]["attribute"] == {"block": True, "title": True}
    assert config["taxonomies"] == {"tag": "tags", "category": "categories"}
    for name in ("_default/baseof.html", "_default/single.html", "_default/list.html"):
        assert (HUGO_DOCS / "layouts" / name).is_file()
    assert (HUGO_DOCS / "layouts" / "index.html").is_file()
    assert (HUGO_DOCS / "static" / "images" / "logo.png").is_file()


def test_every_shortcode_used_is_built_in_or_has_a_template() -> None:
    used: set[str] = set()
    for path in CONTENT.rglob("*.md"):
        used |= shortcode_names(path.read_text(encoding="utf-8"))
    stubs = {p.stem for p in (HUGO_DOCS / "layouts" / "shortcodes").glob("*.html")}
    assert used <= HUGO_BUILTIN_SHORTCODES | stubs, used - HUGO_BUILTIN_SHORTCODES - stubs
    assert {"figure", "highlight", "youtube", "vimeo", "ref", "relref", "param"} <= used
    assert {"new-in", "note", "deprecated-in", "code-toggle", "include", "details"} <= used
    assert {"alert", "tabs", "tab", "api-badge", "img", "glossary-term"} <= used  # custom


# ---------------------------------------------------------------------------------------
# hugo-docs: the tree


def test_sections_are_nested_four_deep_with_index_files() -> None:
    deep = CONTENT / "content-management/organization/sections/nested-example"
    assert (deep / "_index.md").is_file()
    folder = deep
    while folder != CONTENT:
        assert (folder / "_index.md").is_file(), folder
        folder = folder.parent
    assert (CONTENT / "_index.md").is_file()
    sections = [p for p in CONTENT.rglob("*") if p.is_dir() and (p / "_index.md").is_file()]
    assert len(sections) >= 15
    # a folder without _index.md is not a section in hugo, and real sites have them too
    assert not (CONTENT / "functions/transform/_index.md").exists()


def test_file_names_repeat_like_in_real_sites() -> None:
    names = Counter(Path(path).name for path in docs())
    assert names["introduction.md"] >= 5
    assert names["Params.md"] == 2 and names["Title.md"] == 2
    assert names["index.md"] >= 7
    assert {"methods/page/Params.md", "methods/site/Params.md"} <= set(docs())
    for route in ("batch.md", "publish.md", "revisions.md", "content.md", "media.md", "sync.md"):
        assert names[route] >= 1, route
    assert {"methods/page/AllTranslations.md", "functions/math/Asin.md"} <= set(docs())
    assert not [p for p in docs() if " " in p]


def test_front_matter_in_every_form() -> None:
    forms = Counter(kind for kind, _, _ in docs().values())
    assert forms["yaml"] >= 50 and forms["toml"] >= 5 and forms["json"] == 1
    assert docs()["hosting-and-deployment/sync.md"][0] == "json"
    assert docs()["about/license.md"][0] == "none"
    assert docs()["functions/transform/Markdownify.md"][:2] == ("yaml", "")  # empty block
    for path, (kind, raw, _) in docs().items():
        parse_front_matter(kind, raw)  # every one parses
        assert path == "about/license.md" or kind != "none", path
    untitled = [
        p for p, (k, raw, _) in docs().items() if k != "none" and raw
        and "title" not in parse_front_matter(k, raw) and not p.startswith("_common/_index")
    ]  # fmt: skip
    assert "content-management/organization/sections/nested-example/deep-page.md" in untitled


def test_front_matter_holds_every_hugo_key() -> None:
    keys: set[str] = set()
    for kind, raw, _ in docs().values():
        keys |= set(parse_front_matter(kind, raw))
    wanted = {
        "title", "linkTitle", "description", "summary", "slug", "url", "aliases", "date",
        "lastmod", "publishDate", "expiryDate", "draft", "weight", "layout", "type",
        "keywords", "tags", "categories", "toc", "math", "params", "menu", "menus", "cascade",
        "build", "_build", "outputs", "images", "cover", "resources",
    }  # fmt: skip
    assert wanted <= keys, wanted - keys
    raw = "\n".join(r for _, r, _ in docs().values())
    assert re.search(r"^date: \d{4}-\d\d-\d\d$", raw, re.M)
    assert re.search(r"^date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", raw, re.M)
    assert re.search(r"^(date|lastmod): \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0100$", raw, re.M)
    assert re.search(r"^date: ['\"]\d{4}-\d\d-\d\d['\"]$", raw, re.M)  # quoted
    assert re.search(r"^date = \d{4}-\d\d-\d\dT", raw, re.M)  # a TOML datetime
    assert re.search(r"^\s*# ", raw, re.M)  # YAML comments
    assert re.search(r": \|\n", raw) and re.search(r": >-?\n", raw)  # block scalars
    assert re.search(r"[^\x00-\x7f]", raw)  # Unicode values
    assert re.search(r"publishDate: 2099", raw)
    assert re.search(r"expiryDate: 2099", raw) and re.search(r"expiryDate: 2020-", raw)
    drafts = [p for p, (k, r, _) in docs().items() if parse_front_matter(k, r).get("draft")]
    assert len(drafts) >= 2
    build = parse_front_matter(*docs()["getting-started/external-learning-resources/index.md"][:2])
    assert build["build"] == {"list": "never", "render": "always"}
    cover = parse_front_matter(*docs()["getting-started/external-learning-resources/index.md"][:2])
    assert cover["cover"]["image"] == "cover.jpg" and cover["cover"]["alt"]
    menus = [parse_front_matter(k, r).get("menu") for k, r, _ in docs().values()]
    assert any(isinstance(m, dict) and any(isinstance(v, dict) for v in m.values()) for m in menus)
    yaml_keys = [list(parse_front_matter(k, r)) for k, r, _ in docs().values() if k == "yaml"]
    assert any(ks != sorted(ks) for ks in yaml_keys)


def test_sizes_are_realistic() -> None:
    sizes = [(CONTENT / path).stat().st_size for path in docs()]
    assert sum(1 for s in sizes if s >= 15_000) >= 3
    assert max(sizes) <= 30_000
    assert sum(1 for s in sizes if 1_000 <= s <= 6_000) >= len(sizes) // 2
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 2_000_000


# ---------------------------------------------------------------------------------------
# hugo-docs: Markdown constructs


CONSTRUCTS = {
    "fence with a file attribute": r'^\s*```\w+ \{file="',
    "fence with hl_lines and linenos": r"^```\w+ \{hl_lines=\[2,3\] linenos=true\}",
    "fence indented in a list item": r"^\d+\. .*\n\n {3}```",
    "fence in a nested list": r"^ {4,}(```|~~~)",
    "fence in a blockquote": r"^> ```",
    "tilde fence": r"^~~~\w*$",
    "four-backtick fence around a three-backtick one": (
        r"^````\w*\n(?:.*\n)*?```\w*.*\n(?:.*\n)*?````$"
    ),
    "indented code block": r"\n\n {4}hugo version\n",
    "inline code with an image": r"`!\[[^\]]*\]\([^)]+\)`",
    "inline code with an escaped shortcode": r"`\{\{</\* [^`]*\*/>\}\}`",
    "escaped shortcode in a fence": r"```go-html-template\n\{\{</\* ",
    "heading with attributes": r"^#{2,6} .+ \{#[\w-]+ \.[\w-]+\}$",
    "block attribute": r"^\{(?:\.|class=)[^}]*\}$",
    "definition list": r"^\S.*\n: \S",
    "note alert": r"^> \[!NOTE\]$",
    "tip alert": r"^> \[!TIP\]$",
    "important alert": r"^> \[!IMPORTANT\]$",
    "warning alert": r"^> \[!WARNING\]$",
    "caution alert": r"^> \[!CAUTION\]$",
    "footnote": r"\[\^[\w-]+\][^:](?:.|\n)*^\[\^[\w-]+\]: ",
    "table with alignment": r"^\|?\s*:-+\s*\|\s*:-+:\s*\|",
    "right-aligned column": r"-+:\s*\|",
    "task list": r"^- \[x\] .*\n- \[ \] ",
    "strikethrough": r"~~\w[^~]*~~",
    "bare URL": r"(?<![(<\[/])\bhttps://[\w./-]+/(?![\w)])",
    "angle autolink": r"<https?://[^>]+>",
    "raw HTML block": r"^<div [^>]*>$",
    "kbd HTML inline": r"<kbd>",
    "emphasis": r"(?<!\*)\*[a-z]+\*(?!\*)",
    "underscore emphasis": r"(?<!_)_[a-z]+_(?!_)",
    "strong": r"\*\*\w[^*]*\*\*",
    "underscore strong": r"__\w+__",
    "strong emphasis": r"\*\*\*\w[^*]*\*\*\*",
    "h1": r"^# \w",
    "h4": r"^#### \w",
    "h5": r"^##### \w",
    "h6": r"^###### \w",
    "setext h1": r"^\w.*\n=+$",
    "setext h2": r"^\w.*\n-{3,}$",
    "reference link": r"\]\[[\w-]+\]",
    "reference definition with title": r'^\[[\w-]+\]: \S+ "[^"]+"$',
    "reference-style image": r"!\[[^\]]*\]\[[\w-]+\]",
    "bundle image in a subfolder": r"!\[[^\]]*\]\(images/diagram\.png",
    "dot-slash image with a title": r'!\[[^\]]*\]\(\./\w+\.\w+ "[^"]+"\)',
    "image of a sibling bundle": r"!\[[^\]]*\]\(\.\./quick-start/screenshot\.png\)",
    "absolute static image": r"!\[[^\]]*\]\(/images/logo\.png",
    "external image": r"!\[[^\]]*\]\(https://images\.example\.com/",
    "summary divider": r"^<!--more-->$",
    "math block": r"^\$\$$",
    "figure shortcode": r'\{\{< figure src="photo\.jpg" alt="[^"]+" caption="[^"]+" >\}\}',
    "highlight with linenos": r'\{\{< highlight go "linenos=table" >\}\}',
    "youtube": r"\{\{< youtube 0RKpf3rK57I >\}\}",
    "vimeo": r"\{\{< vimeo 146022717 >\}\}",
    "details": r'\{\{< details summary="[^"]+" >\}\}',
    "ref in a link": r'\]\(\{\{< ref "methods/page/Params\.md" >\}\}\)',
    "relref": r'\{\{< relref "/getting-started/introduction" >\}\}',
    "param": r'\{\{< param "description" >\}\}',
    "note with Markdown": r"\{\{% note %\}\}\n.*Inner \*\*Markdown\*\*",
    "self-closing new-in": r"\{\{< new-in \d+\.\d+\.\d+ />\}\}",
    "self-closing custom shortcode": r'\{\{< api-badge status="\w+" />\}\}',
    "paired custom shortcode": r"\{\{< tabs >\}\}\n\{\{< tab ",
    "paired custom markdown shortcode": r"\{\{% deprecated-in [\d.]+ %\}\}",
    "multi-line shortcode with named arguments": r'\{\{< \w+\n  src="[^"]+"\n  alt="',
    "escaped multi-line shortcode": r"\{\{</\* figure\n",
    "shortcode in a list item": r"^(?:\d+\.|-) .*\{\{< [\w-]+",
    "shortcode in a table cell": r"^\|.*\|\s*\{\{< [\w-]+[^|]*\|\s*$",
    "include shortcode": r'\{\{% include "/_common/[\w-]+\.md" %\}\}',
    "code-toggle with named args": r'\{\{< code-toggle file="[^"]+" fm=true >\}\}',
}


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_hugo_docs_holds_the_construct(name: str) -> None:
    assert re.search(CONSTRUCTS[name], bodies(), re.M), name


def test_image_like_text_in_code_points_at_no_file() -> None:
    """An importer that takes code for images would look for files that do not exist."""
    in_code = []
    for path, (_, _, body) in docs().items():
        everything = set(IMAGE_REF.findall(body))
        real = set(image_references(body))
        in_code += [(path, ref) for ref in everything - real]
    assert len(in_code) >= 5
    assert ("getting-started/usage.md", "not-an-image.png") in in_code
    for path, ref in in_code:
        if not ref.startswith(("/", "http")):
            assert not ((CONTENT / path).parent / ref).exists(), (path, ref)


# ---------------------------------------------------------------------------------------
# hugo-docs: images


def test_images_are_real_and_small() -> None:
    from PIL import Image

    images = [p for p in (HUGO_DOCS).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    kinds = set()
    for path in images:
        with Image.open(path) as image:
            image.verify()
            kinds.add(image.format)
        assert 500 < path.stat().st_size < 20_000, path
    assert kinds == {"PNG", "JPEG", "GIF", "WEBP"}


def test_every_image_reference_resolves_and_bundle_images_are_placed_like_in_hugo() -> None:
    used: set[Path] = set()
    for path, (_, _, body) in docs().items():
        page = CONTENT / path
        for ref in image_references(body):
            if ref.startswith("http"):
                continue
            if ref.startswith("/"):
                assert (HUGO_DOCS / "static" / ref.lstrip("/")).is_file(), (path, ref)
                continue
            # relative references only from bundles, where file and URL paths agree
            assert page.name in ("index.md", "_index.md"), (path, ref)
            target = (page.parent / ref).resolve()
            assert target.is_file(), (path, ref)
            used.add(target)
    in_subfolder = [p for p in used if p.parent.name == "images"]
    assert in_subfolder, "an image in a subfolder of a bundle"
    branch = CONTENT / "content-management/organization/content-tree.png"
    assert branch in used and (branch.parent / "_index.md").is_file()
    sibling = CONTENT / "getting-started/quick-start/screenshot.png"
    assert sibling in used


def test_images_referenced_only_from_front_matter_or_by_no_page() -> None:
    texts = {path: "\n".join(parts[1:]) for path, parts in docs().items()}
    quick = docs()["getting-started/quick-start/index.md"]
    assert parse_front_matter(*quick[:2])["images"] == ["cover.png"]
    assert (CONTENT / "getting-started/quick-start/cover.png").is_file()
    assert "cover.png" not in quick[2]
    books = docs()["getting-started/external-learning-resources/index.md"]
    assert "cover.jpg" in books[1] and "cover.jpg" not in books[2]
    for unreferenced in ("image-processing/watermark.png", "organization/page-bundles/spinner.gif"):
        path = CONTENT / "content-management" / unreferenced
        assert path.is_file()
        assert not [p for p, text in texts.items() if path.name in text], path
    # the figure's image is referenced by the figure shortcode and nothing else
    bundle = docs()["content-management/organization/page-bundles/index.md"]
    assert bundle[2].count("photo.jpg") == 1 and '{{< figure src="photo.jpg"' in bundle[2]
    assert "photo.jpg" not in bundle[1]
    assert (CONTENT / "content-management/organization/page-bundles/photo.jpg").is_file()


# ---------------------------------------------------------------------------------------
# jekyll-blog


def jekyll_docs() -> dict[str, tuple[str, str, str]]:
    return documents(JEKYLL)


def test_jekyll_blog_has_the_jekyll_conventions() -> None:
    posts = sorted((JEKYLL / "_posts").iterdir())
    assert posts and all(
        re.match(r"^\d{4}-\d\d-\d\d-[\w-]+\.(md|markdown)$", p.name) for p in posts
    )
    assert (JEKYLL / "about.md").is_file() and any((JEKYLL / "_drafts").iterdir())
    meta = {path: parse_front_matter(k, raw) for path, (k, raw, _) in jekyll_docs().items()}
    assert all(kind == "yaml" for kind, _, _ in jekyll_docs().values())
    assert [p for p, m in meta.items() if m.get("published") is False] == [
        "_posts/2024-02-20-unpublished-idea.md"
    ]
    assert any("permalink" in m for p, m in meta.items() if p.startswith("_posts/"))
    assert any(isinstance(m.get("categories"), list) for m in meta.values())
    assert any(isinstance(m.get("categories"), str) for m in meta.values())
    assert any(isinstance(m.get("tags"), str) and " " in m["tags"] for m in meta.values())
    assert any(m.get("layout") == "post" for m in meta.values())
    assert any("excerpt_separator" in m for m in meta.values())
    text = "\n".join(body for _, _, body in jekyll_docs().values())
    assert "{% highlight ruby" in text and "{% endhighlight %}" in text
    assert "{{ site.baseurl }}" in text and "{% post_url " in text
    assert "](../assets/images/" in text


def test_jekyll_image_references_resolve() -> None:
    refs = 0
    for path, (_, _, body) in jekyll_docs().items():
        for ref in image_references(body):
            ref = ref.replace("{{", "").split("}}")[-1].strip()
            base = JEKYLL if ref.startswith("/") else (JEKYLL / path).parent
            assert (base / ref.lstrip("/")).resolve().is_file(), (path, ref)
            refs += 1
    assert refs >= 5


# ---------------------------------------------------------------------------------------
# The generator


def test_generator_is_deterministic(tmp_path: Path) -> None:
    one = generate_site(tmp_path / "one", 150, seed=7)
    two = generate_site(tmp_path / "two", 150, seed=7)
    other = generate_site(tmp_path / "other", 150, seed=8, images=False)
    assert one.files == two.files
    for name in one.files:
        assert (one.root / name).read_bytes() == (two.root / name).read_bytes(), name
    assert one.files != other.files and not other.image_files


def test_generator_writes_what_it_reports(tmp_path: Path) -> None:
    info = generate_site(tmp_path / "site", 200, seed=3)
    root = info.content_dir
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert on_disk == info.files
    markdown = [f for f in on_disk if f.endswith(".md")]
    assert len(markdown) == info.markdown_files == 200
    assert info.section_pages == sum(1 for f in markdown if f.endswith("_index.md"))
    assert len(info.image_files) == info.images > 0
    assert info.bundles == sum(1 for f in markdown if Path(f).name == "index.md") > 0

    names = Counter(Path(f).name for f in markdown if not f.endswith("_index.md"))
    repeated = sum(n for n in names.values() if n > 1)
    assert repeated == info.repeated_name_pages >= 0.15 * info.regular_pages
    named = sum(n for name, n in names.items() if n > 1 and name != "index.md")
    assert named >= 0.15 * info.regular_pages  # not only index.md bundles
    assert any(name[0].isupper() for name in names)

    assert info.max_depth == 4
    deepest = [f for f in markdown if f.count("/") == 4 and f.endswith("/_index.md")]
    assert deepest
    folder = (root / deepest[0]).parent
    while folder != root:
        assert (folder / "_index.md").is_file()
        folder = folder.parent

    forms = Counter()
    for name in markdown:
        kind, raw, _ = split_front_matter((root / name).read_text(encoding="utf-8"))
        parse_front_matter(kind, raw)
        forms[kind] += 1
    assert forms["yaml"] > forms["toml"] > 0 and forms["json"] > 0


def test_generator_bodies_mix_the_constructs(tmp_path: Path) -> None:
    info = generate_site(tmp_path / "site", 200, seed=1, images=False)
    text = "\n".join((info.content_dir / f).read_text(encoding="utf-8") for f in info.files)
    for pattern in (
        r'^```\w+ \{file="', r"^ {3,}```", r"^> \[!(NOTE|TIP|WARNING)\]", r"^\S.*\n: \S",
        r"\{\{</\* ", r"\[\^\d+\]: ", r"^\|:-+\|", r"\{\{< figure", r"\{\{% note %\}\}",
        r"\{\{< (ref|relref) ", r"^~~~", r"^````md", r"\n\n {4}hugo", r"^- \[x\] ",
        r"\{\{< new-in [\d.]+ />\}\}", r"^#{2,6} .* \{#",
    ):  # fmt: skip
        assert re.search(pattern, text, re.M), pattern
    sizes = [len((info.content_dir / f).read_bytes()) for f in info.files]
    assert min(sizes) >= 900 and max(sizes) <= 12_000


def test_generator_is_fast(tmp_path: Path) -> None:
    info = generate_site(tmp_path / "site", 1000, seed=0)
    assert info.markdown_files == 1000
    assert info.cpu_seconds < 5, (info.cpu_seconds, info.seconds)


# ---------------------------------------------------------------------------------------
# hugo builds (slow)


@pytest.mark.slow
@pytest.mark.skipif(HUGO is None, reason="the hugo binary is not installed")
def test_hugo_builds_the_fixture_and_a_generated_site(tmp_path: Path) -> None:
    assert HUGO is not None
    expected = json.loads((HUGO_DOCS / "EXPECTED.json").read_text(encoding="utf-8"))
    site = tmp_path / "hugo-docs"
    shutil.copytree(HUGO_DOCS, site)  # hugo writes a lock file and resources/ into its source
    stats = hugo_stats(site, tmp_path / "public", HUGO)
    assert stats["Pages"] == expected["hugo_pages"], (stats, expected["hugo_version"])
    assert stats == expected["hugo_stats"]
    public = tmp_path / "public"
    for path in expected["not_built"]["drafts"] + expected["not_built"]["future"]:
        assert not (public / path.lower().removesuffix(".md")).exists(), path
    assert (public / "content-management/url-management/index.html").is_file()  # url
    assert (public / "hosting-and-deployment/deploy-with-hugo/index.html").is_file()  # slug
    assert not (public / "_common").exists()  # _build: render never, by cascade

    info = generate_site(tmp_path / "generated", 200, seed=5, hugo=True)
    generated = hugo_stats(info.root, tmp_path / "generated-public", HUGO)
    assert generated["Pages"] == info.hugo_pages
    assert generated["Non-page files"] == info.hugo_resources
