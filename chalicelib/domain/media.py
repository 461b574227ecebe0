"""Media assets: ids, object keys, the editor's metadata and what the index keeps of each.

An asset lives under ``media/{id}/``: ``original`` (the upload), ``meta.json`` (what editors
set: filename, alt text, caption, focal point, tags), ``manifest.json`` (what the thumbnail
handler derived from the original) and the variants it made (``640.webp``, ``640.jpg`` ...).
The index row of an asset is rebuilt from those objects alone.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote

from .errors import FieldError, ValidationFailed
from .names import normalize_tag, validate_collection_name
from .sequencer import is_newer, may_apply, padded

MediaStatus = Literal["uploading", "processing", "ready", "failed"]
MediaKind = Literal["image", "file"]

PREFIX = "media/"
ORIGINAL = "original"
META = "meta.json"
MANIFEST = "manifest.json"
# A public file of an asset never changes under its link (a replaced page resource's links
# change: see services.media.MediaUrls), wherever it is served from: this API or the bucket.
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"
MEDIA_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
VARIANT_RE = re.compile(r"^[1-9][0-9]{0,4}\.(?:webp|jpg|png)$")
MAX_TAGS = 20
MAX_FILENAME = 255
MAX_ALT = 1000
MAX_CAPTION = 4000
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\\"]")
RESOURCE_PREFIX = "r-"
RESOURCE_ID_RE = re.compile(r"^r-[0-9a-hjkmnp-tv-z]{26}$")
MAX_RESOURCE_PATH_BYTES = 600


def new_media_id(now_ms: int | None = None) -> str:
    """A ULID in lower case: 48 bits of milliseconds then 80 random bits, so ids sort by
    creation time and lists come newest first without another index."""
    value = ((now_ms if now_ms is not None else int(time.time() * 1000)) << 80) | (
        secrets.randbits(80)
    )
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


# --- page resources: a site's file, addressed by (collection, path) ---------------------------


def resource_id(collection: str, path: str, key: bytes) -> str:
    """The media id of the file ``path`` of a collection: ``r-`` and 26 Crockford base32
    characters (130 bits) of HMAC-SHA256 under the site's ``key`` over ``collection``, NUL
    and the path in NFC. The same file gets the same id on every upload, whichever Unicode
    form its name came in; nobody without the key can compute the id of an image that no
    published page shows yet. ULIDs (ordinary uploads) never contain '-', so the two never
    meet."""
    text = f"{collection}\0{unicodedata.normalize('NFC', path)}"
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    value = int.from_bytes(digest, "big") >> 126
    return RESOURCE_PREFIX + "".join(_CROCKFORD[(value >> s) & 31] for s in range(125, -1, -5))


def is_resource_id(media_id: str) -> bool:
    return bool(RESOURCE_ID_RE.fullmatch(media_id))


def validate_resource_path(path: object, field: str = "path") -> str:
    """A file's place in a collection as the site has it: relative, '/'-separated, any
    Unicode names, but no empty, '.', '..' or hidden ('.'-prefixed) segments, no backslash,
    no control characters, at most 600 bytes of UTF-8. Returned exactly as given."""

    def bad(reason: str) -> ValidationFailed:
        detail = f"Resource path {str(path)[:200]!r} {reason}."
        return ValidationFailed(detail, [FieldError(field, detail, "invalid-path")])

    if not isinstance(path, str) or not path:
        raise bad("must be a non-empty string")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise bad("must be valid Unicode (no lone surrogates)") from exc
    if size > MAX_RESOURCE_PATH_BYTES:
        raise bad(f"is longer than {MAX_RESOURCE_PATH_BYTES} bytes")
    if any(unicodedata.category(c) == "Cc" for c in path) or "\\" in path:
        raise bad("must not contain control characters or '\\'")
    if path.startswith("/"):
        raise bad("must be relative to the collection (no leading '/')")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise bad("must have no empty, '.' or '..' segments")
        if segment.startswith("."):
            raise bad("must not have hidden ('.'-prefixed) folders or names")
    return path


def _resource_fields(media_id: str, data: dict[str, Any]) -> dict[str, str]:
    """``collection`` and ``path`` of stored metadata: both or neither, and naming this id."""
    collection, path = data.get("collection"), data.get("path")
    if collection is None and path is None:
        return {}
    if collection is None or path is None:
        message = "collection and path go together"
        raise ValidationFailed(f"{message}.", [FieldError("path", message)])
    validate_collection_name(collection)
    validate_resource_path(path)
    if not is_resource_id(media_id):
        message = "is an upload, not a page resource"
        raise ValidationFailed(f"Media {media_id} {message}.", [FieldError("path", message)])
    return {"collection": collection, "path": path}


def validate_media_id(media_id: str) -> str:
    if not isinstance(media_id, str) or not MEDIA_ID_RE.fullmatch(media_id):
        detail = f"Media id {str(media_id)[:80]!r} is not valid: a-z, 0-9 and '-', 1-64 long."
        raise ValidationFailed(detail, [FieldError("id", detail, "invalid-id")])
    return media_id


def object_key(media_id: str, name: str) -> str:
    return f"{PREFIX}{media_id}/{name}"


def parse_key(key: str) -> tuple[str, str] | None:
    """``media/{id}/{name}`` -> (id, name), or None for anything else."""
    if not key.startswith(PREFIX):
        return None
    rest = key[len(PREFIX) :]
    media_id, sep, name = rest.partition("/")
    if not sep or "/" in name or not MEDIA_ID_RE.fullmatch(media_id):
        return None
    return media_id, name


def clean_filename(raw: str | None, fallback: str = "upload") -> str:
    """The last path segment of a client's file name, printable, at most 255 characters."""
    text = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_FILENAME.sub("", text).strip().lstrip(".")
    if not text:
        return fallback
    stem, dot, extension = text.rpartition(".")
    if len(text) > MAX_FILENAME:
        keep = MAX_FILENAME - len(extension) - 1
        text = f"{stem[:keep]}.{extension}" if dot and keep > 0 else text[:MAX_FILENAME]
    return text


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """A Content-Disposition with an ASCII fallback and the exact UTF-8 name (RFC 6266)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class FocalPoint:
    """Where the subject is, as fractions of width and height (0.5, 0.5 is the centre)."""

    x: float = 0.5
    y: float = 0.5


@dataclass(frozen=True)
class MediaMeta:
    """What editors own; stored as ``media/{id}/meta.json``."""

    id: str
    filename: str
    alt: str = ""
    caption: str = ""
    focal_point: FocalPoint | None = None
    tags: list[str] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    collection: str | None = None  # a page resource: the file ``path`` of this collection
    path: str | None = None

    @property
    def is_resource(self) -> bool:
        return self.collection is not None and self.path is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.is_resource:  # an ordinary upload's meta.json stays as it always was
            del data["collection"], data["path"]
        return data

    @classmethod
    def from_dict(cls, media_id: str, data: dict[str, Any]) -> MediaMeta:
        """Metadata read back from the bucket (or sent by a client), validated."""
        edits = validate_edits(data, partial=True)
        base = cls(
            id=media_id,
            filename=clean_filename(_text(data.get("filename"), "filename", MAX_FILENAME)),
            created_at=_text(data.get("created_at"), "created_at", 40),
            updated_at=_text(data.get("updated_at"), "updated_at", 40),
            **_resource_fields(media_id, data),
        )
        return replace(base, **edits)


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    format: Literal["webp", "jpg", "png"]
    bytes: int

    @property
    def name(self) -> str:
        return f"{self.width}.{self.format}"

    @property
    def content_type(self) -> str:
        return VARIANT_TYPES[self.format]


VARIANT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class MediaDerived:
    """What the thumbnail handler learned from the original; ``manifest.json``."""

    status: MediaStatus
    source_etag: str | None = None
    kind: MediaKind = "image"
    content_type: str | None = None
    bytes: int = 0
    width: int | None = None
    height: int | None = None
    animated: bool = False
    frames: int = 1
    placeholder: str | None = None
    dominant_color: str | None = None
    variants: list[Variant] = field(default_factory=list)
    error: str | None = None
    sha256: str | None = None  # of the original, hex
    # Only on the API's "processing" mark for an original it replaced: the source_etag the
    # row must still hold for the mark to apply (see merge_derived). Never in a manifest.
    replaces: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.replaces is None:
            del data["replaces"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaDerived:
        values = dict(data)
        values["variants"] = [Variant(**v) for v in values.get("variants") or []]
        return cls(**{k: v for k, v in values.items() if k in _DERIVED_FIELDS})


_DERIVED_FIELDS = set(MediaDerived.__dataclass_fields__)


@dataclass(frozen=True)
class MediaRecord:
    """The index row of one asset: the editor's metadata and what was derived."""

    meta: MediaMeta
    derived: MediaDerived = field(default_factory=lambda: MediaDerived(status="uploading"))
    meta_sequencer: str | None = None
    original_sequencer: str | None = None

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def status(self) -> MediaStatus:
        return self.derived.status

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaRecord:
        meta = dict(data["meta"])
        focal = meta.get("focal_point")
        meta["focal_point"] = FocalPoint(**focal) if focal else None
        return cls(
            meta=MediaMeta(**meta),
            derived=MediaDerived.from_dict(data["derived"]),
            meta_sequencer=data.get("meta_sequencer"),
            original_sequencer=data.get("original_sequencer"),
        )


