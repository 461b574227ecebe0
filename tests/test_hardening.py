"""Bad input and odd states found in review: each is a clear 4xx or a safe outcome, never a
500, and nothing stored is lost."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import events, wiring
from chalicelib.domain.s3_events import make_record
from tests.conftest import Api, problem

MD = {"Content-Type": "text/markdown"}


def _entry(api: Api, **fm: Any) -> Any:
    api.collection("blog")
    return api.entry("blog", **fm)


def test_a_yaml_integer_too_long_to_convert_is_422(api: Api) -> None:
    api.collection("blog")
    doc = "---\ntitle: Big\nn: " + "1" * 5000 + "\n---\nx"
    body = problem(api.call("POST", "/v1/manage/content/blog", doc, headers=MD))
    assert body["status"] == 422


def test_json_front_matter_too_deep_or_not_unicode_is_refused(api: Api) -> None:
    api.collection("blog")
    deep: Any = "x"
    for _ in range(400):
        deep = [deep]
    for front_matter in ({"title": "D", "n": deep}, {"title": "S", "x": "\ud800"}):
        raw = json.dumps({"front_matter": front_matter, "body": "b"})
        assert (
            problem(
                api.call(
                    "POST",
                    "/v1/manage/content/blog",
                    raw,
                    headers={"Content-Type": "application/json"},
                )
            )["status"]
            == 422
        )
    raw = '{"front_matter": {"title": "T"}, "body": "\\udc00"}'
    assert (
        problem(
            api.call(
                "POST", "/v1/manage/content/blog", raw, headers={"Content-Type": "application/json"}
            )
        )["status"]
        == 422
    )
    raw = '{"front_matter": {"title": "T", "n": 1e400}, "body": "b"}'
    assert (
        problem(
            api.call(
                "POST", "/v1/manage/content/blog", raw, headers={"Content-Type": "application/json"}
            )
        )["status"]
        == 400
    )


def test_front_matter_over_its_size_limit_is_422(api: Api) -> None:
    api.collection("blog")
    response = api.call(
        "POST",
        "/v1/manage/content/blog",
        {"front_matter": {"title": "Big", "notes": "x" * 40_000}, "body": "b"},
    )
    assert problem(response)["errors"][0]["code"] == "too-large"


def test_unreadable_drafts_can_be_opened_and_replaced_not_patched_or_published(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    objects = container.backend.objects
    objects.put("content/blog/bin.md", b"---\ntitle: \xff\n---\n", content_type="text/markdown")
    objects.put("content/blog/yaml.md", b"---\ntitle: [\n---\nHello", content_type="text/markdown")
    container.process_events()
    for slug in ("bin", "yaml"):
        view = api.json("GET", f"/v1/manage/content/blog/{slug}")
        assert view["render"]["status"] == "failed"
        assert (
            problem(
                api.call(
                    "PATCH", f"/v1/manage/content/blog/{slug}", {"front_matter": {"title": "Fixed"}}
                )
            )["status"]
            == 422
        )
        assert problem(api.call("POST", f"/v1/manage/content/blog/{slug}/publish"))["status"] == 422
    stored = objects.get("content/blog/yaml.md").data
    assert stored == b"---\ntitle: [\n---\nHello"  # nothing was folded into the body
    fixed = api.json(
        "PUT", "/v1/manage/content/blog/yaml", {"front_matter": {"title": "Fixed"}, "body": "Hello"}
    )
    assert fixed["front_matter"]["title"] == "Fixed"


def test_a_collection_object_with_bad_fields_is_an_object_error(
    api: Api, container: wiring.Container
) -> None:
    container.backend.objects.put(
        "collections/bad.json", b'{"created_at": 5}', content_type="application/json"
    )
    container.process_events()
    errors = api.json("GET", "/v1/manage/errors")["items"]
    assert [e["key"] for e in errors] == ["collections/bad.json"]
    assert api.json("GET", "/v1/manage/events/dead-letters")["items"] == []


def test_missing_rendered_html_is_a_404_not_a_500(api: Api, container: wiring.Container) -> None:
    slug = _entry(api, title="Gone")["slug"]
    api.publish("blog", slug)
    record = container.backend.index.get_entry("blog", "published", slug)
    assert record is not None and record.html_key
    container.backend.objects.delete(record.html_key)
    from chalicelib.services import delivery

    delivery._bodies.clear()
    assert problem(api.call("GET", f"/v1/content/blog/{slug}", auth=False))["status"] == 404


def test_a_removal_that_fails_every_retry_hides_the_entry(
    api: Api, container: wiring.Container
) -> None:
    slug = _entry(api, title="Removed")["slug"]
    api.publish("blog", slug)
    assert api.call("GET", f"/v1/content/blog/{slug}", auth=False).status_code == 200
    removal = {
        "Records": [
            make_record(
                bucket="cms-local",
                key=f"published/blog/{slug}.md",
                event_name="ObjectRemoved:DeleteMarkerCreated",
                sequencer="FFFFFFFFFFFFFFFFFF",
                version_id="v",
            )
        ]
    }
    events.record_dead_letter(container.backend, removal, "RuntimeError: boom")
    assert api.call("GET", f"/v1/content/blog/{slug}", auth=False).status_code == 404
    keys = [e["key"] for e in api.json("GET", "/v1/manage/errors")["items"]]
    assert keys == [f"published/blog/{slug}.md"]


def test_a_collection_with_only_published_entries_cannot_be_deleted(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    container.backend.objects.put(
        "published/blog/synced.md",
        b"---\ntitle: Synced\npublished_at: 2024-01-01\n---\nx",
        content_type="text/markdown",
    )
    container.process_events()
    assert problem(api.call("DELETE", "/v1/manage/collections/blog"))["status"] == 409
