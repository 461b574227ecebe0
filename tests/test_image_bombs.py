"""Decompression bombs in every container format an upload can be: refused from their headers
at upload and in the thumbnail handler, before Pillow opens anything; real files of each
format still pass; cut or garbled headers are refused cleanly and quickly; TIFF is refused
as unsupported, so Pillow never reads one."""

from __future__ import annotations

import json
import random
import struct
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from chalicelib.domain import image_headers, images
from chalicelib.domain.errors import UnsupportedMediaType, ValidationFailed
from chalicelib.domain.image_headers import MAX_FRAMES, MAX_STEPS, FrameOutsideCanvas
from chalicelib.domain.media import MediaSettings
from chalicelib.domain.media_types import (
    AVIF,
    GIF,
    JPEG,
    PNG,
    WEBP,
    MediaType,
    PixelLimitExceeded,
    check_pixels,
    image_size,
    sniff,
)
from tests import media_files as files
from tests.conftest import Api

LIMIT = MediaSettings().max_pixels
BASE = "/v1/manage/media"


@pytest.fixture
def no_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Image.open fails the test: what the headers refuse never reaches Pillow."""

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Pillow opened a file its headers should have refused")

    monkeypatch.setattr(Image, "open", never)


def refusal(data: bytes, kind: MediaType, max_pixels: int = LIMIT) -> ValidationFailed:
    """The refusal at upload (image_size, check_pixels) and in the thumbnail handler
    (open_checked): the same message in both."""
    with pytest.raises(ValidationFailed) as raised:
        check_pixels(image_size(data, kind), max_pixels)
    with pytest.raises(images.ImageRejected) as rejected:
        images.open_checked(data, kind, max_pixels)
    assert str(rejected.value) == raised.value.detail
    return raised.value


# --- bombs -----------------------------------------------------------------------------------

BOMBS: dict[str, tuple[Callable[[], bytes], MediaType, str, int]] = {
    "png-ihdr": (lambda: files.png_bomb(8000, 8000), PNG, "8000 x 8000", 1_000_000),
    "apng-frame": (
        files.apng_frame_bomb,
        PNG,
        "APNG frame 2 is 100000 x 100000 at (0, 0), outside its 32 x 32 canvas",
        LIMIT,
    ),
    "apng-first-frame": (
        lambda: files.apng_frame_bomb(nth=0),
        PNG,
        "APNG frame 1 is 100000 x 100000",
        LIMIT,
    ),
    "apng-offset": (
        lambda: files.apng_frame_bomb((16, 16), (2**31, 0)),
        PNG,
        "16 x 16 at (2147483648, 0), outside its 32 x 32 canvas",
        LIMIT,
    ),
    "apng-frame-count": (
        lambda: files.apng_claiming_frames(2**31),
        PNG,
        f"more than {MAX_FRAMES:,} frames",
        LIMIT,
    ),
    "png-second-ihdr": (files.png_with_second_ihdr, PNG, "second IHDR", LIMIT),
    "jpeg-second-sof": (files.jpeg_with_second_sof, JPEG, "9000 x 9000", LIMIT),
    "gif-frame": (files.gif_frame_bomb, GIF, "65535 x 65535", LIMIT),
    "webp-canvas": (files.webp_canvas_bomb, WEBP, "100000 x 100000", LIMIT),
    "webp-frame": (
        files.webp_frame_bomb,
        WEBP,
        "WebP frame 2 is 100000 x 100000 at (0, 0), outside its 120 x 90 canvas",
        LIMIT,
    ),
    "webp-offset": (
        lambda: files.webp_frame_bomb((10, 10), (200, 0)),
        WEBP,
        "10 x 10 at (200, 0), outside its 120 x 90 canvas",
        LIMIT,
    ),
    "webp-bitstream": (files.webp_bitstream_bomb, WEBP, "16383 x 16383 at", LIMIT),
    "webp-vp8l": (files.webp_lossless_bomb, WEBP, "16384 x 16384", LIMIT),
    "avif-ispe": (files.avif_ispe_bomb, AVIF, "100000 x 100000", LIMIT),
    "avif-ispe-under-pillow-limit": (
        lambda: files.avif_ispe_bomb((10_000, 10_000)),
        AVIF,
        "10000 x 10000",
        LIMIT,
    ),
    "avif-track": (files.avif_track_bomb, AVIF, "65535 x 65535", LIMIT),
    "avif-payload": (files.avif_hiding_its_payload, AVIF, "2000 x 1500", 1_000_000),
}


@pytest.mark.parametrize("name", BOMBS)
@pytest.mark.usefixtures("no_pillow")
def test_every_bomb_is_refused_from_its_headers(name: str) -> None:
    maker, kind, message, max_pixels = BOMBS[name]
    data = maker()
    assert sniff(data) is kind
    error = refusal(data, kind, max_pixels)
    assert message in error.detail
    assert error.status == 422


def test_frame_bombs_say_which_frame() -> None:
    error = refusal(files.apng_frame_bomb(), PNG)
    assert isinstance(error, FrameOutsideCanvas)
    assert error.extra["frame"] == 2 and error.extra["width"] == 100_000
    assert "decompression bomb" in error.detail
    assert isinstance(refusal(files.avif_ispe_bomb(), AVIF), PixelLimitExceeded)


def test_these_bombs_get_past_pillows_own_checks() -> None:
    """Without the header checks, Pillow opens each of these at a harmless size or under
    its own limit: the frames, the second SOF or the AV1 payload come later."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert files.opened_size(files.apng_frame_bomb()) == (32, 32)
        assert files.opened_size(files.jpeg_with_second_sof()) == (9000, 9000)
        assert files.opened_size(files.avif_ispe_bomb((10_000, 10_000))) == (10_000, 10_000)
        assert files.opened_size(files.avif_hiding_its_payload()) == (80, 60)


