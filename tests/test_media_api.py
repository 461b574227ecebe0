"""Media through the HTTP API, on both backends (a contract module): upload, presigned upload,
edit, delete, list, delivery, images in entries, bad files, idempotent events, reindex."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import events, wiring
from chalicelib.domain.s3_events import make_record
from chalicelib.services import media as media_service
from tests import media_files as files
from tests.conftest import ADMIN, Api, problem

BASE = "/v1/manage/media"


def upload(api: Api, data: bytes, content_type: str = "image/jpeg", query: str = "") -> Any:
    response = api.call("POST", f"{BASE}{query}", data, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def ready(api: Api, media_id: str) -> Any:
    body = api.json("GET", f"{BASE}/{media_id}")
    assert body["status"] == "ready", body
    return body


def path_of(url: str) -> str:
    """The API path of a link it gave out: links are paths from its root unless a public
    URL is configured (CMS_PUBLIC_URL or the settings' api_url)."""
    return url if url.startswith("/") else "/" + url.split("://", 1)[1].split("/", 1)[1]


def fetch(api: Api, url: str, container: wiring.Container) -> Any:
    """GET a file URL the API gave out: presigned for the bucket on AWS (read back through
    the store: moto in process serves no HTTP), this API's files route locally."""
    if container.backend_name == "aws":
        assert "Signature=" in url, url
        key = "media/" + url.split("?")[0].split("/media/", 1)[1]
        return container.backend.objects.get(key).data
    response = api.call("GET", path_of(url), headers={"Accept": "*/*"}, auth=False)
    assert response.status_code == 200, response.body
    return response.body


def form_body(fields: dict[str, str], data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_form(
    api: Api, container: wiring.Container, upload_info: dict[str, Any], data: bytes
) -> int:
    """Send the file the way a browser or curl would send the presigned form."""
    if container.backend_name == "aws":
        import requests

        response = requests.post(
            upload_info["url"], data=upload_info["fields"], files={"file": data}, timeout=10
        )
        container.process_events()
        return response.status_code
    body, content_type = form_body(upload_info["fields"], data)
    response = api.call(
        "POST",
        path_of(upload_info["url"]),
        body,
        headers={"Content-Type": content_type},
        auth=False,
    )
    return int(response.status_code)


# --- upload -------------------------------------------------------------------------------


def test_direct_upload_makes_variants_and_serves_them(
    api: Api, container: wiring.Container
) -> None:
    created = upload(
        api, files.jpeg(2400, 1600), query="?filename=Beach%20day.jpg&alt=Sea&tags=Holiday,sea"
    )
    assert created["status"] == "processing"
    assert created["filename"] == "Beach day.jpg"
    assert created["tags"] == ["holiday", "sea"]
    body = ready(api, created["id"])
    assert (body["width"], body["height"]) == (2400, 1600)
    assert body["content_type"] == "image/jpeg"
    assert len(body["variants"]) == 8
    assert body["srcset"]["webp"].count("w,") == 3
    assert body["srcset"]["sizes"] == "(max-width: 1920px) 100vw, 1920px"
    variant = next(v for v in body["variants"] if v["name"] == "640.webp")
    data = fetch(api, variant["url"], container)
    assert data[:4] == b"RIFF" and len(data) == variant["bytes"]
    public = api.json("GET", f"/v1/media/{created['id']}", auth=False)
    assert public["alt"] == "Sea" and "error" not in public
    assert public["url"].endswith("1920.jpg") or "1920.jpg" in public["url"]


def test_upload_takes_a_filename_from_content_disposition(api: Api) -> None:
    response = api.call(
        "POST",
        BASE,
        files.small_png(),
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="logo.png"',
        },
    )
    assert json.loads(response.body)["filename"] == "logo.png"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "detail"),
    [
        (files.jpeg(), "image/png", 415, "does not match"),
        (files.SVG, "image/svg+xml", 415, "SVG is refused"),
        (b"plain text, not an image", "application/octet-stream", 415, "not a supported type"),
        (files.jpeg_with_zip(), "image/jpeg", 415, "ZIP"),
        (files.png_bomb(), "image/png", 422, "decompression bomb"),
        (files.gif_frame_bomb(), "image/gif", 422, "65535 x 65535"),
        # every container format's frames and headers (tests/test_image_bombs.py)
        (files.apng_frame_bomb(), "image/png", 422, "APNG frame 2 is 100000 x 100000"),
        (files.webp_frame_bomb(), "image/webp", 422, "WebP frame 2 is 100000 x 100000"),
        (files.avif_ispe_bomb(), "image/avif", 422, "100000 x 100000"),
        (files.jpeg_with_second_sof(), "image/jpeg", 422, "9000 x 9000"),
        (files.tiff_bomb(), "image/tiff", 415, "not a supported type"),
        (files.tiff_bomb(byte_order=">", big=True), "application/octet-stream", 415, "supported"),
        (b"", "image/png", 422, "empty"),
    ],
)
def test_bad_uploads_get_clear_problems(
    api: Api, data: bytes, content_type: str, status: int, detail: str
) -> None:
    response = api.call("POST", BASE, data, headers={"Content-Type": content_type})
    assert response.status_code == status, response.body
    assert detail in problem(response)["detail"]
    assert api.json("GET", BASE)["items"] == []