def _text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.", [FieldError(name, "must be a string")])
    if len(value) > limit:
        message = f"at most {limit} characters"
        raise ValidationFailed(f"{name}: {message}.", [FieldError(name, message, "too-long")])
    if "\x00" in value:
        message = "must not contain NUL"
        raise ValidationFailed(f"{name}: {message}.", [FieldError(name, message)])
    if not _is_unicode(value):
        message = "must be valid Unicode (no lone surrogates)"
        raise ValidationFailed(f"{name}: {message}.", [FieldError(name, message)])
    return value


def _is_unicode(value: str) -> bool:
    """False for a string JSON let in that UTF-8 cannot hold (a lone surrogate, "\\ud800")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _focal(value: Any) -> FocalPoint | None:
    if value is None:
        return None
    problem = "must be an object {x, y} with numbers from 0 to 1"
    if not isinstance(value, dict) or set(value) != {"x", "y"}:
        raise ValidationFailed(f"focal_point {problem}.", [FieldError("focal_point", problem)])
    coords = []
    for axis in ("x", "y"):
        number = value[axis]
        if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number <= 1:
            raise ValidationFailed(
                f"focal_point.{axis} {problem}.", [FieldError(f"focal_point.{axis}", problem)]
            )
        coords.append(float(number))
    return FocalPoint(*coords)


def _tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in value.split(",") if t.strip()]
    if not isinstance(value, list) or not all(isinstance(t, str) and _is_unicode(t) for t in value):
        raise ValidationFailed(
            "tags must be a list of strings.", [FieldError("tags", "must be a list of strings")]
        )
    tags: list[str] = []
    for raw in value:
        try:
            tag = normalize_tag(raw)
        except ValueError as exc:
            raise ValidationFailed(f"tags: {exc}.", [FieldError("tags", str(exc))]) from exc
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        message = f"at most {MAX_TAGS} tags"
        raise ValidationFailed(f"tags: {message}.", [FieldError("tags", message, "too-many")])
    return tags


EDITABLE = ("filename", "alt", "caption", "focal_point", "tags")


def validate_edits(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The editable fields present in ``data``, validated and normalized."""
    edits: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in data:
            continue
        value = data[name]
        if name == "filename":
            edits[name] = clean_filename(_text(value, name, MAX_FILENAME))
        elif name == "alt":
            edits[name] = _text(value, name, MAX_ALT).strip()
        elif name == "caption":
            edits[name] = _text(value, name, MAX_CAPTION).strip()
        elif name == "focal_point":
            edits[name] = _focal(value)
        else:
            edits[name] = _tag_list(value)
    if not partial:
        unknown = sorted(set(data) - set(EDITABLE))
        if unknown:
            errors = [FieldError(n, "is not an editable field", "unknown-field") for n in unknown]
            raise ValidationFailed(
                f"Unknown field(s): {', '.join(unknown)}; editable: {', '.join(EDITABLE)}.",
                errors,
            )
    return edits