# --- real files ------------------------------------------------------------------------------

GOOD: dict[str, tuple[Callable[[], bytes], MediaType, tuple[int, int], int]] = {
    "png": (files.small_png, PNG, (100, 60), 1),
    "apng": (files.animated_png, PNG, (120, 90), 3),
    "jpeg-progressive": (lambda: files.jpeg(641, 479, progressive=True), JPEG, (641, 479), 1),
    "jpeg-exif": (files.rotated_photo_with_gps, JPEG, (800, 1200), 1),
    "gif": (files.animated_gif, GIF, (400, 300), 4),
    "webp-lossy": (lambda: files.save(files.photo(333, 222), "WEBP"), WEBP, (333, 222), 1),
    "webp-lossless": (
        lambda: files.save(files.photo(333, 222), "WEBP", lossless=True),
        WEBP,
        (333, 222),
        1,
    ),
    "webp-alpha-icc": (files.webp_with_alpha, WEBP, (300, 200), 1),
    "webp-animated": (files.animated_webp_moving, WEBP, (120, 90), 3),
    "webp-animated-lossless": (
        lambda: files.animated_webp_moving(lossless=True),
        WEBP,
        (120, 90),
        3,
    ),
    "avif": (lambda: files.avif(320, 240), AVIF, (320, 240), 1),
    "avif-alpha": (files.avif_with_alpha, AVIF, (160, 120), 1),
    "avif-animated": (files.animated_avif, AVIF, (120, 90), 3),
}


@pytest.mark.parametrize("name", GOOD)
def test_real_files_of_every_format_pass(name: str) -> None:
    maker, kind, size, frames = GOOD[name]
    data = maker()
    assert sniff(data) is kind
    assert image_size(data, kind) == size
    check_pixels(image_size(data, kind), LIMIT)
    image = images.open_checked(data, kind, LIMIT)
    try:
        assert image.size == size and getattr(image, "n_frames", 1) == frames
    finally:
        image.close()


@pytest.mark.parametrize("name", ["apng", "webp-animated", "avif-animated", "avif-alpha"])
def test_real_animations_and_alpha_still_get_their_variants(name: str) -> None:
    maker, kind, size, frames = GOOD[name]
    result = images.make_variants(maker(), kind, MediaSettings())
    assert (result.width, result.height) == size
    assert result.frames == frames


# --- cut and garbled headers -----------------------------------------------------------------

SAMPLES: list[tuple[str, Callable[[], bytes], MediaType]] = [
    *((name, maker, kind) for name, (maker, kind, *_) in GOOD.items()),
    *((name, maker, kind) for name, (maker, kind, *_) in BOMBS.items()),
]


def readable_or_refused(data: bytes, kind: MediaType) -> None:
    try:
        size = image_size(data, kind)
    except ValidationFailed:
        return
    assert size is None or (len(size) == 2 and all(isinstance(side, int) for side in size))


@pytest.mark.parametrize(("name", "maker", "kind"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_cut_and_garbled_headers_are_refused_cleanly(
    name: str, maker: Callable[[], bytes], kind: MediaType
) -> None:
    """Every cut of the first kilobyte (then every 97th byte) and a few hundred random byte
    changes: a size or a ValidationFailed, never another exception."""
    data = maker()
    for end in [*range(min(len(data), 1024)), *range(1024, len(data), 97)]:
        readable_or_refused(data[:end], kind)
    rng = random.Random(name)
    for _ in range(300):
        garbled = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            garbled[rng.randrange(min(len(data), 2048))] = rng.randrange(256)
        readable_or_refused(bytes(garbled), kind)


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, PNG, "IHDR header is missing"),
        (files.small_png()[:30], PNG, "IHDR header is missing or cut short"),
        (files.animated_png()[:70], PNG, "fcTL chunk is cut short"),
        (b"GIF89a\x20\x00", GIF, "logical screen descriptor is cut short"),
        (b"RIFF\x00\x00\x00\x00WEBPJUNK\x04\x00\x00\x00abcd", WEBP, "not a VP8 or VP8L header"),
        (b"RIFF\x00\x00\x00\x00WEBP", WEBP, "not a VP8 or VP8L header"),
        (files.animated_webp_moving()[:26], WEBP, "VP8X header is cut short"),
        (files.animated_webp_moving()[:52], WEBP, "ANMF frame header is cut short"),
        (files.iso_box(b"ftyp", b"avif\x00\x00\x00\x00avif"), AVIF, "no ispe or tkhd"),
        (files.iso_box(b"ftyp", b"avif") + b"\x00\x00\x00\x04meta", AVIF, "smaller than its"),
        (files.avif_without_sequence_header(), AVIF, "no sequence header"),
        (files.avif_without_item_location(), AVIF, "cannot be located"),
    ],
)
def test_unreadable_headers_say_why(data: bytes, kind: MediaType, message: str) -> None:
    with pytest.raises(ValidationFailed, match="not a readable") as raised:
        image_size(data, kind)
    assert message in raised.value.detail
    assert raised.value.status == 422


