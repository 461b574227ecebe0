"""Media under hostile input and bad timing: no 500 for any request, no stale or resurrected
files when uploads, deletes and events race, nothing lost, no file that fails for no fault
of its own. Local backend (the races are in the services, which both backends share)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from chalicelib import wiring
from chalicelib.api import event_handlers
from chalicelib.domain import images
from chalicelib.domain import media as m
from chalicelib.domain.s3_events import ObjectEvent
from chalicelib.services import media as media_service
from chalicelib.services import thumbnails
from tests import media_files as files
from tests.conftest import Api, problem
from tests.test_media_events import _sqs_event

BASE = "/v1/manage/media"
JSON = {"Content-Type": "application/json"}


def upload(api: Api, data: bytes, content_type: str = "image/png", query: str = "") -> Any:
    response = api.call("POST", f"{BASE}{query}", data, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def created(media_id: str, sequencer: str, name: str = m.ORIGINAL) -> ObjectEvent:
    return ObjectEvent("b", m.object_key(media_id, name), "ObjectCreated:Put", sequencer)


def removed(media_id: str, sequencer: str, name: str = m.ORIGINAL) -> ObjectEvent:
    key = m.object_key(media_id, name)
    return ObjectEvent("b", key, "ObjectRemoved:DeleteMarkerCreated", sequencer)


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (100, 60)) -> bytes:
    return files.save(Image.new("RGB", size, colour), "PNG")


def keys(container: wiring.Container, media_id: str) -> list[str]:
    return sorted(i.key for i in container.backend.objects.list_objects(f"media/{media_id}/"))


# --- no 500 for any input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (f"{BASE}/uploads", "POST", '{"content_type": "image/png", "filename": "a\\ud800.png"}'),
        (f"{BASE}/uploads", "POST", '{"content_type": "image/png", "alt": "\\udfff"}'),
        (f"{BASE}/uploads", "POST", '{"content_type": "image/png", "tags": ["\\ud800"]}'),
        ("PATCH", "PATCH", '{"alt": "x\\ud800"}'),
        ("PATCH", "PATCH", '{"caption": "\\udc00"}'),
        ("PATCH", "PATCH", '{"filename": "\\ud83d.png"}'),
    ],
)
def test_lone_surrogates_in_json_are_422_not_500(
    api: Api, path: str, method: str, body: str
) -> None:
    if path == "PATCH":
        path = f"{BASE}/{upload(api, files.small_png())['id']}"
    response = api.call(method, path, body, headers=JSON)
    assert response.status_code == 422, response.body
    problem(response)


def test_huge_numbers_in_the_query_and_headers_are_4xx(api: Api) -> None:
    digits = "9" * 5000  # int() refuses more than 4300 digits
    listed = api.call("GET", f"{BASE}?limit={digits}")
    assert listed.status_code == 400, listed.body
    problem(listed)
    sized = api.call(
        "POST",
        BASE,
        files.small_png(),
        headers={"Content-Type": "image/png", "Content-Length": digits},
    )
    assert sized.status_code in (201, 400, 413), sized.body
    api.collection()
    entries = api.call("GET", f"/v1/content/blog?limit={digits}", auth=False)
    assert entries.status_code == 400, entries.body


def test_a_non_ascii_multipart_boundary_is_400(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/uploads",
        b"--\xe2\x82\xac\r\n\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=\u20ac\u20ac"},
        auth=False,
    )
    assert response.status_code == 400, response.body
    problem(response)


def test_a_variant_missing_from_the_bucket_is_404_not_500(
    api: Api, container: wiring.Container
) -> None:
    """A variant listed in the index but gone from the bucket: an asset being deleted right
    now (the objects go before the index row), or removed by hand."""
    media_id = upload(api, files.small_png())["id"]
    container.backend.objects.delete(m.object_key(media_id, "100.webp"))
    response = api.call(
        "GET", f"/v1/media/{media_id}/files/100.webp", headers={"Accept": "*/*"}, auth=False
    )
    assert response.status_code == 404, response.body
    problem(response)


FORGED = (
    {"Host": "evil.example"},
    {"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Proto": "javascript"},
    {"Host": 'evil.example"/><script>'},
)


def _links_of(api: Api, media_id: str, headers: dict[str, str]) -> list[str]:
    """Every link a reader can get to the asset: its public view, an entry's HTML, the feed."""
    body = api.json("GET", f"/v1/media/{media_id}", headers=headers, auth=False)
    links = [body["url"], *(v["url"] for v in body["variants"])]
    html = api.json("GET", "/v1/content/blog/pic", headers=headers, auth=False)["html"]
    feed = api.call("GET", "/v1/feeds/blog.xml", headers=headers, auth=False).body.decode()
    return [*links, html, feed]


