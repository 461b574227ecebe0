"""Entries: the front matter rules and the record the index keeps for each stage of an entry."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    create_model,
)

from . import timeutil
from .collections import Collection, FieldSpec
from .errors import FieldError, ValidationFailed
from .names import normalize_tag
from .paths import (
    default_file,
    is_valid_path,
    jekyll_date,
    kind_of,
    path_of_file,
    split_suffix,
    title_from_path,
    to_url,
)

Stage = Literal["draft", "published"]
PublicationState = Literal["scheduled", "published", "expired"]
RenderStatus = Literal["pending", "rendered", "failed"]
STAGES: tuple[Stage, ...] = ("draft", "published")
STAGE_PREFIX: dict[Stage, str] = {"draft": "content", "published": "published"}
RENDER_STATUSES: tuple[RenderStatus, ...] = ("pending", "rendered", "failed")


def render_counts(
    counted: Iterable[tuple[Stage, RenderStatus]],
) -> dict[Stage, dict[RenderStatus, int]]:
    """Every stage's count of each render status (zero where none), from (stage, status)
    pairs, one per entry of that stage."""
    counts = {stage: dict.fromkeys(RENDER_STATUSES, 0) for stage in STAGES}
    for stage, status in counted:
        counts[stage][status] += 1
    return counts


PREFIX_STAGE: dict[str, Stage] = {v: k for k, v in STAGE_PREFIX.items()}
MAX_TAGS = 50
# Index items (a DynamoDB item is at most 400 KB, a transaction 4 MB with a copy per tag)
MAX_FRONT_MATTER_BYTES = 32_768
MAX_TOC_ITEMS = 300


def _instant(value: Any) -> str:
    if not isinstance(value, str) and not hasattr(value, "isoformat"):
        raise ValueError("must be an ISO 8601 date or date-time")
    try:
        return timeutil.normalize_instant(value)
    except (TypeError, ValueError) as exc:
        raise ValueError("must be an ISO 8601 date or date-time") from exc


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):  # sites write years and numbers as tags: [2024]
        value = [_scalar_text(t) for t in value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError("must be a list of strings")
    tags: list[str] = []
    for tag in value:
        normalized = normalize_tag(tag)
        if normalized not in tags:
            tags.append(normalized)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def _entry_path(value: Any) -> str:
    if not is_valid_path(value):
        raise ValueError("must be an entry path: lower-case words of a-z and 0-9 joined by '-'")
    return str(value)


def _scalar_text(value: Any) -> Any:
    """A number as the text it reads as (a title 404, a tag 2024); anything else as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _author(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("name"), str):  # Jekyll: {name, url}
        value = value["name"]
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        value = ", ".join(a.strip() for a in value)
    if not isinstance(value, str):
        raise ValueError("must be a name, a list of names or a mapping with a name")
    return value


def _title(value: Any) -> Any:
    return _scalar_text(value)


Instant = Annotated[str, BeforeValidator(_instant)]
Tags = Annotated[list[str], BeforeValidator(_tags)]
EntryPath = Annotated[str, BeforeValidator(_entry_path)]
Number = Annotated[int | float, BeforeValidator(_number)]


class BuiltInFields(BaseModel):
    """The fields the CMS reads, whatever the collection. Every one is optional (the title
    falls back to the file name) and ``slug`` is the site's own (Hugo's URL slug), not the
    entry's path. Validated to index; the stored document keeps what was written."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, defer_build=True)

    title: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=300)] | None,
        BeforeValidator(_title),
    ] = None
    slug: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    tags: Tags = Field(default_factory=list)
    summary: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    author: Annotated[str, BeforeValidator(_author), StringConstraints(max_length=500)] | None = (
        None
    )
    published_at: Instant | None = None
    updated_at: Instant | None = None
    expires_at: Instant | None = None


class StrictBuiltInFields(BuiltInFields):
    """Built-in fields of a collection with a schema: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


