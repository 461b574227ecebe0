"""Media rules without I/O: ids, keys, sniffing, header sizes, edits, and which write wins."""

from __future__ import annotations

import time

import pytest

from chalicelib.domain import media as m
from chalicelib.domain.errors import UnsupportedMediaType, ValidationFailed
from chalicelib.domain.media_types import (
    AVIF,
    GIF,
    JPEG,
    PDF,
    PNG,
    WEBP,
    PixelLimitExceeded,
    check_pixels,
    image_size,
    sniff,
)
from tests import media_files as files


def test_new_ids_are_valid_unique_and_sort_by_creation_time() -> None:
    first = m.new_media_id(1_000)
    later = m.new_media_id(2_000)
    assert len(first) == 26 and m.MEDIA_ID_RE.fullmatch(first)
    assert later > first
    assert len({m.new_media_id() for _ in range(1000)}) == 1000
    now = m.new_media_id(int(time.time() * 1000))
    assert now > later


@pytest.mark.parametrize("bad", ["", "A", "../x", "a/b", "a b", "-a", "a-", "x" * 65, "a\x00"])
def test_bad_media_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        m.validate_media_id(bad)


def test_keys_parse_back_and_refuse_other_shapes() -> None:
    assert m.parse_key(m.object_key("abc", "original")) == ("abc", "original")
    assert m.parse_key("media/abc/640.webp") == ("abc", "640.webp")
    for key in ("media/abc", "media/ABC/original", "media/a/b/c", "content/a.md", "media//x"):
        assert m.parse_key(key) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("C:\\Users\\me\\Desktop\\photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ('a"b\x00c\n.png', "abc.png"),
        ("", "upload"),
        (None, "upload"),
        ("...", "upload"),
        ("Ünïcode café.png", "Ünïcode café.png"),
        ("x" * 300 + ".jpeg", "x" * 250 + ".jpeg"),
    ],
)
def test_filenames_are_cleaned(raw: str | None, expected: str) -> None:
    assert m.clean_filename(raw) == expected


def test_content_disposition_keeps_the_exact_name_and_an_ascii_fallback() -> None:
    header = m.content_disposition('Ünï "x".pdf')
    assert header.startswith('inline; filename="_n_ _x_.pdf"')
    assert "filename*=UTF-8''%C3%9Cn%C3%AF%20%22x%22.pdf" in header


def test_edits_are_validated_and_normalized() -> None:
    edits = m.validate_edits(
        {"alt": "  A cat ", "tags": "Cats, Animals,cats", "focal_point": {"x": 0, "y": 1}},
        partial=False,
    )
    assert edits == {"alt": "A cat", "tags": ["cats", "animals"], "focal_point": m.FocalPoint(0, 1)}
    for bad in (
        {"focal_point": {"x": 2, "y": 0}},
        {"focal_point": {"x": True, "y": 0}},
        {"focal_point": [0.5, 0.5]},
        {"tags": [1]},
        {"tags": [f"t{i}" for i in range(21)]},
        {"alt": 5},
        {"alt": "x" * 1001},
        {"width": 3},
    ):
        with pytest.raises(ValidationFailed):
            m.validate_edits(bad, partial=False)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (files.jpeg(), JPEG),
        (files.small_png(), PNG),
        (files.animated_gif(), GIF),
        (files.animated_webp(), WEBP),
        (files.avif(), AVIF),
        (files.PDF, PDF),
    ],
)
def test_types_are_sniffed_from_the_bytes(data: bytes, kind: object) -> None:
    assert sniff(data) is kind
    assert sniff(data, "application/octet-stream") is kind
    assert sniff(data, f"{sniff(data).content_type}; charset=binary") is kind


def test_a_declared_type_that_lies_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        sniff(files.jpeg(), "image/png")
    assert raised.value.extra == {"declared": "image/png", "detected": "image/jpeg"}
    with pytest.raises(UnsupportedMediaType):
        sniff(files.PDF, "image/jpeg")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (files.SVG, "SVG is refused"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG is refused"),
        (b"GIF8", "not a supported type"),
        (b"hello world", "not a supported type"),
        (files.jpeg_with_zip(), "ZIP archive"),
        (files.png_with_html(), "HTML or script"),
        (files.png_with_trailer(), "after the end of the PNG"),
        (files.jpeg(200, 100) + b"%PDF-1.4", None),  # a PDF header past 1 KiB: not read as PDF
        (b"\xff\xd8\xff\xe0" + b"%PDF-1.7" + b"\x00" * 100, "PDF header"),
    ],
)
def test_refused_and_polyglot_files(data: bytes, reason: str | None) -> None:
    if reason is None:
        assert sniff(data) is JPEG
        return
    with pytest.raises(UnsupportedMediaType) as raised:
        sniff(data)
    assert reason in raised.value.detail