@pytest.fixture
def pictured(api: Api) -> str:
    """An image, ready, in a published entry of a site with a base URL (so it has a feed)."""
    media_id = upload(api, files.small_png())["id"]
    api.json("GET", f"/v1/manage/media/{media_id}")
    api.json("PUT", "/v1/manage/settings", {"base_url": "https://site.example"})
    api.collection()
    api.entry(body=f"![A pixel](media:{media_id})", title="Pic")
    api.publish("blog", "pic")
    return media_id


def test_public_links_never_come_from_a_request_header(api: Api, pictured: str) -> None:
    """Issue 12, case 5: entry HTML, feeds and media views are public and cacheable, so one
    request with a forged Host must not decide the links everybody gets. Unconfigured, the
    links are paths from the API's root."""
    plain = _links_of(api, pictured, {})
    assert f'src="/v1/media/{pictured}/files/' in plain[-2]
    assert all(link.startswith(f"/v1/media/{pictured}/") for link in plain[:-2])
    for headers in FORGED:
        links = _links_of(api, pictured, headers)
        assert links == plain, headers
        assert not any("evil" in link or "javascript" in link for link in links), headers


@pytest.mark.parametrize("where", ["environment", "settings"])
def test_public_links_use_the_configured_api_url(
    api: Api, pictured: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "environment":
        monkeypatch.setenv("CMS_PUBLIC_URL", "https://api.example.com/")
    else:
        settings = {"base_url": "https://site.example", "api_url": "https://api.example.com/"}
        assert api.json("PUT", "/v1/manage/settings", settings)["api_url"] == (
            "https://api.example.com"
        )
    for headers in ({}, *FORGED):
        links = _links_of(api, pictured, headers)
        assert all(link.startswith("https://api.example.com/v1/media/") for link in links[:-2])
        assert f'src="https://api.example.com/v1/media/{pictured}/files/' in links[-2]
        assert not any("evil" in link for link in links), headers


def test_the_api_url_setting_is_a_plain_base_url(api: Api) -> None:
    for bad in ("ftp://api.example.com", "https://u:p@api.example.com", "https://a.example/?x=1"):
        response = api.call("PUT", "/v1/manage/settings", {"api_url": bad})
        assert response.status_code == 422, bad
        problem(response)


@pytest.mark.local_only
@pytest.mark.parametrize("accept", [None, "application/json", "text/html"])
def test_media_files_are_served_to_clients_that_send_no_accept_header(
    api: Api, accept: str | None
) -> None:
    """Issue 12, case 8: urllib, Go's http client (Hugo's resources.GetRemote) send none."""
    media_id = upload(api, files.small_png())["id"]
    asset = api.json("GET", f"/v1/manage/media/{media_id}")
    names = [u.rsplit("/", 1)[1] for u in (asset["url"], *(v["url"] for v in asset["variants"]))]
    headers = {} if accept is None else {"Accept": accept}
    for name in names:
        response = api.call(
            "GET", f"/v1/media/{media_id}/files/{name}", headers=headers, auth=False
        )
        assert response.status_code == 200, (name, response.body[:200])
        assert response.headers["Content-Type"].startswith("image/"), name
        assert response.body[:4] in (b"\x89PNG", b"RIFF") or response.body[:2] == b"\xff\xd8"
    original = api.call(
        "GET", f"{BASE}/{media_id}/original", headers=headers
    )  # the editors' route too
    assert original.status_code == 200 and original.body == files.small_png()


# --- races between the API and the thumbnail handler ----------------------------------------


@pytest.fixture
def by_hand(container: wiring.Container) -> wiring.Container:
    """Events are delivered by the test, as Lambda would, at the moments it chooses."""
    container.drain = None
    return container


@pytest.fixture(params=["local", "aws"])
def either(request: pytest.FixtureRequest) -> wiring.Container:
    """Both backends (the races run through each index's conditional writes), events
    delivered by hand."""
    container: wiring.Container = request.getfixturevalue(f"{request.param}_container")
    container.drain = None
    return container


def test_deleting_an_asset_while_its_variants_are_made_leaves_nothing_behind(
    either: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, settings = either.backend, either.limits.media
    media_id = media_service.upload(
        backend, settings, files.jpeg(800, 600), content_type="image/jpeg", filename=None, edits={}
    ).id
    real = images.make_variants

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> Any:
        made = real(*args, **kwargs)
        media_service.delete(backend, media_id, if_match=None)  # the editor deletes it now
        return made

    monkeypatch.setattr(images, "make_variants", deleted_meanwhile)
    thumbnails.on_media_object(backend, settings, created(media_id, "0A"))
    assert backend.media.get_media(media_id) is None
    assert keys(either, media_id) == []  # no variant of a deleted image stays public
    monkeypatch.undo()
    for event in (removed(media_id, "0B"), removed(media_id, "0C", m.META)):
        thumbnails.on_media_object(backend, settings, event)
    assert backend.media.get_media(media_id) is None


def test_variants_left_by_a_handler_that_lost_the_race_with_a_delete_are_removed(
    api: Api, by_hand: wiring.Container
) -> None:
    """The removal event cleans up what a slower handler wrote after the delete."""
    backend, settings = by_hand.backend, by_hand.limits.media
    media_id = upload(api, files.small_png())["id"]
    media_service.delete(backend, media_id, if_match=None)
    backend.objects.put(m.object_key(media_id, "100.webp"), b"RIFF", content_type="image/webp")
    backend.objects.put(m.object_key(media_id, m.MANIFEST), b"{}", content_type="application/json")
    thumbnails.on_media_object(backend, settings, removed(media_id, "0B"))
    assert keys(by_hand, media_id) == []
    assert backend.media.get_media(media_id) is None


def test_an_original_replaced_while_processing_never_leaves_the_old_pixels(
    either: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two handlers run at once (SQS delivers concurrently): the one for the newer original
    finishes first, then the older one writes its variants over the newer ones."""
    backend, settings = either.backend, either.limits.media
    key = m.object_key("swap", m.ORIGINAL)
    backend.objects.put(key, solid_png((255, 0, 0)), content_type="image/png")
    real = images.make_variants
    calls: list[int] = []

    def replaced_meanwhile(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        made = real(*args, **kwargs)
        if len(calls) == 1:
            backend.objects.put(key, solid_png((0, 0, 255)), content_type="image/png")
            thumbnails.on_media_object(backend, settings, created("swap", "0B"))
        return made

    monkeypatch.setattr(images, "make_variants", replaced_meanwhile)
    thumbnails.on_media_object(backend, settings, created("swap", "0A"))
    record = backend.media.get_media("swap")
    assert record is not None and record.status == "ready"
    current = backend.objects.head(key)
    assert current is not None and record.derived.source_etag == current.etag
    for variant in record.derived.variants:
        data = backend.objects.get(m.object_key("swap", variant.name)).data
        pixel = Image.open(io.BytesIO(data)).convert("RGB").getpixel((50, 30))
        assert pixel[2] > 200 and pixel[0] < 50, (variant.name, pixel)  # blue, not red
    manifest = json.loads(backend.objects.get(m.object_key("swap", m.MANIFEST)).data)
    assert manifest["source_etag"] == current.etag


def test_cleaning_up_after_a_removed_original_never_deletes_a_new_one(
    api: Api, by_hand: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removal event saw no original; a new upload lands before it lists the files."""
    backend, settings = by_hand.backend, by_hand.limits.media
    media_id = upload(api, files.small_png())["id"]
    original = m.object_key(media_id, m.ORIGINAL)
    real_head = backend.objects.head
    seen: list[str] = []

    def head(key: str) -> Any:
        if key == original and not seen:
            seen.append(key)
            return None  # the original was gone at this moment ...
        return real_head(key)  # ... and is back (re-uploaded) a moment later

    monkeypatch.setattr(backend.objects, "head", head)
    thumbnails.on_media_object(backend, settings, removed(media_id, "0B"))
    monkeypatch.undo()
    assert backend.objects.head(original) is not None
    assert backend.objects.head(m.object_key(media_id, m.META)) is not None


def test_patch_builds_on_the_metadata_in_the_bucket_not_a_lagging_index(
    api: Api, by_hand: wiring.Container
) -> None:
    """meta.json is the source of truth: a change to it whose event has not been handled yet
    (another editor's write a moment ago, or a tool) is not reverted by the next PATCH."""
    backend = by_hand.backend
    media_id = upload(api, files.small_png(), query="?alt=One")["id"]
    key = m.object_key(media_id, m.META)
    stored = json.loads(backend.objects.get(key).data)
    backend.objects.put(
        key,
        json.dumps({**stored, "caption": "Written by a tool"}).encode(),
        content_type="application/json",
    )
    edited = api.json("PATCH", f"{BASE}/{media_id}", {"tags": ["x"]})
    assert edited["caption"] == "Written by a tool"
    assert edited["alt"] == "One" and edited["tags"] == ["x"]
    assert json.loads(backend.objects.get(key).data)["caption"] == "Written by a tool"


# --- the thumbnail handler --------------------------------------------------------------------


def test_a_redrive_reprocesses_a_dead_lettered_original_whose_event_had_an_etag(
    by_hand: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 events carry the ETag; the failure recorded from the dead letter must not make the
    redrive of that same event look like a duplicate of a finished one."""
    backend = by_hand.backend
    info = backend.objects.put("media/flaky/original", files.small_png(), content_type="image/png")

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(thumbnails, "derive", broken)
    for receives in (1, 3):
        with pytest.raises(RuntimeError):
            event_handlers.thumbnails(_sqs_event("media/flaky/original", receives, info.etag), None)
    record = backend.media.get_media("flaky")
    assert record is not None and record.status == "failed"
    monkeypatch.undo()
    event_handlers.thumbnails(_sqs_event("media/flaky/original", 1, info.etag), None)
    fixed = backend.media.get_media("flaky")
    assert fixed is not None and fixed.status == "ready", fixed.derived.error


def test_a_storage_fault_while_writing_variants_is_retried_not_blamed_on_the_file(
    by_hand: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, settings = by_hand.backend, by_hand.limits.media
    backend.objects.put("media/disk/original", files.small_png(), content_type="image/png")
    real_put = backend.objects.put

    def disk_full(key: str, *args: Any, **kwargs: Any) -> Any:
        if key.endswith(".webp"):
            raise OSError(28, "No space left on device")
        return real_put(key, *args, **kwargs)

    monkeypatch.setattr(backend.objects, "put", disk_full)
    with pytest.raises(OSError):
        thumbnails.on_media_object(backend, settings, created("disk", "0A"))
    monkeypatch.undo()
    thumbnails.on_media_object(backend, settings, created("disk", "0A"))  # the retry
    record = backend.media.get_media("disk")
    assert record is not None and record.status == "ready", record.derived.error


def test_deeply_nested_metadata_is_recorded_not_crash_looped(by_hand: wiring.Container) -> None:
    backend, settings = by_hand.backend, by_hand.limits.media
    key = m.object_key("deep", m.META)
    backend.objects.put(key, b"[" * 200_000 + b"]" * 200_000, content_type="application/json")
    thumbnails.on_media_object(backend, settings, created("deep", "0A", m.META))
    errors = {e.key: e.error for e in backend.index.list_object_errors()}
    assert key in errors and "Invalid media metadata" in errors[key]


def test_a_tall_image_gets_variants_past_the_webp_size_limit(by_hand: wiring.Container) -> None:
    """WebP stops at 16383 pixels a side; a long screenshot (600 x 17000) is still an image
    sites can show: its fallback variants are made, and WebP where it fits."""
    backend, settings = by_hand.backend, by_hand.limits.media
    data = files.save(Image.new("RGB", (600, 17_000), (20, 90, 160)), "PNG")
    backend.objects.put("media/tall/original", data, content_type="image/png")
    thumbnails.on_media_object(backend, settings, created("tall", "0A"))
    record = backend.media.get_media("tall")
    assert record is not None and record.status == "ready", record.derived.error
    names = {v.name for v in record.derived.variants}
    assert {"320.png", "600.png", "320.webp"} <= names and "600.webp" not in names
    from chalicelib.domain.media_html import Responsive

    pieces = Responsive.of(record)
    assert pieces is not None and pieces.webp == []  # a WebP set must cover every width


def test_a_file_original_is_served_as_its_sniffed_type_not_its_stored_one(
    api: Api, container: wiring.Container
) -> None:
    """A PDF dropped into the bucket as text/html (its bytes may hold markup past the first
    KB) must not be served to a browser as HTML from this API's origin."""
    backend = container.backend
    pdf = files.PDF + b"%" * 2000 + b"\n%<html><script>alert(document.domain)</script></html>\n"
    backend.objects.put("media/dropped-pdf/original", pdf, content_type="text/html")
    container.process_events()
    record = backend.media.get_media("dropped-pdf")
    assert record is not None and record.status == "ready", record
    response = api.call(
        "GET", "/v1/media/dropped-pdf/files/original", headers={"Accept": "*/*"}, auth=False
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"


def test_an_entry_may_name_more_media_than_sqlite_takes_variables(
    api: Api, container: wiring.Container
) -> None:
    """512 KB of Markdown holds ~36,000 distinct references; many SQLite builds allow 32,766
    variables in a statement (older ones 999)."""
    import sqlite3

    media_id = upload(api, files.small_png())["id"]
    media_index: Any = container.backend.media
    media_index._db.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    wanted = [f"m{i}" for i in range(1500)] + [media_id]
    assert set(container.backend.media.get_media_many(wanted)) == {media_id}
    body = " ".join(f"![](media:m{i})" for i in range(1200))
    api.collection()
    warnings = api.entry(body=body, title="Many")["media_warnings"]
    assert len(warnings) == 1200
