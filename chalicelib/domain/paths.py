"""Entry paths: an entry's identity inside its collection, as static site generators see it.

A path is the file's place in the site's tree, made safe: ``methods/page/Params.md`` is the
entry ``methods/page/params``, ``functions/_index.md`` the section page ``functions/_index``,
``posts/hello/index.md`` the page bundle ``posts/hello/index``. Each folder and the file name
are slugified (lower-case ASCII words joined by ``-``); ``_index`` keeps its underscore. The
file keeps its own name in the bucket (the entry's ``file``), so an export recreates the tree.

In URLs a path is one segment, its ``/`` written as ``~`` (``methods~page~params``): every
router serves it (no greedy ``{proxy+}`` path), and no path can collide with a fixed route
segment because entry sub-resources always come after the whole path.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from typing import Literal

from .errors import FieldError, ValidationFailed

EntryKind = Literal["page", "section", "bundle"]

SEGMENT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SECTION_PAGE = "_index"  # Hugo's branch bundle: the page of a section
BUNDLE_PAGE = "index"  # Hugo's leaf bundle: a page with its own folder of resources
MAX_SEGMENT_LENGTH = 120
MAX_PATH_LENGTH = 400
MAX_DEPTH = 10  # segments; so at most 9 sections above an entry
URL_SEPARATOR = "~"
MARKDOWN_SUFFIXES = (".md", ".markdown")
MAX_FILE_BYTES = 600
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JEKYLL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")


def _invalid(value: object, reason: str, field: str = "slug") -> ValidationFailed:
    detail = f"Entry path {str(value)[:200]!r} {reason}."
    return ValidationFailed(detail, [FieldError(field, detail, "invalid-slug")])


def _segment_problem(segment: str, last: bool) -> str | None:
    if last and segment == SECTION_PAGE:
        return None
    if not segment:
        return "has an empty segment (a leading, trailing or doubled '/')"
    if len(segment) > MAX_SEGMENT_LENGTH:
        return f"has a segment longer than {MAX_SEGMENT_LENGTH} characters"
    if not SEGMENT_RE.fullmatch(segment):
        if _CONTROL.search(segment) or segment in (".", ".."):
            return "must not contain '.', '..', NUL or control characters"
        return (
            "may use only lower-case words of a-z and 0-9 joined by '-' in each '/'-separated"
            " segment (and '_index' as the last one)"
        )
    return None


def validate_path(path: object, field: str = "slug") -> str:
    """An entry path: 1-10 segments joined by '/', each a slug; '_index' may end it."""
    if not isinstance(path, str) or not path:
        raise _invalid(path, "must be a non-empty string", field)
    if len(path) > MAX_PATH_LENGTH:
        raise _invalid(path, f"is longer than {MAX_PATH_LENGTH} characters", field)
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        raise _invalid(path, f"is nested deeper than {MAX_DEPTH} segments", field)
    for i, segment in enumerate(segments):
        problem = _segment_problem(segment, i == len(segments) - 1)
        if problem:
            raise _invalid(path, problem, field)
    return path


def is_valid_path(path: object) -> bool:
    try:
        validate_path(path)
    except ValidationFailed:
        return False
    return True


def from_url(segment: str) -> str:
    """The path a URL segment names (``a~b~c`` -> ``a/b/c``), validated."""
    if "/" in segment:
        raise _invalid(segment, f"in a URL is written with '{URL_SEPARATOR}' for '/'")
    return validate_path(segment.replace(URL_SEPARATOR, "/"))


def to_url(path: str) -> str:
    return path.replace("/", URL_SEPARATOR)


def kind_of(path: str) -> EntryKind:
    last = path.rsplit("/", 1)[-1]
    if last == SECTION_PAGE:
        return "section"
    if last == BUNDLE_PAGE:
        return "bundle"
    return "page"


def section_of(path: str) -> str:
    """The folder the entry's file is in ('' at the collection's root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def page_url_path(path: str) -> str:
    """The path as a site generator makes a URL of it: a section's or bundle's page is its
    folder ('docs/_index' -> 'docs', 'posts/a/index' -> 'posts/a', '_index' -> '')."""
    folder, _, last = path.rpartition("/")
    return folder if last in (SECTION_PAGE, BUNDLE_PAGE) else path


