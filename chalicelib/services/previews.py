"""Preview: drafts and scheduled entries through the delivery routes, for those allowed.

Two ways in, both read the entry's draft (rendered as it will be published) instead of its
published snapshot, marked ``"preview": true`` and never cacheable:

- a key whose own scopes include ``preview`` (``admin`` does not imply it, so the keys that
  tools already use keep reading what the site publishes): every route of ``/v1/content``;
- a preview link: ``/v1/content/{collection}/{slug}?preview=<token>``, made by an editor for
  one entry, signed (HMAC), expiring (at most 30 days) and revocable. A link's record lives
  in the config store (``previews/{id}``); revoking deletes it, and the token is checked
  against it on every use (on AWS within the config store's cache, 60 s). A link dies with
  the key that made it; dead links are deleted when the next one is made, and at most
  ``MAX_LINKS`` live at once (the config store is shared with keys and secrets).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from ..domain import cursors
from ..domain.entries import entry_href
from ..domain.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from ..domain.limits import json_integer
from ..domain.paths import URL_SEPARATOR, validate_path
from ..domain.timeutil import parse_instant, to_iso
from ..ports import Backend
from . import keys
from .collections import require_collection

SCOPE = "preview"
PREFIX = "previews/"
DEFAULT_SECONDS = 24 * 3600
MIN_SECONDS, MAX_SECONDS = 60, 30 * 24 * 3600
ID_RE = re.compile(r"[0-9a-f]{16}")
FIELDS = {"collection", "slug", "expires_in"}
MAX_LINKS = 1000


def signing_key(cursor_secret: bytes) -> bytes:
    """Its own key, derived from the cursor secret: a cursor never passes for a link."""
    return hmac.new(cursor_secret, b"preview-links", hashlib.sha256).digest()


def _expires_in(value: Any) -> int:
    if value is None:
        return DEFAULT_SECONDS
    seconds = json_integer(value)
    if seconds is None:
        raise ValidationFailed(
            "The preview link request is invalid.",
            [FieldError("expires_in", "must be a whole number of seconds", "type")],
        )
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ValidationFailed(
            "The preview link request is invalid.",
            [FieldError("expires_in", f"must be {MIN_SECONDS}-{MAX_SECONDS} seconds", "range")],
        )
    return seconds


def create(
    backend: Backend, cursor_secret: bytes, body: dict[str, Any], created_by: str
) -> dict[str, Any]:
    """A link to one entry's draft; the token is shown once, here."""
    unknown = sorted(set(body) - FIELDS)
    collection, slug = body.get("collection"), body.get("slug")
    errors = [FieldError(name, "unknown field", "unknown-field") for name in unknown]
    for name, value in (("collection", collection), ("slug", slug)):
        if not isinstance(value, str) or not value:
            errors.append(FieldError(name, "must be a non-empty string", "type"))
    if errors:
        raise ValidationFailed("The preview link request is invalid.", errors)
    assert isinstance(collection, str) and isinstance(slug, str)
    seconds = _expires_in(body.get("expires_in"))
    require_collection(backend, collection)
    path = validate_path(slug.replace(URL_SEPARATOR, "/"))  # 'a/b' or the URL's 'a~b'
    draft = backend.index.get_entry(collection, "draft", path)
    if draft is None or draft.deleted:
        raise NotFound(f"There is no entry {path!r} in {collection!r}.")
    now = backend.clock.now()
    if _prune_dead(backend, now) >= MAX_LINKS:
        raise Conflict(
            f"There are {MAX_LINKS:,} preview links that have not expired; revoke some first.",
            {"limit": MAX_LINKS},
        )
    expires = now + dt.timedelta(seconds=seconds)
    link_id = secrets.token_hex(8)
    record = {
        "id": link_id,
        "collection": collection,
        "slug": path,
        "expires_at": to_iso(expires),
        "created_at": to_iso(now),
        "created_by": created_by,
    }
    backend.config.put(PREFIX + link_id, json.dumps(record))
    payload = {"k": "preview", "i": link_id, "c": collection, "s": path}
    token = cursors.encode(payload, signing_key(cursor_secret))
    url = f"{entry_href(collection, path)}?preview={token}"
    return {**record, "token": token, "url": url}


def _prune_dead(backend: Backend, now: dt.datetime) -> int:
    """Delete the records of links that no longer open anything (expired, or their key was
    revoked); returns how many are left."""
    live_keys = {k["id"] for k in keys.list_keys(backend)} | {keys.BOOTSTRAP_ID}
    left = 0
    for name, value in backend.config.list(PREFIX).items():
        record = json.loads(value)
        if parse_instant(record["expires_at"]) <= now or record["created_by"] not in live_keys:
            backend.config.delete(name)
        else:
            left += 1
    return left


def list_links(backend: Backend) -> list[dict[str, Any]]:
    """Every link not yet revoked, newest first (dead ones until the next link is made)."""
    links = [json.loads(v) for v in backend.config.list(PREFIX).values()]
    return sorted(links, key=lambda link: link["created_at"], reverse=True)


def revoke(backend: Backend, link_id: str) -> None:
    if not ID_RE.fullmatch(link_id) or backend.config.get(PREFIX + link_id) is None:
        raise NotFound(f"There is no preview link {link_id!r}.")
    backend.config.delete(PREFIX + link_id)


def check_link(
    backend: Backend, cursor_secret: bytes, token: str, collection: str, slug: str
) -> None:
    """Whether ``token`` opens this entry's preview now; Unauthorized (a link that is not
    one, has expired or was revoked) or Forbidden (a link to another entry)."""
    invalid = Unauthorized("The preview link is not valid: it has expired or was revoked.")
    try:
        payload = cursors.decode(token, signing_key(cursor_secret))
    except BadRequest as exc:
        raise invalid from exc
    link_id = payload.get("i")
    if payload.get("k") != "preview" or not isinstance(link_id, str):
        raise invalid
    stored = backend.config.get(PREFIX + link_id) if ID_RE.fullmatch(link_id) else None
    if stored is None:
        raise invalid
    record = json.loads(stored)
    if parse_instant(record["expires_at"]) <= backend.clock.now():
        raise invalid
    if not keys.exists(backend, record["created_by"]):  # its key was revoked
        raise invalid
    if (payload.get("c"), payload.get("s")) != (collection, slug):
        raise Forbidden("This preview link opens another entry.")
