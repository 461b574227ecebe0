"""API keys: created with scopes, stored hashed in the config store, checked in constant time.

A key reads ``cms_<id>_<secret>``; the id finds the stored record, the SHA-256 of the whole
key is compared with ``hmac.compare_digest``. The secret is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from ..domain.errors import FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed
from ..domain.timeutil import to_iso
from ..ports import Backend

SCOPES = ("content:read", "content:write", "media:read", "media:write", "admin", "preview")
# ``preview`` is never implied: a key reads drafts through the delivery routes only when it
# was made for that (services/previews.py), so the keys tools already use keep reading what
# the site publishes.
IMPLIED = {
    "content:write": {"content:read"},
    "media:write": {"media:read"},
    "admin": set(SCOPES) - {"preview"},
}
KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
KEY_RE = re.compile(r"^cms_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")
PREFIX = "keys/"
BOOTSTRAP_ID = "bootstrap"  # the principal of CMS_ADMIN_KEY
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This key lacks the {scope!r} scope.", {"required_scope": scope})


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _expand(scopes: list[str]) -> frozenset[str]:
    expanded = set(scopes)
    for scope in scopes:
        expanded |= IMPLIED.get(scope, set())
    return frozenset(expanded)


def create_key(backend: Backend, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object with 'name' and 'scopes'.")
    name, scopes = data.get("name"), data.get("scopes")
    errors = []
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors.append(FieldError("name", "must be 1-100 characters", "invalid"))
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s in SCOPES for s in scopes)
    ):
        errors.append(
            FieldError("scopes", f"must be a non-empty list of {', '.join(SCOPES)}", "invalid")
        )
    unknown = set(data) - {"name", "scopes"}
    errors.extend(FieldError(f, "unknown field", "unknown-field") for f in sorted(unknown))
    if errors:
        raise ValidationFailed("The key request is invalid.", errors)
    key_id = secrets.token_hex(8)
    secret = f"cms_{key_id}_{secrets.token_urlsafe(32)}"
    record = {
        "id": key_id,
        "name": name.strip(),  # type: ignore[union-attr]
        "scopes": sorted(set(scopes)),  # type: ignore[arg-type]
        "sha256": _hash(secret),
        "created_at": to_iso(backend.clock.now()),
    }
    backend.config.put(PREFIX + key_id, json.dumps(record), secret=True)
    return {**_public(record), "key": secret}


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "name", "scopes", "created_at")}


def list_keys(backend: Backend) -> list[dict[str, Any]]:
    return [_public(json.loads(v)) for v in backend.config.list(PREFIX).values()]


def exists(backend: Backend, key_id: str) -> bool:
    """Whether the key ``key_id`` is valid now (``bootstrap``: the CMS_ADMIN_KEY, always)."""
    if key_id == BOOTSTRAP_ID:
        return True
    return bool(KEY_ID_RE.fullmatch(key_id)) and backend.config.get(PREFIX + key_id) is not None


def revoke_key(backend: Backend, key_id: str) -> None:
    if not KEY_ID_RE.fullmatch(key_id) or backend.config.get(PREFIX + key_id) is None:
        raise NotFound(f"There is no key {key_id!r}.")
    backend.config.delete(PREFIX + key_id)


def authenticate(backend: Backend, authorization: str | None, admin_key: str | None) -> Principal:
    """The principal for an ``Authorization: Bearer <key>`` header, or Unauthorized."""
    if not authorization:
        raise Unauthorized("Send an API key: 'Authorization: Bearer <key>'.")
    scheme, _, presented = authorization.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthorized("Use the Bearer scheme: 'Authorization: Bearer <key>'.")
    digest = _hash(presented)
    if admin_key and hmac.compare_digest(digest, _hash(admin_key)):
        return Principal(BOOTSTRAP_ID, "CMS_ADMIN_KEY", _expand(["admin"]))
    match = KEY_RE.match(presented)
    stored = backend.config.get(PREFIX + match.group(1)) if match else None
    record = json.loads(stored) if stored else None
    expected = record["sha256"] if record else _DUMMY_HASH
    if not hmac.compare_digest(digest, expected) or record is None:
        raise Unauthorized("The API key is not valid.")
    return Principal(record["id"], record["name"], _expand(record["scopes"]))