def test_an_empty_file_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        sniff(b"")


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (files.jpeg(640, 480), JPEG, (640, 480)),
        (files.jpeg(641, 479, progressive=True), JPEG, (641, 479)),
        (files.small_png(123, 45), PNG, (123, 45)),
        (files.animated_gif(), GIF, (400, 300)),
        (files.animated_webp(), WEBP, (500, 400)),
        (files.save(files.photo(333, 222), "WEBP", lossless=True), WEBP, (333, 222)),
        (files.save(files.photo(333, 222), "WEBP", quality=50), WEBP, (333, 222)),
        (files.png_bomb(40_000, 40_000), PNG, (40_000, 40_000)),
        (files.gif_frame_bomb(), GIF, (65_535, 65_535)),  # the frame, not the 32 x 32 screen
        (files.gif_frame_bomb((20, 10)), GIF, (32, 32)),
        (files.animated_gif()[:200], GIF, (400, 300)),  # cut short: what was read
        (files.avif(), AVIF, (800, 600)),  # its ispe box and the AV1 sequence header
    ],
)
def test_image_size_reads_headers_only(data: bytes, kind: object, size: object) -> None:
    assert image_size(data, kind) == size  # type: ignore[arg-type]


def test_pixel_cap_is_checked_from_the_header() -> None:
    bomb = files.png_bomb()
    assert len(bomb) < 2_000_000
    with pytest.raises(PixelLimitExceeded) as raised:
        check_pixels(image_size(bomb, PNG), 50_000_000)
    assert raised.value.status == 422
    assert raised.value.extra["width"] == 40_000
    check_pixels((6000, 4000), 50_000_000)
    check_pixels(None, 1)
    with pytest.raises(ValidationFailed):
        check_pixels((0, 10), 100)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMS_MEDIA_WIDTHS", "800, 400,junk,0,99999")
    monkeypatch.setenv("CMS_MEDIA_MAX_PIXELS", "1000")
    monkeypatch.setenv("CMS_MEDIA_BASE_URL", "https://cdn.example.com/")
    monkeypatch.setenv("CMS_MEDIA_WEBP_QUALITY", "-3")
    settings = m.MediaSettings.from_env()
    assert settings.widths == (400, 800)
    assert settings.max_pixels == 1000
    assert settings.base_url == "https://cdn.example.com"
    assert settings.webp_quality == 80


# --- which write wins ------------------------------------------------------------------------

META = m.MediaMeta(id="a1", filename="a.jpg", alt="first")
READY = m.MediaDerived(status="ready", source_etag="e1")


def test_api_meta_writes_always_apply_and_events_only_when_newer() -> None:
    row = m.merge_meta(None, META, "0A")
    assert row is not None and row.meta_sequencer is not None
    newer = m.MediaMeta(id="a1", filename="a.jpg", alt="second")
    assert m.merge_meta(row, newer, "09") is None  # a late event
    assert m.merge_meta(row, newer, "0A") is None  # the same event again
    applied = m.merge_meta(row, newer, "0B")
    assert applied is not None and applied.meta.alt == "second"
    by_api = m.merge_meta(applied, META, None)
    assert by_api is not None and by_api.meta.alt == "first"
    assert by_api.meta_sequencer == applied.meta_sequencer


def test_api_staging_never_overwrites_what_an_event_derived() -> None:
    staged = m.merge_derived(None, "a1", m.MediaDerived(status="processing"), None)
    assert staged is not None and staged.status == "processing"
    done = m.merge_derived(staged, "a1", READY, "10")
    assert done is not None and done.status == "ready"
    assert m.merge_derived(done, "a1", m.MediaDerived(status="processing"), None) is None
    assert m.merge_derived(done, "a1", READY, "0F") is None
    assert m.merge_derived(done, "a1", READY, "10") is None


def test_a_failed_derivation_can_be_redriven_with_the_same_sequencer() -> None:
    failed = m.merge_derived(None, "a1", m.MediaDerived(status="failed", error="x"), "10")
    assert failed is not None
    again = m.merge_derived(failed, "a1", READY, "10")
    assert again is not None and again.status == "ready"


def test_records_round_trip_through_dicts() -> None:
    record = m.MediaRecord(
        meta=m.MediaMeta(id="a1", filename="a.jpg", focal_point=m.FocalPoint(0.2, 0.8)),
        derived=m.MediaDerived(
            status="ready", variants=[m.Variant(width=320, height=200, format="webp", bytes=9)]
        ),
        original_sequencer="0A",
    )
    assert m.MediaRecord.from_dict(record.to_dict()) == record
    assert record.derived.variants[0].name == "320.webp"
    assert record.derived.variants[0].content_type == "image/webp"
