"""POST /v1/manage/render: the editor's live preview renders unsaved Markdown at once, under
the same size limit and render budget as a saved entry, and stores nothing (both backends)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain.limits import Limits
from chalicelib.domain.render_budget import RENDER_ERROR, RenderRefused
from tests import media_files as files
from tests.conftest import ADMIN, Api, problem
from tests.hostile_markdown import HOSTILE

RENDER = "/v1/manage/render"


def render(api: Api, body: Any, **kwargs: Any) -> Any:
    return api.call("POST", RENDER, body, **kwargs)


def key(api: Api, *scopes: str) -> dict[str, str]:
    made = api.json("POST", "/v1/manage/keys", {"name": "k", "scopes": list(scopes)}, expect=201)
    return {"Authorization": f"Bearer {made['key']}"}


def test_markdown_renders_with_its_media_and_nothing_is_stored(
    api: Api, container: wiring.Container
) -> None:
    api.collection()
    uploaded = api.call(
        "POST", "/v1/manage/media?alt=Red", files.small_png(), headers={"Content-Type": "image/png"}
    )
    media_id = json.loads(uploaded.body)["id"]
    body = f"# Title\n\nSome *text*.\n\n![Red](media:{media_id})\n\n![Gone](media:01nosuchid)\n"
    response = render(api, {"body": body, "front_matter": {"title": "Unsaved"}})
    assert response.status_code == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    result = json.loads(response.body)
    assert result["preview"] is True
    assert '<h1 id="title">Title</h1>' in result["html"] and "<em>text</em>" in result["html"]
    assert "<picture" in result["html"] and f"/v1/media/{media_id}/files/" in result["html"]
    assert result["toc"] == [{"level": 1, "id": "title", "title": "Title", "children": []}]
    assert result["word_count"] >= 3
    assert [w["media_id"] for w in result["media_warnings"]] == ["01nosuchid"]
    assert api.json("GET", "/v1/manage/content/blog")["items"] == []
    container.process_events()
    assert not list(container.backend.objects.list_objects("rendered/"))


def test_relative_images_resolve_to_the_entrys_page_resources(api: Api) -> None:
    api.collection("docs")
    api.json(
        "POST",
        "/v1/manage/content/docs",
        {"file": "guide/index.md", "front_matter": {"title": "Guide"}, "body": "Text."},
        expect=201,
    )
    uploaded = api.call(
        "POST",
        "/v1/manage/media?collection=docs&path=guide/diagram.png",
        files.small_png(),
        headers={"Content-Type": "image/png"},
    )
    assert uploaded.status_code == 201, uploaded.body
    body = {"body": "![Diagram](diagram.png)", "collection": "docs", "slug": "guide~index"}
    html = api.json("POST", RENDER, body)["html"]
    assert "<picture" in html and json.loads(uploaded.body)["id"] in html
    alone = api.json("POST", RENDER, {"body": "![Diagram](diagram.png)"})["html"]
    assert "<picture" not in alone and 'src="diagram.png"' in alone


def test_it_needs_a_key_with_content_write(api: Api) -> None:
    body = {"body": "x"}
    unauthenticated = render(api, body, auth=False)
    assert unauthenticated.status_code == 401
    assert problem(unauthenticated)["type"] == "/problems/unauthorized"
    for scopes in (("content:read",), ("media:write",), ("preview",)):
        refused = render(api, body, headers=key(api, *scopes), auth=False)
        assert refused.status_code == 403, scopes
        assert problem(refused)["type"] == "/problems/forbidden"
    allowed = render(api, body, headers=key(api, "content:write"), auth=False)
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "kind"),
    [
        ("{not json", "application/json", 400, "bad-request"),
        ("", "application/json", 400, "bad-request"),
        ("[1, 2]", "application/json", 422, "validation-failed"),
        ('{"body": 3}', "application/json", 422, "validation-failed"),
        ('{"front_matter": {}}', "application/json", 422, "validation-failed"),
        ('{"body": "x", "front_matter": []}', "application/json", 422, "validation-failed"),
        ('{"body": "x", "front_matter": null}', "application/json", 422, "validation-failed"),
        ('{"body": "x", "extra": 1}', "application/json", 422, "validation-failed"),
        ('{"body": "x", "slug": "a"}', "application/json", 422, "validation-failed"),
        ('{"body": "x", "collection": "b", "slug": "../a"}', "application/json", 422, None),
        ("# Markdown", "text/markdown", 415, "unsupported-media-type"),
    ],
)
def test_bad_requests_get_problems(
    api: Api, raw: str, content_type: str, status: int, kind: str | None
) -> None:
    response = render(api, raw, headers={"Content-Type": content_type})
    assert response.status_code == status, response.body
    body = problem(response)
    if kind is not None:
        assert body["type"] == f"/problems/{kind}"
    if status == 422 and kind == "validation-failed" and raw.startswith("{"):
        assert body["errors"], body


def test_415_is_told_only_to_a_key_holder(api: Api) -> None:
    response = render(api, "# x", headers={"Content-Type": "text/markdown"}, auth=False)
    assert response.status_code == 401


def test_markdown_over_the_entry_limit_is_413(api: Api) -> None:
    limit = Limits().max_markdown_bytes
    response = render(api, {"body": "a" * (limit + 1)})
    assert response.status_code == 413
    assert problem(response)["limit"] == limit
    whole = render(api, {"body": "a" * (Limits().max_body_bytes + 10)})
    assert whole.status_code == 413


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Api:
    """Renders under a 0.5 s budget on this test's container (built after this)."""
    monkeypatch.setenv("CMS_RENDER_BUDGET_SECONDS", "0.5")
    return request.getfixturevalue("api")  # type: ignore[no-any-return]


def test_a_document_too_complex_to_render_is_422_with_the_reason(
    tight: Api, container: wiring.Container
) -> None:
    api = tight
    assert container.limits.render_budget.cpu_seconds == 0.5
    response = render(api, {"body": HOSTILE["brackets"]})
    assert response.status_code == 422, response.body
    body = problem(response)
    assert body["type"] == "/problems/render-too-complex"
    assert body["reason"] == "render-too-complex"
    assert "budget of 0.5 s" in body["detail"]
    deep = problem(render(api, {"body": HOSTILE["list-500-deep"]}))
    assert deep["type"] == "/problems/render-too-complex" and "the limit is 32" in deep["detail"]


def test_a_parser_failure_is_a_render_error(api: Api, container: wiring.Container) -> None:
    class Failing:
        def render(self, body: str, **_: Any) -> Any:
            raise RenderRefused(RENDER_ERROR, "the parser failed: IndexError")

    container.backend.renderer = Failing()  # type: ignore[assignment]
    body = problem(render(api, {"body": "x"}))
    assert body["status"] == 422
    assert body["type"] == "/problems/render-error" and body["reason"] == RENDER_ERROR
    assert "IndexError" in body["detail"]


def test_the_admin_key_works_and_answers_json(api: Api) -> None:
    response = api.client.http.post(
        RENDER, headers={**ADMIN, "Content-Type": "application/json"}, body='{"body": "**b**"}'
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "<strong>b</strong>" in json.loads(response.body)["html"]