def test_a_padded_ihdr_cannot_hide_a_second_one() -> None:
    """IHDR declaring 25 bytes: Pillow reads them (and takes a later IHDR's size) while a walk
    that assumed 13 would read the padding as a chunk and stop before the second IHDR."""
    small = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)
    huge = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
    padding = b"\xff\xff\xff\xf0" + b"\x00" * 8  # looks like a chunk ~4 GB long
    data = (
        b"\x89PNG\r\n\x1a\n"
        + files.png_chunk(b"IHDR", small + padding)
        + files.png_chunk(b"IHDR", huge)
        + files.png_chunk(b"IEND", b"")
    )
    with pytest.raises(ValidationFailed, match="not 13 bytes long"):
        image_size(data, PNG)


# --- bounded walks ---------------------------------------------------------------------------


def quickly_refused(data: bytes, kind: MediaType, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as raised:
        image_size(data, kind)
    assert message in raised.value.detail
    assert time.perf_counter() - started < 2.0


def test_a_flood_of_chunks_or_boxes_stops_the_walk_quickly() -> None:
    too_many = f"more than {MAX_STEPS:,}"
    quickly_refused(files.png_with_chunks(MAX_STEPS + 1), PNG, too_many)
    quickly_refused(files.webp_with_chunks(MAX_STEPS + 1), WEBP, too_many)
    quickly_refused(files.avif_with_boxes(MAX_STEPS + 1), AVIF, too_many)
    quickly_refused(b"\xff\xd8\xff" + b"\xd0\xff" * (MAX_STEPS + 1), JPEG, too_many)


def test_deeply_nested_boxes_do_not_recurse() -> None:
    nested = b""
    for _ in range(5_000):
        nested = files.iso_box(b"meta", b"\x00\x00\x00\x00" + nested)
    quickly_refused(files.iso_box(b"ftyp", b"avif") + nested, AVIF, "no ispe or tkhd")


def test_frame_counts_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_headers, "MAX_FRAMES", 2)
    for data, kind in ((files.animated_png(3), PNG), (files.animated_webp_moving(3), WEBP)):
        with pytest.raises(ValidationFailed, match="more than 2 frames"):
            image_size(data, kind)
    assert image_size(files.animated_png(2), PNG) == (120, 90)


# --- TIFF: not an upload format, so Pillow never reads one --------------------------------------

TIFFS = {
    "little-endian": lambda: files.tiff_bomb(),
    "big-endian": lambda: files.tiff_bomb(byte_order=">"),
    "bigtiff": lambda: files.tiff_bomb(big=True),
    "bigtiff-big-endian": lambda: files.tiff_bomb(byte_order=">", big=True),
    "looping-ifds": lambda: files.tiff_bomb((10, 10), loop=True),
    "real-multipage": files.multipage_tiff,
}


@pytest.mark.parametrize("name", TIFFS)
def test_tiff_is_refused_as_unsupported_before_any_header_is_read(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsupportedMediaType, match="not a supported type"):
        sniff(TIFFS[name](), "image/tiff")
    assert time.perf_counter() - started < 0.5


def test_the_tiff_bombs_are_bombs_to_pillow() -> None:
    """Pillow 12 reads BigTIFF in little-endian order only (it looks for 43 in the third
    byte), so the big-endian BigTIFF is left out here."""
    for name in ("little-endian", "big-endian", "bigtiff"):
        with pytest.raises(Image.DecompressionBombError):
            files.opened_size(TIFFS[name]())


@pytest.mark.parametrize("kind", [JPEG, PNG, GIF, WEBP, AVIF], ids=lambda k: k.format)
def test_a_tiff_given_as_another_kind_never_reaches_pillows_tiff_reader(
    kind: MediaType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import TiffImagePlugin

    def never(self: Any) -> None:
        raise AssertionError("Pillow read a TIFF")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_open", never)
    for make in TIFFS.values():
        with pytest.raises(images.ImageRejected):
            images.open_checked(make(), kind, LIMIT)


# --- through the API -------------------------------------------------------------------------


def test_a_real_animated_png_upload_is_accepted(api: Api) -> None:
    response = api.call("POST", BASE, files.animated_png(), headers={"Content-Type": "image/png"})
    assert response.status_code == 201, response.body
    created = json.loads(response.body)
    assert api.json("GET", f"{BASE}/{created['id']}")["status"] == "ready"