def _annotation(spec: FieldSpec) -> Any:
    if spec.type in ("string", "text"):
        default_max = 1_000 if spec.type == "string" else 100_000
        return Annotated[str, StringConstraints(max_length=spec.max_length or default_max)]
    if spec.type == "number":
        return Number
    if spec.type == "boolean":
        return StrictBool
    if spec.type == "datetime":
        return Instant
    if spec.type == "list":
        item = Annotated[str, StringConstraints(max_length=1_000)]
        return Annotated[list[item], Field(max_length=spec.max_length or 1_000)]  # type: ignore[valid-type]
    if spec.type == "enum":
        return Literal[tuple(spec.values or ())]
    return EntryPath  # reference: the path of an entry in spec.collection


@functools.lru_cache(maxsize=256)
def _model_for(schema_json: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, raw in json.loads(schema_json).items():
        spec = FieldSpec.model_validate(raw)
        annotation = _annotation(spec)
        fields[name] = (annotation, ...) if spec.required else (annotation | None, None)
    return create_model(
        "FrontMatter",
        __base__=StrictBuiltInFields,
        **fields,
    )


def _strict_model_for(collection: Collection) -> type[BaseModel]:
    schema = {k: v.model_dump() for k, v in (collection.fields or {}).items()}
    return _model_for(json.dumps(schema, sort_keys=True))


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "front_matter"
        message = err["msg"].removeprefix("Value error, ")
        code = "unknown-field" if err["type"] == "extra_forbidden" else err["type"]
        errors.append(FieldError(f"front_matter.{where}", message, code))
    return errors


def validate_front_matter(
    front_matter: dict[str, Any], collection: Collection | None
) -> dict[str, Any]:
    """Validate and normalize front matter; raises ValidationFailed with one error per field."""
    model = (
        _strict_model_for(collection)
        if collection is not None and collection.has_schema
        else BuiltInFields
    )
    try:
        parsed = model.model_validate(front_matter)
    except ValidationError as exc:
        raise ValidationFailed("The front matter is invalid.", _field_errors(exc)) from exc
    normalized = parsed.model_dump(mode="json", exclude_none=True)
    if not normalized.get("tags"):
        normalized.pop("tags", None)
    size = len(json.dumps(normalized, ensure_ascii=False).encode("utf-8"))
    if size > MAX_FRONT_MATTER_BYTES:
        detail = (
            f"The front matter is {size} bytes as JSON; the limit is {MAX_FRONT_MATTER_BYTES} "
            "(put long text in the body)."
        )
        raise ValidationFailed(detail, [FieldError("front_matter", detail, "too-large")])
    return normalized


def cap_toc(toc: list[dict[str, Any]], limit: int = MAX_TOC_ITEMS) -> list[dict[str, Any]]:
    """The table of contents, cut after ``limit`` headings in document order."""
    budget = [limit]

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for item in items:
            if budget[0] <= 0:
                break
            budget[0] -= 1
            kept.append({**item, "children": walk(item.get("children", []))})
        return kept

    return walk(toc)


def reference_fields(collection: Collection | None) -> dict[str, str]:
    """Field name -> target collection for every reference field of a collection."""
    if collection is None or not collection.fields:
        return {}
    return {n: s.collection for n, s in collection.fields.items() if s.collection}


SORT_TITLE_LENGTH = 200  # characters: with the slug, well inside DynamoDB's 1 KB sort key


def sort_title(title: str) -> str:
    """The key titles sort by, the same on every backend: case-folded, control characters
    as spaces, cut to SORT_TITLE_LENGTH."""
    folded = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in title.casefold())
    return folded[:SORT_TITLE_LENGTH]


# A publication's instants, kept on the published snapshot's object metadata, so the
# snapshot's bytes are the draft's, exactly.
PUBLISHED_AT_META = "published-at"
UPDATED_AT_META = "updated-at"


def entry_href(collection: str, path: str) -> str:
    """The delivery URL of an entry (its path with '~' for '/')."""
    return f"/v1/content/{collection}/{to_url(path)}"


def object_key(collection: str, file: str, stage: Stage) -> str:
    """``content/{collection}/{file}`` (the draft) or ``published/...`` (its snapshot); the
    file is the entry's own, e.g. ``methods/page/Params.md``."""
    return f"{STAGE_PREFIX[stage]}/{collection}/{file}"