# --- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaSettings:
    """Upload limits and the variants to make; from the environment (``CMS_MEDIA_*``)."""

    widths: tuple[int, ...] = (320, 640, 1280, 1920)
    max_direct_bytes: int = 4 * 1024 * 1024  # base64 in a 6 MB Lambda payload
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 50_000_000
    webp_quality: int = 80
    jpeg_quality: int = 82
    upload_expires_seconds: int = 900
    base_url: str | None = None  # a CDN in front of the bucket's media/ prefix

    @classmethod
    def from_env(cls) -> MediaSettings:
        base = cls()

        def number(name: str, default: int) -> int:
            raw = os.environ.get(name, "")
            return int(raw) if raw.isascii() and raw.isdigit() and int(raw) > 0 else default

        raw_widths = os.environ.get("CMS_MEDIA_WIDTHS", "")
        widths = tuple(
            sorted({int(w) for w in raw_widths.split(",") if w.strip().isdigit() and int(w) > 0})
        )
        return cls(
            widths=tuple(w for w in widths if w <= 8192) or base.widths,
            max_direct_bytes=number("CMS_MEDIA_MAX_DIRECT_BYTES", base.max_direct_bytes),
            max_upload_bytes=number("CMS_MEDIA_MAX_UPLOAD_BYTES", base.max_upload_bytes),
            max_pixels=number("CMS_MEDIA_MAX_PIXELS", base.max_pixels),
            webp_quality=min(100, number("CMS_MEDIA_WEBP_QUALITY", base.webp_quality)),
            jpeg_quality=min(95, number("CMS_MEDIA_JPEG_QUALITY", base.jpeg_quality)),
            base_url=os.environ.get("CMS_MEDIA_BASE_URL", "").rstrip("/") or None,
        )


