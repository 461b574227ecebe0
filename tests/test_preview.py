"""Preview (issue 13): drafts and scheduled entries through the delivery routes, for a key
with the ``preview`` scope or a signed preview link, on both backends (a contract module).
Without either, nothing changes: drafts stay invisible."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.services import previews
from tests import media_files as files
from tests.conftest import Api, FrozenClock, problem


def key(api: Api, *scopes: str) -> dict[str, str]:
    made = api.json("POST", "/v1/manage/keys", {"name": "k", "scopes": list(scopes)}, expect=201)
    return {"Authorization": f"Bearer {made['key']}"}


@pytest.fixture
def site(api: Api, clock: FrozenClock) -> None:
    """'live' published (then edited: its draft differs), 'later' scheduled, 'wip' a draft."""
    api.collection()
    api.entry(title="Live", slug="live", body="Published text.", tags=["t"])
    api.publish("blog", "live")
    api.json("PATCH", "/v1/manage/content/blog/live", {"body": "Edited, not yet published."})
    api.entry(title="Later", slug="later", body="Embargoed.")
    api.publish("blog", "later", publish_at="2025-06-02T12:00:00Z")
    api.entry(title="Work in progress", slug="wip", body="Draft **only**.", tags=["t"])


def get(api: Api, path: str, headers: dict[str, str] | None = None) -> Any:
    return api.call("GET", path, headers=headers, auth=False)


def test_the_contract_knows_the_scope_and_the_preview_fields() -> None:
    from app import app
    from chalicelib.api.openapi_spec import build
    from chalicelib.services import keys

    spec = json.dumps(build(app.routes))
    assert f'"enum": {json.dumps(list(keys.SCOPES))}' in spec.replace("\n", "")
    assert '"state"' in spec and '"/v1/manage/previews"' in spec


def test_without_the_scope_nothing_changes(api: Api, site: None) -> None:
    for headers in ({}, key(api, "content:write"), key(api, "admin"), {"Authorization": ""}):
        assert get(api, "/v1/content/blog/wip", headers).status_code == 404, headers
        assert get(api, "/v1/content/blog/later", headers).status_code == 404, headers
        live = json.loads(get(api, "/v1/content/blog/live", headers).body)
        assert "Published text." in live["html"] and "preview" not in live
        listed = json.loads(get(api, "/v1/content/blog", headers).body)
        assert [i["slug"] for i in listed["items"]] == ["live"] and "preview" not in listed


def test_a_preview_key_reads_drafts_through_the_delivery_routes(api: Api, site: None) -> None:
    preview = key(api, "preview")
    response = get(api, "/v1/content/blog/wip", preview)
    assert response.status_code == 200, response.body
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert "ETag" not in response.headers
    wip = json.loads(response.body)
    assert wip["preview"] is True and wip["state"] == "draft"
    assert "<strong>only</strong>" in wip["html"] and wip["title"] == "Work in progress"
    published = json.loads(get(api, "/v1/content/blog/live").body)
    assert set(published) | {"preview", "state"} == set(wip)  # the delivery shape, marked
    live = json.loads(get(api, "/v1/content/blog/live", preview).body)
    assert "Edited, not yet published." in live["html"] and live["state"] == "published"
    later = json.loads(get(api, "/v1/content/blog/later", preview).body)
    assert later["state"] == "scheduled" and "Embargoed." in later["html"]

    listed = get(api, "/v1/content/blog?sort=title&limit=2", preview)
    assert listed.headers["Cache-Control"] == "private, no-store"
    page = json.loads(listed.body)
    assert page["preview"] is True and [i["slug"] for i in page["items"]] == ["later", "live"]
    rest = json.loads(get(api, f"/v1/content/blog?sort=title&cursor={page['next_cursor']}",
                          preview).body)  # fmt: skip
    assert [i["slug"] for i in rest["items"]] == ["wip"] and rest["next_cursor"] is None
    tagged = json.loads(get(api, "/v1/content/blog?tag=t", preview).body)
    assert sorted(i["slug"] for i in tagged["items"]) == ["live", "wip"]
    assert get(api, "/v1/content/blog/nope", preview).status_code == 404


def test_preview_never_reaches_caches_the_feed_or_the_published_reads(
    api: Api, site: None, clock: FrozenClock
) -> None:
    preview = key(api, "preview")
    published = get(api, "/v1/content/blog/live")
    assert published.headers["Vary"] == "Authorization"  # a shared cache keeps them apart
    assert get(api, "/v1/content/blog").headers["Vary"] == "Authorization"
    before = published.body  # now in the server's body cache
    assert "Edited" in json.loads(get(api, "/v1/content/blog/live", preview).body)["html"]
    assert get(api, "/v1/content/blog/live").body == before  # the published one, still
    clock.advance(seconds=10)
    for headers in ({}, preview):
        synced = json.loads(get(api, "/v1/sync", headers).body)
        assert [i["slug"] for i in synced["items"]] == ["live"], headers
    api.json("PUT", "/v1/manage/settings", {"base_url": "https://site.example"})
    for path in ("/v1/feeds/blog.xml", "/sitemap.xml"):
        text = get(api, path, preview).body.decode()
        assert "wip" not in text and "later" not in text and "Edited" not in text, path


def test_an_invalid_key_reads_what_the_site_publishes(api: Api, site: None) -> None:
    for value in ("Bearer cms_0123456789abcdef_nope-nope-nope-nope-nope", "Basic abc"):
        response = get(api, "/v1/content/blog/live", {"Authorization": value})
        assert response.status_code == 200, value
        assert "Published text." in json.loads(response.body)["html"]
        assert get(api, "/v1/content/blog/wip", {"Authorization": value}).status_code == 404


def test_a_preview_link_opens_one_draft_until_it_expires_or_is_revoked(
    api: Api, site: None, clock: FrozenClock
) -> None:
    editor = key(api, "content:read")
    body = {"collection": "blog", "slug": "wip", "expires_in": 3600}
    link = api.json("POST", "/v1/manage/previews", body, headers=editor, auth=False, expect=201)
    assert link["url"].startswith("/v1/content/blog/wip?preview=")
    opened = get(api, link["url"])
    assert opened.status_code == 200 and opened.headers["Cache-Control"] == "private, no-store"
    assert json.loads(opened.body)["preview"] is True
    other = get(api, f"/v1/content/blog/live?preview={link['token']}")
    assert other.status_code == 403
    problem(other)
    tampered = link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB")
    assert get(api, f"/v1/content/blog/wip?preview={tampered}").status_code == 401
    listed = api.json("GET", "/v1/manage/previews", headers=editor, auth=False)["items"]
    assert [i["id"] for i in listed] == [link["id"]] and "token" not in listed[0]

    clock.advance(seconds=3601)
    expired = get(api, link["url"])
    assert expired.status_code == 401
    assert "expired" in problem(expired)["detail"]

    again = api.json("POST", "/v1/manage/previews", body, headers=editor, auth=False, expect=201)
    assert get(api, again["url"]).status_code == 200
    path = f"/v1/manage/previews/{again['id']}"
    assert api.call("DELETE", path, headers=editor, auth=False).status_code == 204
    assert get(api, again["url"]).status_code == 401
    assert api.call("DELETE", path, headers=editor, auth=False).status_code == 404


def test_a_preview_link_dies_with_its_key_and_expired_ones_are_cleared(
    api: Api, site: None, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = api.json(
        "POST", "/v1/manage/keys", {"name": "ed", "scopes": ["content:read"]}, expect=201
    )
    editor = {"Authorization": f"Bearer {made['key']}"}
    body = {"collection": "blog", "slug": "wip", "expires_in": 600}
    link = api.json("POST", "/v1/manage/previews", body, headers=editor, auth=False, expect=201)
    assert get(api, link["url"]).status_code == 200
    assert api.call("DELETE", f"/v1/manage/keys/{made['id']}").status_code == 204
    assert get(api, link["url"]).status_code == 401  # the key that made it is gone

    monkeypatch.setattr(previews, "MAX_LINKS", 2)
    first = api.json("POST", "/v1/manage/previews", body, expect=201)
    api.json("POST", "/v1/manage/previews", body, expect=201)
    full = api.call("POST", "/v1/manage/previews", body)
    assert full.status_code == 409  # two live links fill the store (the orphan was cleared)
    problem(full)
    clock.advance(seconds=601)  # all expired: cleared when the next link is made
    api.json("POST", "/v1/manage/previews", body, expect=201)
    listed = api.json("GET", "/v1/manage/previews")["items"]
    assert len(listed) == 1 and first["id"] not in {i["id"] for i in listed}


@pytest.mark.parametrize(
    "body",
    [
        {"collection": "blog", "slug": "nope"},
        {"collection": "nope", "slug": "wip"},
        {"collection": "blog", "slug": "wip", "expires_in": 10},
        {"collection": "blog", "slug": "wip", "expires_in": "3600"},
        {"collection": "blog", "slug": "wip", "colour": "red"},
        {"slug": "wip"},
    ],
)
def test_bad_preview_link_requests(api: Api, site: None, body: dict[str, Any]) -> None:
    response = api.call("POST", "/v1/manage/previews", body)
    assert response.status_code in (404, 422), (body, response.body)
    problem(response)


def test_preview_links_need_a_key(api: Api, site: None) -> None:
    body = {"collection": "blog", "slug": "wip"}
    assert api.call("POST", "/v1/manage/previews", body, auth=False).status_code == 401
    assert api.call("GET", "/v1/manage/previews", auth=False).status_code == 401
    assert api.call("POST", "/v1/manage/previews", body, headers=key(api, "media:read"),
                    auth=False).status_code == 403  # fmt: skip


def test_media_in_a_previewed_draft_are_resolved(api: Api, site: None) -> None:
    upload = api.call(
        "POST", "/v1/manage/media", files.small_png(), headers={"Content-Type": "image/png"}
    )
    media_id = json.loads(upload.body)["id"]
    api.json("GET", f"/v1/manage/media/{media_id}")
    api.json("PATCH", "/v1/manage/content/blog/wip", {"body": f"![Dot](media:{media_id})"})
    html = json.loads(get(api, "/v1/content/blog/wip", key(api, "preview")).body)["html"]
    assert f"/v1/media/{media_id}/files/" in html and "media:" not in html.replace(
        "data-media-id", ""
    )
