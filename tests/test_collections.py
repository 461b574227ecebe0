"""Collections: schemas of every field type, validation of entries against them, the lifecycle
of a collection, and its object (collections/{name}.json) as the source of truth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.ports import ObjectNotFound
from tests.conftest import Api, problem

COLLECTIONS = "/v1/manage/collections"

EVERY_TYPE: dict[str, Any] = {
    "headline": {"type": "string", "max_length": 10, "required": True},
    "notes": {"type": "text", "description": "Long form notes."},
    "rating": {"type": "number"},
    "featured": {"type": "boolean"},
    "event_at": {"type": "datetime"},
    "links": {"type": "list", "max_length": 2},
    "status": {"type": "enum", "values": ["draft", "final"]},
    "author_ref": {"type": "reference", "collection": "people"},
}


def errors_by_field(response: Any) -> dict[str, dict[str, str]]:
    assert response.status_code == 422, (response.status_code, response.body)
    body = problem(response)
    return {e["field"]: e for e in body["errors"]}


@pytest.fixture
def typed(api: Api, clock: Any) -> Api:
    """A 'people' collection with one entry, and 'docs' whose schema has every field type."""
    api.collection("people")
    api.entry("people", title="Ada Lovelace")
    api.json("PUT", f"{COLLECTIONS}/docs", {"title": "Docs", "fields": EVERY_TYPE}, expect=201)
    return api


def post_docs(api: Api, **front_matter: Any) -> Any:
    front_matter.setdefault("title", "A doc")
    return api.call(
        "POST", "/v1/manage/content/docs", {"front_matter": front_matter, "body": "Doc body."}
    )


VALID = {"headline": "Short", "author_ref": "ada-lovelace"}


# --- a schema of every field type ----------------------------------------------------------


def test_put_a_collection_with_every_field_type(api, clock, container):
    response = api.call(
        "PUT",
        f"{COLLECTIONS}/docs",
        {"title": "Docs", "description": "All the docs.", "fields": EVERY_TYPE},
    )
    assert response.status_code == 201, response.body
    assert response.headers["Location"] == f"{COLLECTIONS}/docs"
    created = json.loads(response.body)
    assert created["name"] == "docs"
    assert created["title"] == "Docs"
    assert created["description"] == "All the docs."
    assert created["created_at"] == created["updated_at"] == "2025-06-01T12:00:00Z"
    assert set(created["fields"]) == set(EVERY_TYPE)
    for name, spec in EVERY_TYPE.items():
        stored = created["fields"][name]
        for key, value in spec.items():
            assert stored[key] == value, (name, key)
        assert stored["required"] is spec.get("required", False)
    assert api.json("GET", f"{COLLECTIONS}/docs") == created


def test_the_collection_object_is_the_source_of_truth(api, clock, container):
    created = api.json("PUT", f"{COLLECTIONS}/docs", {"fields": EVERY_TYPE}, expect=201)
    stored = container.backend.objects.get("collections/docs.json")
    assert stored.info.content_type.startswith("application/json")
    assert json.loads(stored.data) == created
    # only that one object was written for the collection
    keys = [o.key for o in container.backend.objects.list_objects("collections/")]
    assert keys == ["collections/docs.json"]
    # replacing it writes a new version of the same object
    clock.advance(hours=1)
    replaced = api.json("PUT", f"{COLLECTIONS}/docs", {"title": "Docs v2"})
    versions = container.backend.objects.list_versions("collections/docs.json")
    assert len([v for v in versions if not v.is_delete_marker]) == 2
    assert json.loads(container.backend.objects.get("collections/docs.json").data) == replaced
    # the index agrees with the object
    assert container.backend.index.get_collection("docs").to_public() == replaced


def test_a_rejected_schema_writes_no_object(api, container):
    response = api.call("PUT", f"{COLLECTIONS}/docs", {"fields": {"e": {"type": "enum"}}})
    assert response.status_code == 422
    assert container.backend.objects.head("collections/docs.json") is None
    assert container.backend.index.get_collection("docs") is None


# --- entries validated against the schema --------------------------------------------------


def test_a_valid_entry_is_accepted_stored_as_written_and_indexed_normalized(typed):
    response = post_docs(
        typed,
        **VALID,
        notes="Longer\n\nnotes.",
        rating=4.5,
        featured=True,
        event_at="2025-06-01T14:30:00+02:00",
        links=["https://example.com/a", "https://example.com/b"],
        status="final",
        tags=["Python", "python", " PYTHON ", "Web  Dev", "web dev"],
        published_at="2025-05-31",
    )
    assert response.status_code == 201, response.body
    fm = json.loads(response.body)["front_matter"]
    assert fm["event_at"] == "2025-06-01T14:30:00+02:00"
    assert fm["published_at"] == "2025-05-31"
    assert fm["tags"] == ["Python", "python", " PYTHON ", "Web  Dev", "web dev"]
    assert fm["rating"] == 4.5
    assert fm["featured"] is True
    assert fm["links"] == ["https://example.com/a", "https://example.com/b"]
    assert fm["status"] == "final"
    assert fm["author_ref"] == "ada-lovelace"
    assert "updated_at" not in fm
    stored = typed.json("GET", "/v1/manage/content/docs/a-doc")["front_matter"]
    assert stored == fm
    listed = typed.json("GET", "/v1/manage/content/docs")["items"][0]
    assert listed["tags"] == ["python", "web dev"]
    typed.json("POST", "/v1/manage/content/docs/a-doc/publish")
    delivered = typed.json("GET", "/v1/content/docs/a-doc", auth=False)
    assert delivered["published_at"] == "2025-05-31T00:00:00Z"


def test_optional_fields_may_be_absent_and_integers_are_numbers(typed):
    response = post_docs(typed, headline="Only this", rating=3)
    assert response.status_code == 201, response.body
    fm = json.loads(response.body)["front_matter"]
    assert fm["rating"] == 3
    assert not {"notes", "featured", "event_at", "links", "status", "author_ref"} & set(fm)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("headline", "eleven char", "string_too_long"),
        ("headline", 5, "string_type"),
        ("rating", "1", "value_error"),
        ("rating", "many", "value_error"),
        ("rating", True, "value_error"),
        ("rating", [1], "value_error"),
        ("featured", "yes", "bool_type"),
        ("featured", "true", "bool_type"),
        ("featured", 1, "bool_type"),
        ("event_at", "garbage", "value_error"),
        ("event_at", "2025-02-30T00:00:00Z", "value_error"),
        ("event_at", 1717236000, "value_error"),
        ("links", ["a", "b", "c"], "too_long"),
        ("links", "a", "list_type"),
        ("status", "published", "literal_error"),
        ("status", "FINAL", "literal_error"),
        ("author_ref", "Ada Lovelace", "value_error"),
        ("author_ref", "../ada", "value_error"),
        ("author_ref", 7, "value_error"),
        ("surprise", "unknown", "unknown-field"),
    ],
    ids=lambda v: repr(v)[:24],
)
def test_each_invalid_field_gets_a_field_level_error(typed, field, value, code):
    fm = {**VALID, field: value}
    errors = errors_by_field(post_docs(typed, **fm))
    assert set(errors) == {f"front_matter.{field}"}
    assert errors[f"front_matter.{field}"]["code"] == code
    assert errors[f"front_matter.{field}"]["message"]


def test_a_missing_required_field_is_reported(typed):
    errors = errors_by_field(post_docs(typed, author_ref="ada-lovelace"))
    assert errors == {
        "front_matter.headline": {
            "field": "front_matter.headline",
            "message": "Field required",
            "code": "missing",
        }
    }


def test_a_list_item_over_its_length_is_reported_with_its_index(typed):
    errors = errors_by_field(post_docs(typed, **VALID, links=["ok", "x" * 1001]))
    assert set(errors) == {"front_matter.links.1"}
    assert errors["front_matter.links.1"]["code"] == "string_too_long"


def test_several_errors_are_reported_together(typed):
    response = post_docs(
        typed,
        title="",
        rating="1",
        featured="yes",
        event_at="garbage",
        links=["a", "b", "c"],
        status="nope",
        author_ref="Not A Slug",
        surprise=True,
        tags=[None],
    )
    errors = errors_by_field(response)
    assert {k: v["code"] for k, v in errors.items()} == {
        "front_matter.title": "string_too_short",
        "front_matter.headline": "missing",
        "front_matter.rating": "value_error",
        "front_matter.featured": "bool_type",
        "front_matter.event_at": "value_error",
        "front_matter.links": "too_long",
        "front_matter.status": "literal_error",
        "front_matter.author_ref": "value_error",
        "front_matter.surprise": "unknown-field",
        "front_matter.tags": "value_error",
    }
    assert typed.json("GET", "/v1/manage/content/docs")["items"] == []


def test_a_reference_to_a_missing_entry_is_refused(typed):
    errors = errors_by_field(post_docs(typed, headline="x", author_ref="grace-hopper"))
    assert errors["front_matter.author_ref"]["code"] == "unknown-reference"
    assert "grace-hopper" in errors["front_matter.author_ref"]["message"]


def test_the_schema_applies_to_markdown_documents_and_every_write(typed):
    doc = "---\ntitle: From markdown\nheadline: ok\nfeatured: yes\nrating: '2'\n---\nBody"
    response = typed.call(
        "POST", "/v1/manage/content/docs", doc, headers={"Content-Type": "text/markdown"}
    )
    errors = errors_by_field(response)
    # YAML 1.1 reads a bare 'yes' as true; the quoted '2' stays a string and is refused
    assert set(errors) == {"front_matter.rating"}
    created = typed.json(
        "POST", "/v1/manage/content/docs", {"front_matter": {"title": "Ok", **VALID}}, expect=201
    )
    path = f"/v1/manage/content/docs/{created['slug']}"
    assert set(errors_by_field(typed.call("PATCH", path, {"front_matter": {"rating": "x"}}))) == {
        "front_matter.rating"
    }
    put = typed.call("PUT", path, {"front_matter": {"title": "Ok", "headline": "ok", "nope": 1}})
    assert set(errors_by_field(put)) == {"front_matter.nope"}
    assert typed.json("GET", path)["front_matter"]["headline"] == "Short"


def test_a_schemaless_collection_accepts_arbitrary_front_matter(api, clock):
    api.collection("notes")
    extra = {
        "mood": "sunny",
        "rating": "not checked",
        "nested": {"a": [1, 2, {"b": None}]},
        "count": 3,
        "flag": "yes",
    }
    created = api.entry("notes", title="Anything goes", tags=["A", "a"], **extra)
    fm = created["front_matter"]
    for key, value in extra.items():
        if value is not None:
            assert fm[key] == value, key
    assert fm["tags"] == ["A", "a"]  # kept as written; the index normalizes tags
    stored = api.json("GET", f"/v1/manage/content/notes/{created['slug']}")["front_matter"]
    assert stored == fm
    listed = api.json("GET", "/v1/manage/content/notes")["items"]
    assert listed[0]["tags"] == ["a"]
    # built-ins are still validated
    bad = api.call("POST", "/v1/manage/content/notes", {"front_matter": {"title": "x", "tags": 5}})
    assert set(errors_by_field(bad)) == {"front_matter.tags"}


def test_an_empty_fields_object_is_a_schema_with_no_custom_fields(api, clock):
    api.collection("strict", fields={})
    ok = api.call("POST", "/v1/manage/content/strict", {"front_matter": {"title": "ok"}})
    assert ok.status_code == 201
    bad = api.call("POST", "/v1/manage/content/strict", {"front_matter": {"title": "x", "mood": 1}})
    assert errors_by_field(bad)["front_matter.mood"]["code"] == "unknown-field"


# --- invalid schemas -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"e": {"type": "enum"}}, "fields.e"),
        ({"e": {"type": "enum", "values": []}}, "fields.e"),
        ({"e": {"type": "enum", "values": ["a", "a"]}}, "fields.e"),
        ({"s": {"type": "string", "values": ["a"]}}, "fields.s"),
        ({"r": {"type": "reference"}}, "fields.r"),
        ({"r": {"type": "reference", "collection": "Not Valid"}}, "fields.r"),
        ({"s": {"type": "string", "collection": "people"}}, "fields.s"),
        ({"b": {"type": "boolean", "max_length": 3}}, "fields.b"),
        ({"n": {"type": "number", "max_length": 3}}, "fields.n"),
        ({"d": {"type": "datetime", "max_length": 3}}, "fields.d"),
        ({"s": {"type": "string", "max_length": 0}}, "fields.s.max_length"),
        ({"s": {"type": "string", "max_length": "long"}}, "fields.s.max_length"),
        ({"title": {"type": "string"}}, "fields"),
        ({"slug": {"type": "string"}}, "fields"),
        ({"tags": {"type": "list"}}, "fields"),
        ({"published_at": {"type": "datetime"}}, "fields"),
        ({"Bad-Name": {"type": "string"}}, "fields"),
        ({"1st": {"type": "string"}}, "fields"),
        ({"has space": {"type": "string"}}, "fields"),
        ({"x" * 65: {"type": "string"}}, "fields"),
        ({"": {"type": "string"}}, "fields"),
        ({"s": {"type": "string", "pattern": ".*"}}, "fields.s.pattern"),
        ({"s": {"type": "string", "default": "x"}}, "fields.s.default"),
        ({"s": {"type": "color"}}, "fields.s.type"),
        ({"s": {}}, "fields.s.type"),
        ({"s": "string"}, "fields.s"),
        ({"s": {"type": "string", "required": "maybe"}}, "fields.s.required"),
        ({f"f{i}": {"type": "string"} for i in range(101)}, "fields"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_invalid_schemas_are_422(api, container, fields, where):
    errors = errors_by_field(api.call("PUT", f"{COLLECTIONS}/docs", {"fields": fields}))
    assert where in errors, errors
    assert errors[where]["message"]
    assert problem(api.call("GET", f"{COLLECTIONS}/docs"))["status"] == 404
    assert container.backend.objects.head("collections/docs.json") is None


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"fields": []}, "fields"),
        ({"fields": "all"}, "fields"),
        ({"title": 5}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 2001}, "description"),
        ({"name": "docs"}, "name"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"schema": {}}, "schema"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_invalid_collection_bodies_are_422(api, container, spec, where):
    errors = errors_by_field(api.call("PUT", f"{COLLECTIONS}/docs", spec))
    assert where in errors
    assert container.backend.objects.head("collections/docs.json") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"name\n": {"type": "string"}},
        {"ref": {"type": "reference", "collection": "people\n"}},
    ],
    ids=["field-name", "reference-target"],
)
def test_names_with_a_trailing_newline_are_refused_in_schemas(api, container, fields):
    errors_by_field(api.call("PUT", f"{COLLECTIONS}/docs", {"fields": fields}))
    assert container.backend.objects.head("collections/docs.json") is None


def test_an_invalid_schema_does_not_replace_a_valid_one(api, clock, container):
    original = api.json("PUT", f"{COLLECTIONS}/docs", {"fields": EVERY_TYPE}, expect=201)
    before = container.backend.objects.get("collections/docs.json").data
    response = api.call("PUT", f"{COLLECTIONS}/docs", {"fields": {"title": {"type": "string"}}})
    assert response.status_code == 422
    assert api.json("GET", f"{COLLECTIONS}/docs") == original
    assert container.backend.objects.get("collections/docs.json").data == before


# --- replace, read, list, delete -----------------------------------------------------------


def test_put_again_replaces_and_keeps_created_at(api, clock, container):
    first = api.json(
        "PUT", f"{COLLECTIONS}/docs", {"title": "Docs", "fields": EVERY_TYPE}, expect=201
    )
    clock.advance(days=2)
    response = api.call(
        "PUT", f"{COLLECTIONS}/docs", {"title": "Docs 2", "fields": {"extra": {"type": "text"}}}
    )
    assert response.status_code == 200, response.body
    assert "Location" not in response.headers
    second = json.loads(response.body)
    assert second["created_at"] == first["created_at"] == "2025-06-01T12:00:00Z"
    assert second["updated_at"] == "2025-06-03T12:00:00Z"
    assert second["title"] == "Docs 2"
    assert second["description"] is None
    assert list(second["fields"]) == ["extra"]  # replaced, not merged
    assert api.json("GET", f"{COLLECTIONS}/docs") == second
    stored = json.loads(container.backend.objects.get("collections/docs.json").data)
    assert stored["created_at"] == first["created_at"]
    # the new schema applies at once: 'headline' is now unknown, 'extra' is fine
    bad = api.call(
        "POST", "/v1/manage/content/docs", {"front_matter": {"title": "x", "headline": "h"}}
    )
    assert errors_by_field(bad)["front_matter.headline"]["code"] == "unknown-field"
    ok = api.call("POST", "/v1/manage/content/docs", {"front_matter": {"title": "x", "extra": "e"}})
    assert ok.status_code == 201


def test_removing_the_schema_makes_a_collection_schemaless(api, clock):
    api.json("PUT", f"{COLLECTIONS}/docs", {"fields": {"a": {"type": "number"}}}, expect=201)
    bad = api.call("POST", "/v1/manage/content/docs", {"front_matter": {"title": "x", "a": "s"}})
    assert bad.status_code == 422
    assert api.json("PUT", f"{COLLECTIONS}/docs", {"title": "Loose"})["fields"] is None
    created = api.entry("docs", title="x", a="now a string")
    assert created["front_matter"]["a"] == "now a string"


def test_get_and_list_collections(api, clock):
    assert api.json("GET", COLLECTIONS) == {"items": []}
    blog = api.collection("blog")
    docs = api.collection("docs", fields={"level": {"type": "number"}})
    alpha = api.collection("alpha")
    assert api.json("GET", f"{COLLECTIONS}/docs") == docs
    items = api.json("GET", COLLECTIONS)["items"]
    assert sorted(items, key=lambda c: c["name"]) == [alpha, blog, docs]
    assert {c["name"] for c in items} == {"alpha", "blog", "docs"}
    assert problem(api.call("GET", f"{COLLECTIONS}/missing"))["status"] == 404


def test_deleting_a_collection_with_entries_is_409(api, clock, container):
    api.collection("blog")
    api.entry("blog", title="Still here")
    response = api.call("DELETE", f"{COLLECTIONS}/blog")
    assert response.status_code == 409
    body = problem(response)
    assert "1" in body["detail"]
    assert api.json("GET", f"{COLLECTIONS}/blog")["name"] == "blog"
    assert container.backend.objects.head("collections/blog.json") is not None
    assert (
        api.json("GET", "/v1/manage/content/blog/still-here")["front_matter"]["title"]
        == "Still here"
    )
    # once its entries are gone it can go
    api.json("DELETE", "/v1/manage/content/blog/still-here", expect=204)
    assert api.call("DELETE", f"{COLLECTIONS}/blog").status_code == 204


def test_deleting_a_published_collection_is_409_too(api, clock):
    api.collection("blog")
    api.entry("blog", title="Live")
    api.publish("blog", "live")
    assert problem(api.call("DELETE", f"{COLLECTIONS}/blog"))["status"] == 409
    assert api.call("GET", "/v1/content/blog/live", auth=False).status_code == 200


def test_deleting_an_empty_collection_is_204_then_404(api, clock, container):
    api.collection("empty")
    response = api.call("DELETE", f"{COLLECTIONS}/empty")
    assert response.status_code == 204
    assert response.body == b""
    for method in ("GET", "DELETE"):
        assert problem(api.call(method, f"{COLLECTIONS}/empty"))["status"] == 404
    assert api.json("GET", COLLECTIONS)["items"] == []
    with pytest.raises(ObjectNotFound):
        container.backend.objects.get("collections/empty.json")
    # its earlier version is still kept by the versioned store
    versions = container.backend.objects.list_versions("collections/empty.json")
    assert versions[0].is_delete_marker and not versions[-1].is_delete_marker
    # entries cannot be written into a deleted collection, and it can be created again
    missing = api.call("POST", "/v1/manage/content/empty", {"front_matter": {"title": "x"}})
    assert problem(missing)["status"] == 404
    again = api.call("PUT", f"{COLLECTIONS}/empty", {"title": "Back"})
    assert again.status_code == 201


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["blog", "my-docs", "a_b", "a", "0", "x9", "news-2025", "a-b_c", "x" * 64]
)
def test_valid_collection_names_are_accepted(api, clock, container, name):
    response = api.call("PUT", f"{COLLECTIONS}/{name}", {"title": "T"})
    assert response.status_code == 201, response.body
    assert json.loads(response.body)["name"] == name
    assert container.backend.objects.head(f"collections/{name}.json") is not None
    api.entry(name, title="Entry in it")
    assert api.json("GET", f"/v1/manage/content/{name}/entry-in-it")["collection"] == name


@pytest.mark.parametrize(
    "name",
    [
        "Blog",
        "BLOG",
        "my docs",
        "my%20docs",
        "-blog",
        "blog-",
        "_blog",
        "blog_",
        "my.docs",
        "..",
        "%2e%2e",
        "a%2Fb",
        "a%00b",
        "a\x00b",
        "a\x1fb",
        "x" * 65,
        "blög",
        "blog!",
    ],
    ids=repr,
)
def test_invalid_collection_names_are_rejected(api, container, name):
    response = api.call("PUT", f"{COLLECTIONS}/{name}", {"title": "T"})
    assert response.status_code == 422, response.body
    body = problem(response)
    assert body["errors"][0]["field"] == "collection"
    assert body["errors"][0]["code"] == "invalid-name"
    assert api.json("GET", COLLECTIONS)["items"] == []
    assert list(container.backend.objects.list_objects("")) == []