def parse_object_key(key: str) -> tuple[Stage, str, str] | None:
    """(stage, collection, file) for an entry object key, None for any other key."""
    parts = key.split("/", 2)
    if len(parts) != 3 or parts[0] not in PREFIX_STAGE or not parts[2]:
        return None
    if split_suffix(parts[2].rsplit("/", 1)[-1]) is None:
        return None
    return PREFIX_STAGE[parts[0]], parts[1], parts[2]


def entry_of_key(key: str) -> tuple[Stage, str, str, str] | None:
    """(stage, collection, file, path) of an entry object key whose file makes a path."""
    parsed = parse_object_key(key)
    if parsed is None:
        return None
    try:
        return (*parsed, path_of_file(parsed[2]))
    except ValidationFailed:
        return None


# --- what the index derives from front matter -----------------------------------------------

_DATE_KEYS = ("published_at", "publishDate", "publishdate", "pubDate", "date")
_UPDATED_KEYS = ("updated_at", "lastmod", "lastMod", "modified", "last_modified_at")
_EXPIRY_KEYS = ("expirydate", "unpublishdate")  # Hugo's, whose keys are case-insensitive


_LATEST_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def lenient_instant(value: Any) -> str | None:
    """An instant from the date forms Hugo reads ('2024-01-05', '2024-01-05 10:30:00 +0100',
    '2024-01-05T10:30:00-07:00', '05 Jan 2024', RFC 1123, 822 and 850, ANSIC, Unix and Ruby
    dates, a number of Unix seconds), or None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= _LATEST_UNIX_SECONDS:
            return timeutil.to_iso(dt.datetime.fromtimestamp(value, dt.UTC))
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    return _iso_instant(text) or _named_month_instant(text)


def _named_month_instant(text: str) -> str | None:
    """'02 Jan 2006', or the forms of e-mail and Unix dates ('Mon, 02 Jan 2006 15:04:05
    -0700', 'Mon Jan  2 15:04:05 MST 2006'); a date without a zone is UTC."""
    if not any(c.isalpha() for c in text) or len(text) > 64:
        return None
    import email.utils  # the API's first request never needs it

    try:
        parsed = dt.datetime.strptime(text, "%d %b %Y")
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    try:
        return timeutil.normalize_instant(parsed)
    except (ValueError, OverflowError):
        return None


def _iso_instant(text: str) -> str | None:
    if len(text) >= 20 and text[10] == " " and text[19:20] == " ":  # '... 10:30:00 +0100'
        text = text[:10] + "T" + text[11:19] + text[20:]
    elif len(text) > 10 and text[10] == " ":
        text = text[:10] + "T" + text[11:]
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return timeutil.normalize_instant(text)
    except (TypeError, ValueError, OverflowError):
        return None


def _first_instant(front_matter: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        found = lenient_instant(front_matter.get(name))
        if found is not None:
            return found
    return None


def text_field(front_matter: dict[str, Any], name: str) -> str | None:
    """A front matter value that is text (blank counts as absent)."""
    value = front_matter.get(name)
    return value.strip() or None if isinstance(value, str) else None


def author_of(front_matter: dict[str, Any]) -> str | None:
    """The author as text: sites write a name, a list of names or a mapping with a name."""
    try:
        return _author(front_matter["author"]).strip() or None
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class Derived:
    """What the index keeps of an entry's front matter, the site generator's way: the title
    falls back to the file name; dates come from the CMS's fields, then Hugo's and
    Jekyll's (``publishDate``, ``date``, a ``YYYY-MM-DD-`` file name; ``lastmod``); the
    end of publication from ``expires_at``, then Hugo's ``expiryDate`` (or ``unpublishDate``)."""

    title: str
    tags: list[str]
    summary: str | None
    published_at: str | None
    updated_at: str | None
    expires_at: str | None = None


def derive(normalized: dict[str, Any], source: dict[str, Any], path: str, file: str) -> Derived:
    """``normalized`` is ``validate_front_matter``'s result, ``source`` the front matter as
    written."""
    title = normalized.get("title") or title_from_path(path, file)
    summary = normalized.get("summary")
    if summary is None and isinstance(source.get("description"), str):
        summary = source["description"].strip() or None
    published = normalized.get("published_at") or _first_instant(source, _DATE_KEYS)
    if published is None:
        published = lenient_instant(jekyll_date(file))
    updated = normalized.get("updated_at") or _first_instant(source, _UPDATED_KEYS)
    # lenient: a collection may define a field of its own named 'expires_at'
    expires = lenient_instant(normalized.get("expires_at")) or _first_instant(
        {k.lower(): v for k, v in source.items() if isinstance(k, str)}, _EXPIRY_KEYS
    )
    return Derived(title, list(normalized.get("tags", [])), summary, published, updated, expires)


def publication_state(
    published_at: str | None, expires_at: str | None, now: str
) -> PublicationState:
    """Where a published snapshot stands at ``now`` (all three fixed-width UTC text):
    readers see it from ``published_at`` until ``expires_at``, if it has one."""
    if published_at is None or published_at > now:
        return "scheduled"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "published"


def snapshot_state(
    published: EntryRecord | None, now: str
) -> Literal["draft", "scheduled", "published", "expired"]:
    """Where an entry stands by its published snapshot (``draft``: it has none to show)."""
    if published is None or published.deleted or published.published_at is None:
        return "draft"
    return publication_state(published.published_at, published.expires_at, now)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class EntryRecord:
    """What the index holds for one stage (draft or published) of one entry."""

    collection: str
    slug: str
    stage: Stage
    title: str
    front_matter: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    published_at: str | None = None
    updated_at: str | None = None
    source_etag: str | None = None
    version_id: str | None = None
    render_status: RenderStatus = "pending"
    render_error: str | None = None
    rendered_sha256: str | None = None
    html_key: str | None = None
    toc: list[dict[str, Any]] = field(default_factory=list)
    excerpt: str | None = None
    word_count: int = 0
    reading_time_minutes: int = 0
    deleted: bool = False
    sequencer: str | None = None
    file: str | None = None  # the source file in the collection; None: '{slug}.md'
    expires_at: str | None = None  # readers stop seeing the published stage at this instant

    @property
    def source_file(self) -> str:
        return self.file or default_file(self.slug)

    @property
    def kind(self) -> str:
        return kind_of(self.slug)

    @property
    def key(self) -> str:
        return object_key(self.collection, self.source_file, self.stage)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def removal(collection: str, stage: Stage, path: str, file: str, sequencer: str) -> EntryRecord:
    """What an object-removed event writes: the stage of that file is gone."""
    return EntryRecord(
        collection=collection,
        slug=path,
        stage=stage,
        title=path,
        deleted=True,
        render_status="rendered",
        sequencer=sequencer,
        file=file,
    )


def tombstone(record: EntryRecord, sequencer: str | None) -> EntryRecord:
    """What the index keeps of a removed stage: its key, title and last sequencer."""
    return EntryRecord(
        collection=record.collection,
        slug=record.slug,
        stage=record.stage,
        title=record.title,
        deleted=True,
        render_status="rendered",
        sequencer=sequencer,
        file=record.file,
    )


def failed(
    current: EntryRecord | None,
    collection: str,
    stage: Stage,
    slug: str,
    *,
    error: str,
    source_etag: str | None,
    version_id: str | None,
    sequencer: str,
    file: str | None = None,
) -> EntryRecord:
    """A stage whose latest source could not be rendered: the last good rendering (if any)
    stays for readers; the error is there for editors."""
    record = (
        EntryRecord(
            collection=collection, slug=slug, stage=stage, title=title_from_path(slug, file)
        )
        if current is None or current.deleted
        else replace(current)
    )
    if file is not None:
        record.file = file
    record.render_status = "failed"
    record.render_error = error
    record.source_etag = source_etag
    record.version_id = version_id
    record.sequencer = sequencer
    record.deleted = False
    return record