def test_direct_upload_size_limit_is_413(api: Api, container: wiring.Container) -> None:
    container.limits = dataclasses.replace(
        container.limits, media=dataclasses.replace(container.limits.media, max_direct_bytes=1000)
    )
    response = api.call("POST", BASE, files.jpeg(), headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 413
    assert "/uploads" in problem(response)["detail"]


def test_upload_needs_the_media_write_scope(api: Api) -> None:
    response = api.call(
        "POST", BASE, files.small_png(), headers={"Content-Type": "image/png"}, auth=False
    )
    assert response.status_code == 401
    key = api.json(
        "POST", "/v1/manage/keys", {"name": "reader", "scopes": ["media:read"]}, expect=201
    )
    headers = {"Authorization": f"Bearer {key['key']}", "Content-Type": "image/png"}
    response = api.call("POST", BASE, files.small_png(), headers=headers, auth=False)
    assert response.status_code == 403
    assert (
        api.call(
            "GET", BASE, headers={"Authorization": f"Bearer {key['key']}"}, auth=False
        ).status_code
        == 200
    )


def test_unknown_query_parameters_are_refused(api: Api) -> None:
    response = api.call(
        "POST", f"{BASE}?colour=red", files.small_png(), headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 400
    assert api.call("GET", f"{BASE}?colour=red").status_code == 400


# --- presigned upload ---------------------------------------------------------------------


def test_presigned_upload_flow(api: Api, container: wiring.Container) -> None:
    started = api.json(
        "POST",
        f"{BASE}/uploads",
        {"filename": "big.png", "content_type": "image/png", "alt": "Transparent", "bytes": 50_000},
        expect=201,
    )
    assert started["status"] == "uploading"
    upload_info = started["upload"]
    assert upload_info["method"] == "POST" and upload_info["file_field"] == "file"
    assert upload_info["fields"]["Content-Type"] == "image/png"
    assert upload_info["fields"]["key"] == f"media/{started['id']}/original"
    assert upload_info["max_bytes"] == 50_000
    assert api.call("GET", f"/v1/media/{started['id']}", auth=False).status_code == 404
    assert post_form(api, container, upload_info, files.png_with_alpha()) in (200, 201, 204)
    body = ready(api, started["id"])
    assert body["alt"] == "Transparent"
    assert {v["format"] for v in body["variants"]} == {"webp", "png"}


def test_presigned_upload_refusals(api: Api) -> None:
    for payload, status in [
        ({"content_type": "image/svg+xml"}, 415),
        ({"content_type": "text/html"}, 415),
        ({"content_type": "image/png", "bytes": 10**10}, 413),
        ({"content_type": "image/png", "bytes": -1}, 422),
        ({"content_type": "image/png", "bytes": True}, 422),
        ({"content_type": "image/png", "width": 3}, 422),
        ({"content_type": "image/png", "filename": 3}, 422),
        ({"content_type": "image/png", "tags": "x" * 100}, 422),
    ]:
        response = api.call("POST", f"{BASE}/uploads", payload)
        assert response.status_code == status, (payload, response.body)
        problem(response)


@pytest.mark.local_only
def test_local_upload_form_is_checked_like_s3(api: Api, container: wiring.Container) -> None:
    started = api.json(
        "POST", f"{BASE}/uploads", {"content_type": "image/png", "bytes": 5000}, expect=201
    )
    info = started["upload"]
    data = files.small_png()
    other = api.json("POST", f"{BASE}/uploads", {"content_type": "image/png"}, expect=201)["upload"]
    for fields, payload, status in [
        ({**info["fields"], "key": other["fields"]["key"]}, data, 400),
        ({**info["fields"], "Content-Type": "image/jpeg"}, data, 400),
        ({**info["fields"], "policy": info["fields"]["policy"][:-2] + "xx"}, data, 400),
        (info["fields"], b"x" * 5001, 413),
        (info["fields"], b"", 413),
    ]:
        assert post_form(api, container, {**info, "fields": fields}, payload) == status
    assert post_form(api, container, info, data) == 204
    assert post_form(api, container, info, data) == 412  # a form is good for one upload
    ready(api, started["id"])
    body, content_type = form_body(info["fields"], data)
    truncated = api.call(
        "POST", "/v1/uploads", body[:-10], headers={"Content-Type": content_type}, auth=False
    )
    assert truncated.status_code == 400
    problem(truncated)


@pytest.mark.local_only
def test_an_expired_local_upload_form_is_refused(
    api: Api, container: wiring.Container, clock: Any
) -> None:
    info = api.json("POST", f"{BASE}/uploads", {"content_type": "image/png"}, expect=201)["upload"]
    clock.advance(hours=2)
    assert post_form(api, container, info, files.small_png()) == 400


# --- edit, delete, list ---------------------------------------------------------------------


def test_patch_edits_metadata_with_if_match(api: Api) -> None:
    created = upload(api, files.small_png(), "image/png")
    media_id = created["id"]
    first = api.call("GET", f"{BASE}/{media_id}")
    etag = first.headers["ETag"]
    edited = api.json(
        "PATCH",
        f"{BASE}/{media_id}",
        {
            "alt": "A green box",
            "caption": "Made by a test",
            "focal_point": {"x": 0.25, "y": 0.75},
            "tags": ["Green"],
        },
        headers={"If-Match": etag},
    )
    assert edited["alt"] == "A green box"
    assert edited["focal_point"] == {"x": 0.25, "y": 0.75}
    assert edited["tags"] == ["green"]
    stale = api.call("PATCH", f"{BASE}/{media_id}", {"alt": "x"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    problem(stale)
    for bad in ({"width": 5}, {"focal_point": {"x": 3, "y": 0}}, ["alt"]):
        response = api.call("PATCH", f"{BASE}/{media_id}", bad)
        assert response.status_code == 422, bad
    assert api.json("GET", f"{BASE}/{media_id}")["alt"] == "A green box"
    assert api.call("PATCH", f"{BASE}/nope", {"alt": "x"}).status_code == 404
    assert api.call("PATCH", f"{BASE}/..%2Fx", {"alt": "x"}).status_code in (404, 422)


def test_delete_removes_the_asset_and_its_variants(api: Api, container: wiring.Container) -> None:
    created = upload(api, files.jpeg(800, 600))
    media_id = created["id"]
    variant = ready(api, media_id)["variants"][0]["name"]
    keys = [i.key for i in container.backend.objects.list_objects(f"media/{media_id}/")]
    assert len(keys) == 2 + 1 + 6  # original, meta, manifest, 3 widths x 2 formats
    stale = api.call("DELETE", f"{BASE}/{media_id}", headers={"If-Match": '"nope"'})
    assert stale.status_code == 412
    assert api.call("DELETE", f"{BASE}/{media_id}").status_code == 204
    container.process_events()
    assert list(container.backend.objects.list_objects(f"media/{media_id}/")) == []
    assert api.call("GET", f"{BASE}/{media_id}").status_code == 404
    assert api.call("GET", f"/v1/media/{media_id}", auth=False).status_code == 404
    assert api.call("GET", f"/v1/media/{media_id}/files/{variant}", auth=False).status_code == 404
    assert api.call("DELETE", f"{BASE}/{media_id}").status_code == 404


def test_list_pages_newest_first_and_filters_by_tag(api: Api) -> None:
    ids = [
        upload(
            api, files.small_png(20 + i, 10), "image/png", f"?tags={'odd' if i % 2 else 'even'}"
        )["id"]
        for i in range(5)
    ]
    page = api.json("GET", f"{BASE}?limit=2")
    assert [i["id"] for i in page["items"]] == ids[::-1][:2]
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        page = api.json("GET", f"{BASE}?limit=2&cursor={page['next_cursor']}")
        seen += [i["id"] for i in page["items"]]
    assert seen == ids[::-1]
    odd = api.json("GET", f"{BASE}?tag=ODD")
    assert [i["id"] for i in odd["items"]] == [ids[3], ids[1]]
    first = api.json("GET", f"{BASE}?tag=even&limit=1")
    wrong = api.call("GET", f"{BASE}?tag=odd&cursor={first['next_cursor']}")
    assert wrong.status_code == 400
    assert api.call("GET", f"{BASE}?limit=0").status_code == 400
    assert api.call("GET", f"{BASE}?cursor=garbage").status_code == 400


# --- delivery -------------------------------------------------------------------------------


def test_files_route_redirects_on_aws(api: Api, container: wiring.Container) -> None:
    """On AWS no bytes go through Lambda: a redirect to a short-lived presigned URL of the
    bucket, which needs no Accept header (clients such as Hugo's send none)."""
    media_id = upload(api, files.small_png(), "image/png")["id"]
    response = api.call("GET", f"/v1/media/{media_id}/files/100.webp", auth=False)
    if container.backend_name == "local":
        assert response.status_code == 200
        return
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "public, max-age=300"  # < the URL's 900 s
    # the bucket answers with the cache headers the local route sends
    assert (
        "response-cache-control=public%2C%20max-age%3D31536000%2C%20immutable"
        in (response.headers["Location"])
    )
    assert f"/media/{media_id}/100.webp?" in response.headers["Location"]
    assert fetch(api, response.headers["Location"], container)[:4] == b"RIFF"


def test_files_route_serves_variants_only(api: Api, container: wiring.Container) -> None:
    image = upload(api, files.rotated_photo_with_gps())
    media_id = image["id"]
    ready(api, media_id)
    for name in ("original", "meta.json", "manifest.json", "9999.webp", "..%2Fmeta.json"):
        response = api.call("GET", f"/v1/media/{media_id}/files/{name}", auth=False)
        assert response.status_code == 404, name
        problem(response)
    pdf = upload(api, files.PDF, "application/pdf", "?filename=R%C3%A9sum%C3%A9.pdf")
    body = ready(api, pdf["id"])
    assert body["kind"] == "file" and body["variants"] == []
    assert fetch(api, body["url"], container) == files.PDF


@pytest.mark.local_only
def test_local_files_are_cacheable_and_revalidate(api: Api) -> None:
    media_id = upload(api, files.small_png(), "image/png")["id"]
    path = f"/v1/media/{media_id}/files/100.webp"
    first = api.call("GET", path, headers={"Accept": "image/webp,*/*"}, auth=False)
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Content-Type"] == "image/webp"
    again = api.call("GET", path, headers={"If-None-Match": first.headers["ETag"]}, auth=False)
    assert again.status_code == 304
    pdf_id = upload(api, files.PDF, "application/pdf", "?filename=R%C3%A9sum%C3%A9.pdf")["id"]
    pdf = api.call(
        "GET", f"/v1/media/{pdf_id}/files/original", headers={"Accept": "*/*"}, auth=False
    )
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9.pdf" in pdf.headers["Content-Disposition"]


def test_a_cdn_base_url_is_used_for_every_link(
    api: Api, monkeypatch: pytest.MonkeyPatch, container: wiring.Container
) -> None:
    container.limits = dataclasses.replace(
        container.limits,
        media=dataclasses.replace(container.limits.media, base_url="https://cdn.example.com"),
    )
    media_id = upload(api, files.small_png(), "image/png")["id"]
    body = api.json("GET", f"/v1/media/{media_id}", auth=False)
    assert body["variants"][0]["url"].startswith(f"https://cdn.example.com/media/{media_id}/")
    redirect = api.call("GET", f"/v1/media/{media_id}/files/100.png", auth=False)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == f"https://cdn.example.com/media/{media_id}/100.png"


# --- images in entries ----------------------------------------------------------------------


def test_markdown_images_become_responsive_pictures(api: Api) -> None:
    media_id = upload(api, files.jpeg(1600, 900), query="?alt=Default%20alt")["id"]
    ready(api, media_id)
    api.collection()
    ref = f"media:{media_id}"
    body = f'Look: ![A hill]({ref} "Hill") and ![]({ref}) and [the file]({ref}).'
    api.entry(body=body, title="Hills")
    api.publish("blog", "hills")
    entry = api.json("GET", "/v1/content/blog/hills", auth=False)
    html = entry["html"]
    assert html.count("<picture>") == 2
    assert f"/v1/media/{media_id}/files/320.webp 320w" in html
    assert 'sizes="(max-width: 1600px) 100vw, 1600px"' in html
    assert 'width="1600" height="900"' in html
    assert 'loading="lazy"' in html and 'decoding="async"' in html
    assert 'alt="A hill" title="Hill"' in html
    assert 'alt="Default alt"' in html
    assert f'href="/v1/media/{media_id}/files/1600.jpg">the file</a>' in html
    assert "media:" not in html.replace("data-media-id", "")
    from chalicelib.domain.rendering import sanitize_html

    assert sanitize_html(html) == html  # the markup survives the sanitizer as it is


def test_unknown_media_is_a_visible_warning_and_reported_to_editors(api: Api) -> None:
    api.collection()
    created = api.entry(body="Before ![Lost](media:does-not-exist) after", title="Lost")
    assert created["media_warnings"] == [
        {"media_id": "does-not-exist", "problem": "There is no media asset with this id."}
    ]
    api.publish("blog", "lost")
    html = api.json("GET", "/v1/content/blog/lost", auth=False)["html"]
    assert '<span class="cms-media-missing" data-media-id="does-not-exist">' in html
    assert "Before" in html and "after" in html
    draft = api.json("GET", "/v1/manage/content/blog/lost")
    assert draft["render"]["status"] == "rendered"
    assert "cms-media-missing" in draft["render"]["html"]


def test_entry_etag_follows_its_media(api: Api) -> None:
    media_id = upload(api, files.small_png(), "image/png", "?alt=First")["id"]
    api.collection()
    api.entry(body=f"![](media:{media_id})", title="Pic")
    api.publish("blog", "pic")
    first = api.call("GET", "/v1/content/blog/pic", auth=False)
    assert 'alt="First"' in json.loads(first.body)["html"]
    cached = api.call(
        "GET", "/v1/content/blog/pic", headers={"If-None-Match": first.headers["ETag"]}, auth=False
    )
    assert cached.status_code == 304
    api.json("PATCH", f"{BASE}/{media_id}", {"alt": "Second"})
    second = api.call(
        "GET", "/v1/content/blog/pic", headers={"If-None-Match": first.headers["ETag"]}, auth=False
    )
    assert second.status_code == 200
    assert 'alt="Second"' in json.loads(second.body)["html"]
    api.call("DELETE", f"{BASE}/{media_id}")
    third = json.loads(api.call("GET", "/v1/content/blog/pic", auth=False).body)["html"]
    assert "cms-media-missing" in third


# --- objects dropped into the bucket, events, reindex ---------------------------------------


BAD_FILES = {
    "corrupt": files.corrupt_png(),
    "truncated": files.truncated_jpeg(),
    "empty": b"",
    "bomb": files.png_bomb(),
    "polyglot": files.jpeg_with_zip(),
    "header-only": files.header_only_jpeg(),
    "svg": files.SVG,
}


def test_bad_files_in_the_bucket_are_marked_failed_and_nothing_else(
    api: Api, container: wiring.Container
) -> None:
    good = upload(api, files.small_png(), "image/png")["id"]
    for name, data in BAD_FILES.items():
        container.backend.objects.put(f"media/bad-{name}/original", data, content_type="image/png")
    container.process_events()
    for name in BAD_FILES:
        body = api.json("GET", f"{BASE}/bad-{name}")
        assert body["status"] == "failed", (name, body)
        assert body["error"], name
        assert api.call("GET", f"/v1/media/bad-{name}", auth=False).status_code == 404
    assert "decompression bomb" in api.json("GET", f"{BASE}/bad-bomb")["error"]
    assert "ZIP" in api.json("GET", f"{BASE}/bad-polyglot")["error"]
    assert ready(api, good)
    assert api.json("GET", "/v1/manage/events/dead-letters")["items"] == []


def test_a_dropped_original_with_metadata_is_indexed_like_an_upload(
    api: Api, container: wiring.Container
) -> None:
    meta = {
        "filename": "hero.jpg",
        "alt": "Hero",
        "tags": ["Home"],
        "created_at": "2025-01-01T00:00:00Z",
    }
    container.backend.objects.put(
        "media/hero/meta.json", json.dumps(meta).encode(), content_type="application/json"
    )
    container.backend.objects.put(
        "media/hero/original", files.jpeg(700, 400), content_type="image/jpeg"
    )
    container.process_events()
    body = ready(api, "hero")
    assert body["alt"] == "Hero" and body["tags"] == ["home"]
    container.backend.objects.put(
        "media/hero/meta.json", b"{not json", content_type="application/json"
    )
    container.process_events()
    assert api.json("GET", f"{BASE}/hero")["alt"] == "Hero"  # the last good metadata stays
    errors = api.json("GET", "/v1/manage/errors")["items"]
    assert any(e["key"] == "media/hero/meta.json" for e in errors)


def test_the_same_event_twice_makes_the_variants_once(
    api: Api, container: wiring.Container
) -> None:
    backend = container.backend
    info = backend.objects.put(
        "media/twice/original", files.jpeg(900, 600), content_type="image/jpeg"
    )
    container.process_events()
    before = {i.key: i.etag for i in backend.objects.list_objects("media/twice/")}
    record = make_record(
        bucket="b", key="media/twice/original", event_name="ObjectCreated:Put",
        sequencer="0000000000000001", version_id=info.version_id, etag=info.etag,
    )  # fmt: skip
    for _ in range(2):
        events.handle_notification(backend, container.limits, {"Records": [record]})
    after = {i.key: i.etag for i in backend.objects.list_objects("media/twice/")}
    assert after == before
    assert len(backend.objects.list_versions("media/twice/640.webp")) == 1
    assert ready(api, "twice")


def test_reindex_rebuilds_media_from_the_bucket(api: Api, container: wiring.Container) -> None:
    kept = upload(api, files.jpeg(1000, 700), query="?alt=Kept&tags=x")["id"]
    api.collection()
    api.entry(body=f"![](media:{kept})", title="Uses media")
    api.publish("blog", "uses-media")
    before = {
        "asset": api.json("GET", f"/v1/media/{kept}", auth=False),
        "list": api.json("GET", f"{BASE}?tag=x")["items"],
        "entry": api.json("GET", "/v1/content/blog/uses-media", auth=False)["html"],
    }
    report = api.json("POST", "/v1/manage/reindex")
    assert report["media"] == 1
    after = {
        "asset": api.json("GET", f"/v1/media/{kept}", auth=False),
        "list": api.json("GET", f"{BASE}?tag=x")["items"],
        "entry": api.json("GET", "/v1/content/blog/uses-media", auth=False)["html"],
    }
    unsigned = re.compile(r"\?[^\" ]*")  # presigned URLs are signed anew on every call
    assert unsigned.sub("", json.dumps(after)) == unsigned.sub("", json.dumps(before))
    assert len(container.backend.objects.list_versions(f"media/{kept}/640.webp")) == 1  # reused


def test_media_problems_never_leak_a_trace(api: Api) -> None:
    for method, path in [
        ("GET", f"{BASE}/BAD_ID"),
        ("GET", "/v1/media/x%00y"),
        ("DELETE", f"{BASE}/-x"),
    ]:
        response = api.call(method, path, headers=ADMIN)
        assert 400 <= response.status_code < 500
        problem(response)


def test_malformed_media_references_render_as_missing(api: Api) -> None:
    api.collection()
    body = '![a](media:UPPER) ![b](media:) [c](media:"x) ![d](media:a/../b)'
    created = api.entry(body=body, title="Odd refs")
    assert {w["media_id"] for w in created["media_warnings"]} == {"UPPER", "", "a/../b"}
    api.publish("blog", "odd-refs")
    html = api.json("GET", "/v1/content/blog/odd-refs", auth=False)["html"]
    assert html.count("cms-media-missing") >= 3
    assert 'src="media:' not in html


# --- page resources: a site's files by (collection, path) -------------------------------------


def put_resource(
    api: Api, data: bytes, path: str, *, collection: str = "blog", extra: str = "", **kw: Any
) -> Any:
    """POST the file as the resource ``path`` of ``collection``; the response."""
    content_type = kw.pop("content_type", "application/octet-stream")  # sniffed
    query = f"?collection={collection}&path={quote(path)}{extra}"
    return api.call("POST", f"{BASE}{query}", data, headers={"Content-Type": content_type}, **kw)


def original_versions(container: wiring.Container, media_id: str) -> int:
    versions = container.backend.objects.list_versions(f"media/{media_id}/original")
    return len([v for v in versions if not v.is_delete_marker])


def object_names(container: wiring.Container, media_id: str) -> set[str]:
    prefix = f"media/{media_id}/"
    return {i.key[len(prefix) :] for i in container.backend.objects.list_objects(prefix)}


def test_a_resource_is_created_then_replaced_and_keeps_its_metadata(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    path = "posts/hello/diagram.png"
    rid = media_service.resource_of(container.backend, "blog", path)
    data = files.jpeg(2400, 1600)
    first = put_resource(api, data, path, extra="&alt=A%20chart&tags=Charts")
    assert first.status_code == 201, first.body
    assert first.headers["Location"] == f"{BASE}/{rid}"
    created = json.loads(first.body)
    assert created["id"] == rid
    assert (created["collection"], created["path"]) == ("blog", path)
    assert created["filename"] == "diagram.png" and created["alt"] == "A chart"
    body = ready(api, rid)
    assert body["width"] == 2400 and len(body["variants"]) == 8
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    first_320 = next(v["url"] for v in body["variants"] if v["name"] == "320.webp")
    assert object_names(container, rid) >= {"1920.webp", "1920.jpg"}

    # the same bytes again: 200, nothing written
    before = {i.key: i.version_id for i in container.backend.objects.list_objects(f"media/{rid}/")}
    again = put_resource(api, data, path)
    assert again.status_code == 200, again.body
    assert json.loads(again.body)["status"] == "ready"
    after = {i.key: i.version_id for i in container.backend.objects.list_objects(f"media/{rid}/")}
    assert after == before and original_versions(container, rid) == 1

    # an editor's changes, then other bytes: a new original, new variants, the edits kept
    api.json("PATCH", f"{BASE}/{rid}", {"caption": "Edited", "focal_point": {"x": 0.1, "y": 0.2}})
    replaced = put_resource(api, files.jpeg(800, 600), path)
    assert replaced.status_code == 200, replaced.body
    assert json.loads(replaced.body)["id"] == rid
    body = ready(api, rid)
    assert (body["width"], body["height"]) == (800, 600)
    assert sorted(v["name"] for v in body["variants"]) == [
        "320.jpg", "320.webp", "640.jpg", "640.webp", "800.jpg", "800.webp",
    ]  # fmt: skip
    assert (body["alt"], body["caption"], body["tags"]) == ("A chart", "Edited", ["charts"])
    assert body["focal_point"] == {"x": 0.1, "y": 0.2}
    assert (body["collection"], body["path"], body["filename"]) == ("blog", path, "diagram.png")
    assert original_versions(container, rid) == 2
    # the widths the first image had are gone from the bucket, not only from the row
    names = object_names(container, rid)
    assert not names & {"1280.webp", "1280.jpg", "1920.webp", "1920.jpg"}, names
    variant = next(v for v in body["variants"] if v["name"] == "800.webp")
    assert len(fetch(api, variant["url"], container)) == variant["bytes"]
    # the files route serves a file as immutable: the replaced picture's 320.webp has a link
    # of its own (on AWS these are presigned links to the bucket, made anew each time)
    new_320 = next(v["url"] for v in body["variants"] if v["name"] == "320.webp")
    if container.backend_name == "local":
        assert new_320 != first_320 and new_320.endswith(f"?v={body['sha256'][:16]}")
    gone = api.call("GET", f"/v1/media/{rid}/files/1920.webp", auth=False)
    assert gone.status_code == 404

    # new values sent with new bytes win; what is not sent stays
    third = put_resource(api, files.small_png(), path, extra="&alt=New", content_type="image/png")
    assert third.status_code == 200
    body = ready(api, rid)
    assert (body["alt"], body["caption"], body["content_type"]) == ("New", "Edited", "image/png")


def test_resources_are_listed_by_collection_and_path(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    api.collection("docs")
    paths = ["b/z.png", "a/x.png", "é/ü.png", "a/y.png", "c.png"]
    for i, path in enumerate(paths):
        assert put_resource(api, files.small_png(10 + i, 10), path).status_code == 201
    assert put_resource(api, files.small_png(), "a/x.png", collection="docs").status_code == 201
    ordinary = upload(api, files.small_png(), "image/png")["id"]
    seen: list[str] = []
    page = api.json("GET", f"{BASE}?collection=blog&limit=2")
    while True:
        assert len(page["items"]) <= 2
        for item in page["items"]:
            assert item["collection"] == "blog"
            assert item["id"] == media_service.resource_of(container.backend, "blog", item["path"])
        seen += [i["path"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
        page = api.json("GET", f"{BASE}?collection=blog&limit=2&cursor={cursor}")
    assert seen == sorted(paths)
    docs = api.json("GET", f"{BASE}?collection=docs")["items"]
    assert [(i["collection"], i["path"]) for i in docs] == [("docs", "a/x.png")]
    assert api.json("GET", f"{BASE}?collection=empty")["items"] == []
    everything = api.json("GET", BASE)["items"]
    assert len(everything) == 7
    assert next(i for i in everything if i["id"] == ordinary)["collection"] is None
    first = api.json("GET", f"{BASE}?collection=blog&limit=1")
    for query, parameter in [
        (f"collection=docs&cursor={first['next_cursor']}", "cursor"),
        (f"cursor={first['next_cursor']}", "cursor"),
        ("collection=blog&tag=x", "collection"),
        ("collection=Not%20A%20Name", "collection"),
    ]:
        response = api.call("GET", f"{BASE}?{query}")
        assert response.status_code == 400, query
        assert problem(response)["parameter"] == parameter


def test_editors_download_the_exact_original(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    photo = files.rotated_photo_with_gps()
    path = "posts/Beach day/Plage été.jpg"
    rid = json.loads(put_resource(api, photo, path).body)["id"]
    ready(api, rid)
    response = api.call("GET", f"{BASE}/{rid}/original", headers={"Accept": "*/*"})
    if container.backend_name == "aws":
        assert response.status_code == 307
        assert response.headers["Cache-Control"] == "private, no-store"
        location = response.headers["Location"]
        assert f"/media/{rid}/original?" in location and "Signature=" in location
        assert "response-content-disposition" in location
        assert fetch(api, location, container) == photo
        # a redirect needs no Accept header
        assert api.call("GET", f"{BASE}/{rid}/original").status_code == 307
    else:
        assert response.status_code == 200, response.body
        assert response.body == photo
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Plage%20%C3%A9t%C3%A9.jpg" in disposition
        etag = response.headers["ETag"]
        cached = api.call(
            "GET", f"{BASE}/{rid}/original", headers={"Accept": "*/*", "If-None-Match": etag}
        )
        assert cached.status_code == 304
        for accept in (None, "application/json"):  # the local server sends bytes to any
            headers = {"Accept": accept} if accept else {}
            served = api.call("GET", f"{BASE}/{rid}/original", headers=headers)
            assert served.status_code == 200 and served.body == photo
        image = api.call("GET", f"{BASE}/{rid}/original", headers={"Accept": "image/jpeg"})
        assert image.status_code == 200 and image.body == photo
    # an ordinary upload's original too; never on the public routes
    pdf = upload(api, files.PDF, "application/pdf")["id"]
    response = api.call("GET", f"{BASE}/{pdf}/original", headers={"Accept": "*/*"})
    if container.backend_name == "local":
        assert response.body == files.PDF
        assert response.headers["Content-Type"] == "application/pdf"
    public = api.call(
        "GET", f"/v1/media/{rid}/files/original", headers={"Accept": "*/*"}, auth=False
    )
    assert public.status_code == 404
    no_route = api.call("GET", f"/v1/media/{rid}/original", headers={"Accept": "*/*"}, auth=False)
    assert no_route.status_code in (403, 404)  # Chalice answers 403 for a route it lacks
    missing = api.call("GET", f"{BASE}/r-0000000000000000000000000a/original")
    assert missing.status_code == 404
    problem(missing)
    started = api.json("POST", f"{BASE}/uploads", {"content_type": "image/png"}, expect=201)
    not_yet = api.call("GET", f"{BASE}/{started['id']}/original", headers={"Accept": "*/*"})
    assert not_yet.status_code == 404
    problem(not_yet)


BACKSLASH_PATH = "posts\\a.png"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        (f"collection=nope&path={quote('a.png')}", 404),
        (f"collection=blog&path={quote('../a.png')}", 422),
        (f"collection=blog&path={quote('posts/../../a.png')}", 422),
        (f"collection=blog&path={quote('/etc/a.png')}", 422),
        (f"collection=blog&path={quote('a' + chr(10) + 'b.png')}", 422),
        (f"collection=blog&path={quote('a' + chr(0) + 'b.png')}", 422),
        (f"collection=blog&path={quote('.git/a.png')}", 422),
        (f"collection=blog&path={quote('a' * 601)}", 422),
        (f"collection=blog&path={quote(BACKSLASH_PATH)}", 422),
        ("collection=blog", 400),
        (f"path={quote('a.png')}", 400),
        (f"collection=Bad%20Name&path={quote('a.png')}", 422),
    ],
)
def test_bad_resource_uploads_are_refused(api: Api, query: str, status: int) -> None:
    api.collection("blog")
    response = api.call(
        "POST", f"{BASE}?{query}", files.small_png(), headers={"Content-Type": "image/png"}
    )
    assert response.status_code == status, response.body
    problem(response)
    assert api.json("GET", BASE)["items"] == []


def test_resource_uploads_are_checked_like_any_upload(api: Api) -> None:
    api.collection("blog")
    svg = put_resource(api, files.SVG, "logo.svg", content_type="image/svg+xml")
    assert svg.status_code == 415
    assert "SVG" in problem(svg)["detail"]
    mismatch = put_resource(api, files.jpeg(), "a.png", content_type="image/png")
    assert mismatch.status_code == 415
    assert api.json("GET", f"{BASE}?collection=blog")["items"] == []


def test_resource_routes_need_the_media_scopes(api: Api) -> None:
    api.collection("blog")
    rid = json.loads(put_resource(api, files.small_png(), "a.png").body)["id"]
    anonymous = put_resource(api, files.small_png(), "a.png", auth=False)
    assert anonymous.status_code == 401
    problem(anonymous)
    assert api.call("GET", f"{BASE}/{rid}/original", auth=False).status_code == 401
    assert api.call("GET", f"{BASE}?collection=blog", auth=False).status_code == 401
    readers = {}
    for scope in ("media:read", "content:read"):
        key = api.json("POST", "/v1/manage/keys", {"name": scope, "scopes": [scope]}, expect=201)
        readers[scope] = {"Authorization": f"Bearer {key['key']}"}
    refused = api.call(
        "POST",
        f"{BASE}?collection=blog&path=b.png",
        files.small_png(),
        headers={**readers["media:read"], "Content-Type": "image/png"},
        auth=False,
    )
    assert refused.status_code == 403
    started = api.call(
        "POST",
        f"{BASE}/uploads",
        {"content_type": "image/png", "collection": "blog", "path": "b.png"},
        headers=readers["media:read"],
        auth=False,
    )
    assert started.status_code == 403
    reader = {**readers["media:read"], "Accept": "*/*"}
    download = api.call("GET", f"{BASE}/{rid}/original", headers=reader, auth=False)
    assert download.status_code in (200, 307)
    listed = api.call("GET", f"{BASE}?collection=blog", headers=reader, auth=False)
    assert listed.status_code == 200
    content_only = {**readers["content:read"], "Accept": "*/*"}
    assert (
        api.call("GET", f"{BASE}/{rid}/original", headers=content_only, auth=False).status_code
        == 403
    )


def test_presigned_resource_uploads(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    path = "posts/big/photo.png"
    rid = media_service.resource_of(container.backend, "blog", path)
    start = {"content_type": "image/png", "collection": "blog", "path": path, "alt": "Big"}
    started = api.json("POST", f"{BASE}/uploads", start, expect=201)
    assert started["id"] == rid and started["path"] == path and started["filename"] == "photo.png"
    assert started["upload"]["fields"]["key"] == f"media/{rid}/original"
    first = files.png_with_alpha()
    assert post_form(api, container, started["upload"], first) in (200, 201, 204)
    body = ready(api, rid)
    assert body["alt"] == "Big" and body["width"] == 700
    digest = hashlib.sha256(first).hexdigest()
    assert body["sha256"] == digest
    # the same file: nothing to send
    same = api.json("POST", f"{BASE}/uploads", {**start, "sha256": digest.upper()})
    assert same["upload"] is None and same["id"] == rid
    # another file replaces the original; the editor's alt stays
    api.json("PATCH", f"{BASE}/{rid}", {"alt": "Edited"})
    other = files.png_with_alpha(300, 200)
    changed = {k: v for k, v in start.items() if k != "alt"}
    again = api.json(
        "POST", f"{BASE}/uploads", {**changed, "sha256": hashlib.sha256(other).hexdigest()}
    )
    assert again["upload"] is not None and again["alt"] == "Edited"
    assert post_form(api, container, again["upload"], other) in (200, 201, 204)
    body = ready(api, rid)
    assert (body["width"], body["alt"]) == (300, "Edited")
    assert original_versions(container, rid) == 2
    assert not object_names(container, rid) & {"640.webp", "640.png"}
    for payload, status in [
        ({**start, "collection": "nope"}, 404),
        ({**start, "path": "../x.png"}, 422),
        ({"content_type": "image/png", "collection": "blog"}, 422),
        ({**start, "sha256": "xyz"}, 422),
        ({**start, "collection": 3}, 422),
    ]:
        response = api.call("POST", f"{BASE}/uploads", payload)
        assert response.status_code == status, (payload, response.body)
        problem(response)


def test_a_deleted_resource_is_gone_and_can_come_back(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    rid = json.loads(put_resource(api, files.jpeg(700, 500), "x.jpg").body)["id"]
    ready(api, rid)
    assert api.call("DELETE", f"{BASE}/{rid}").status_code == 204
    container.process_events()
    assert object_names(container, rid) == set()
    assert api.call("GET", f"{BASE}/{rid}").status_code == 404
    assert api.json("GET", f"{BASE}?collection=blog")["items"] == []
    again = put_resource(api, files.jpeg(700, 500), "x.jpg")
    assert again.status_code == 201, again.body
    assert ready(api, rid)["path"] == "x.jpg"
    assert [i["id"] for i in api.json("GET", f"{BASE}?collection=blog")["items"]] == [rid]


def test_reindex_restores_resources(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    for path in ("posts/a/one.jpg", "posts/b/two.jpg"):
        response = put_resource(api, files.jpeg(900, 600), path, extra="&alt=Kept&tags=site")
        assert response.status_code == 201
    ordinary = upload(api, files.small_png(), "image/png")["id"]
    before = {
        "list": api.json("GET", f"{BASE}?collection=blog")["items"],
        "all": api.json("GET", BASE)["items"],
        "tag": api.json("GET", f"{BASE}?tag=site")["items"],
    }
    report = api.json("POST", "/v1/manage/reindex")
    assert report["media"] == 3
    after = {
        "list": api.json("GET", f"{BASE}?collection=blog")["items"],
        "all": api.json("GET", BASE)["items"],
        "tag": api.json("GET", f"{BASE}?tag=site")["items"],
    }
    unsigned = re.compile(r"\?[^\" ]*")
    assert unsigned.sub("", json.dumps(after)) == unsigned.sub("", json.dumps(before))
    assert [(i["collection"], i["path"]) for i in after["list"]] == [
        ("blog", "posts/a/one.jpg"),
        ("blog", "posts/b/two.jpg"),
    ]
    assert next(i for i in after["all"] if i["id"] == ordinary)["path"] is None
