"""Collections: create, replace, read, list, delete. The object is the truth, the index a copy."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..domain.collections import Collection, CollectionSpec
from ..domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..domain.names import validate_collection_name
from ..domain.timeutil import to_iso
from ..ports import Backend, ObjectNotFound

PREFIX = "collections/"


def object_key(name: str) -> str:
    return f"{PREFIX}{name}.json"


def parse_spec(data: Any) -> CollectionSpec:
    if not isinstance(data, dict):
        raise ValidationFailed("A collection is a JSON object.", [FieldError("", "not an object")])
    try:
        return CollectionSpec.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(
                ".".join(str(p) for p in e["loc"]) or "collection",
                e["msg"].removeprefix("Value error, "),
                e["type"],
            )
            for e in exc.errors()
        ]
        raise ValidationFailed("The collection definition is invalid.", errors) from exc


def put_collection(backend: Backend, name: str, data: Any) -> tuple[Collection, bool]:
    """Create or replace a collection; returns it and whether it was created."""
    validate_collection_name(name)
    spec = parse_spec(data)
    existing = backend.index.get_collection(name)
    now = to_iso(backend.clock.now())
    collection = Collection(
        name=name,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        **spec.model_dump(),
    )
    backend.objects.put(
        object_key(name),
        collection.model_dump_json(indent=2).encode(),
        content_type="application/json",
    )
    backend.index.put_collection(collection)
    return collection, existing is None


def require_collection(backend: Backend, name: str) -> Collection:
    validate_collection_name(name)
    collection = backend.index.get_collection(name)
    if collection is None:
        raise NotFound(f"There is no collection named {name!r}.")
    return collection


def render_counts(backend: Backend, name: str) -> dict[str, Any]:
    """How many of the collection's drafts and published snapshots are pending, rendered
    and failed: what a client that waits for its writes to render polls (locally one count
    on an index; on DynamoDB a query of the collection's entries, projected to their status)."""
    require_collection(backend, name)
    return {"collection": name, **backend.index.count_renders(name)}


def list_collections(backend: Backend) -> list[Collection]:
    return backend.index.list_collections()


def delete_collection(backend: Backend, name: str) -> None:
    require_collection(backend, name)
    count = backend.index.count_entries(name)
    if count:
        raise Conflict(f"Collection {name!r} still has {count} entries; delete them first.")
    backend.objects.delete(object_key(name))
    backend.index.delete_collection(name)


def sync_from_object(backend: Backend, key: str) -> None:
    """Make the index match the collection object at ``key`` (event handler, reindex)."""
    if not key.startswith(PREFIX) or not key.endswith(".json"):
        raise ValidationFailed(f"{key} is not a collection key: expected collections/NAME.json")
    name = key[len(PREFIX) : -len(".json")]
    validate_collection_name(name)
    try:
        stored = backend.objects.get(key)
    except ObjectNotFound:
        backend.index.delete_collection(name)
        backend.index.clear_object_error(key)
        return
    stamp = to_iso(stored.info.last_modified)
    try:
        data = json.loads(stored.data)
        spec = parse_spec(
            {k: v for k, v in data.items() if k not in ("name", "created_at", "updated_at")}
        )
        collection = Collection(
            name=name,
            created_at=data.get("created_at") or stamp,
            updated_at=data.get("updated_at") or stamp,
            **spec.model_dump(),
        )
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationFailed(f"{key} is not a valid collection definition: {fields}") from exc
    except (ValueError, AttributeError) as exc:
        raise ValidationFailed(f"{key} is not a valid collection definition: {exc}") from exc
    backend.index.put_collection(collection)
    backend.index.clear_object_error(key)