def sections_of(path: str) -> list[str]:
    """Every folder above the entry, outermost first: 'a/b/c' -> ['a', 'a/b']."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def validate_section(section: object) -> str:
    """A section filter: a path of folders ('methods/page'); '~' is taken for '/'."""
    if not isinstance(section, str):
        raise _invalid(section, "must be a string", "section")
    value = section.replace(URL_SEPARATOR, "/").strip("/")
    if value.rsplit("/", 1)[-1] == SECTION_PAGE:
        raise _invalid(section, "names a folder: leave out '/_index'", "section")
    return validate_path(value, "section")


def in_section(path: str, section: str | None) -> bool:
    return not section or path.startswith(section + "/")


def section_bounds(section: str) -> tuple[str, str]:
    """(low, high): exactly the paths inside ``section`` sort strictly between them."""
    return f"{section}/", f"{section}0"  # '0' is the character after '/'


# --- files ---------------------------------------------------------------------------------


def folder_segment(name: str) -> str:
    """The path segment a folder's name makes ('' if it makes none)."""
    return _slug_segment(name)


def _slug_segment(text: str) -> str:
    from slugify import slugify as transliterating_slugify  # python-slugify

    return transliterating_slugify(
        unicodedata.normalize("NFKC", text), max_length=MAX_SEGMENT_LENGTH, word_boundary=True
    )


def split_suffix(name: str) -> tuple[str, str] | None:
    """(stem, suffix) of a Markdown file name, or None for any other file."""
    lower = name.lower()
    for suffix in MARKDOWN_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    return None


def check_file(file: object, field: str = "file") -> str:
    """A Markdown file's place in a collection: relative, '/'-separated, no hidden, '.' or
    '..' segments, no control characters or backslashes, ending in .md or .markdown."""

    def bad(reason: str) -> ValidationFailed:
        detail = f"File {str(file)[:200]!r} {reason}."
        return ValidationFailed(detail, [FieldError(field, detail, "invalid-file")])

    if not isinstance(file, str) or not file:
        raise bad("must be a non-empty string")
    if len(file.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise bad(f"is longer than {MAX_FILE_BYTES} bytes")
    if _CONTROL.search(file) or "\\" in file:
        raise bad("must not contain control characters or '\\'")
    if file.startswith("/") or posixpath.normpath(file) != file:
        raise bad("must be a relative path with no '.', '..' or empty segments")
    if any(segment.startswith(".") for segment in file.split("/")):
        raise bad("must not have hidden ('.'-prefixed) folders or names")
    if any(split_suffix(folder) is not None for folder in file.split("/")[:-1]):
        raise bad("must not have a folder named like a Markdown file (no disk holds both)")
    if split_suffix(file.rsplit("/", 1)[-1]) is None:
        raise bad("must end in .md or .markdown")
    try:
        file.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad("must be valid Unicode") from exc
    return file


def path_of_file(file: str) -> str:
    """The entry path of a Markdown file: each folder and the name slugified, the suffix
    dropped, '_index' kept ('Methods/Page/Params.md' -> 'methods/page/params').
    ValidationFailed if a segment has no letters or digits to make a slug of."""
    check_file(file)
    *folders, name = file.split("/")
    stem = split_suffix(name)
    assert stem is not None
    last = SECTION_PAGE if stem[0] == SECTION_PAGE else _slug_segment(stem[0])
    segments = [_slug_segment(folder) for folder in folders] + [last]
    if not all(segments):
        detail = f"File {file!r} has a folder or name with no letters or digits to make a slug of."
        raise ValidationFailed(detail, [FieldError("file", detail, "invalid-file")])
    return validate_path("/".join(segments), "file")


def default_file(path: str) -> str:
    return f"{path}.md"


def title_from_path(path: str, file: str | None = None) -> str:
    """A title for an entry whose front matter has none: the file's name (the folder's for
    '_index' and 'index'), with '-' and '_' as spaces and a Jekyll date prefix dropped."""
    parts = (file or default_file(path)).split("/")
    stem = (split_suffix(parts[-1]) or (parts[-1], ""))[0]
    if stem in (SECTION_PAGE, BUNDLE_PAGE):
        stem = parts[-2] if len(parts) > 1 else "Home"
    jekyll = _JEKYLL_DATE.match(stem)
    if jekyll:
        stem = jekyll.group(2)
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    if not words:
        return path
    return words[0].upper() + words[1:] if words.islower() else words


def jekyll_date(file: str) -> str | None:
    """The date a Jekyll post's file name starts with ('2024-01-05-hello.md'), or None."""
    stem = (split_suffix(file.rsplit("/", 1)[-1]) or ("", ""))[0]
    match = _JEKYLL_DATE.match(stem)
    return match.group(1) if match else None