# --- index writes: which one wins ------------------------------------------------------------


def merge_meta(
    row: MediaRecord | None, meta: MediaMeta, sequencer: str | None
) -> MediaRecord | None:
    """The row after an editor-metadata write, or None if the write is stale. The API's
    writes (no sequencer) always apply; an event applies iff its sequencer is newer."""
    if row is None:
        return MediaRecord(meta=meta, meta_sequencer=_padded(sequencer))
    if sequencer is not None and not is_newer(sequencer, row.meta_sequencer):
        return None
    return replace(row, meta=meta, meta_sequencer=_padded(sequencer) or row.meta_sequencer)


def merge_derived(
    row: MediaRecord | None, media_id: str, derived: MediaDerived, sequencer: str | None
) -> MediaRecord | None:
    """The row after the original was (re)processed, or None if the write is stale. The API
    stages 'processing' (no sequencer) only while no event has been applied."""
    if row is None:
        row = MediaRecord(meta=MediaMeta(id=media_id, filename=media_id))
    if sequencer is None:
        if row.original_sequencer is None:
            return replace(row, derived=replace(derived, replaces=None))
        # An original replaced through the API: marked processing only while the row still
        # shows the original it replaced, so the mark never hides what an event derived from
        # the new one, or from one newer still (their events are applied by sequencer).
        replaced = derived.replaces
        if replaced is None or row.derived.source_etag != replaced:
            return None
        return replace(row, derived=replace(derived, replaces=None))
    if not may_apply(sequencer, row.original_sequencer, row.derived.status):
        return None
    return replace(row, derived=derived, original_sequencer=_padded(sequencer))


def _padded(sequencer: str | None) -> str | None:
    return padded(sequencer) if sequencer is not None else None
