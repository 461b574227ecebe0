"""Variants made with real Pillow on real files: orientation, metadata, widths, formats,
animation, and every kind of bad file refused with a reason."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from chalicelib.domain import images
from chalicelib.domain.media import MediaSettings
from chalicelib.domain.media_types import AVIF, GIF, JPEG, PNG, WEBP, sniff
from tests import media_files as files

SETTINGS = MediaSettings()


def opened(data: bytes) -> Any:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_photo_gets_webp_and_jpeg_at_every_default_width() -> None:
    result = images.make_variants(files.jpeg(2400, 1600), JPEG, SETTINGS)
    assert (result.width, result.height) == (2400, 1600)
    names = sorted(v.name for v in result.variants)
    assert names == sorted(f"{w}.{f}" for w in (320, 640, 1280, 1920) for f in ("webp", "jpg"))
    for variant in result.variants:
        image = opened(result.files[variant.name])
        assert image.size == (variant.width, variant.height)
        assert image.format == {"webp": "WEBP", "jpg": "JPEG"}[variant.format]
        assert variant.height == round(1600 * variant.width / 2400)
        assert variant.bytes == len(result.files[variant.name])
    assert result.placeholder.startswith("data:image/webp;base64,")
    assert len(result.placeholder) < 400
    assert result.dominant_color.startswith("#") and len(result.dominant_color) == 7


def test_never_upscaled_and_a_small_image_keeps_its_own_width() -> None:
    assert images.variant_widths(1000, (320, 640, 1280, 1920)) == [320, 640, 1000]
    assert images.variant_widths(100, (320, 640)) == [100]
    assert images.variant_widths(1920, (320, 1920)) == [320, 1920]
    assert images.variant_widths(5000, (320, 1920)) == [320, 1920]
    result = images.make_variants(files.small_png(100, 60), PNG, SETTINGS)
    assert sorted(v.name for v in result.variants) == ["100.png", "100.webp"]


def test_exif_orientation_is_applied_and_no_variant_keeps_metadata() -> None:
    data = files.rotated_photo_with_gps()
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(files.GPS_IFD)  # the original really has GPS
    result = images.make_variants(data, JPEG, SETTINGS)
    assert (result.width, result.height) == (1200, 800)  # shown landscape
    for variant in result.variants:
        image = opened(result.files[variant.name])
        assert variant.width > variant.height
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
        assert b"CameraMaker" not in result.files[variant.name]
        # Stored top-left red turns to the top-right after a 90° clockwise rotation.
        right = image.convert("RGB").getpixel((variant.width - 5, 5))
        left = image.convert("RGB").getpixel((5, 5))
        assert right[0] > 200 and right[1] < 60, (variant.name, right)
        assert left != right


def test_jpeg_is_decoded_at_a_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    data = files.jpeg(6000, 4000)
    seen: list[tuple[int, int]] = []
    original = Image.Image.resize

    def spy(self: Any, size: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(self.size)
        return original(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    images.make_variants(data, JPEG, SETTINGS)
    assert seen[0] == (3000, 2000)  # draft picked 1/2: still wider than 1920
    assert max(w * h for w, h in seen) < 6000 * 4000 / 3


def test_transparency_keeps_a_png_fallback_and_alpha() -> None:
    result = images.make_variants(files.png_with_alpha(), PNG, SETTINGS)
    formats = {v.format for v in result.variants}
    assert formats == {"webp", "png"}
    webp = opened(result.files["640.webp"])
    assert webp.mode == "RGBA"
    assert webp.getpixel((0, 0))[3] == 0


def test_webp_and_avif_without_alpha_fall_back_to_jpeg() -> None:
    for data, kind in ((files.save(files.photo(900, 600), "WEBP"), WEBP), (files.avif(), AVIF)):
        result = images.make_variants(data, kind, SETTINGS)
        assert {v.format for v in result.variants} == {"webp", "jpg"}


@pytest.mark.parametrize(
    ("maker", "kind", "frames"), [(files.animated_gif, GIF, 4), (files.animated_webp, WEBP, 3)]
)
def test_animated_images_use_the_first_frame(maker: Any, kind: Any, frames: int) -> None:
    result = images.make_variants(maker(), kind, SETTINGS)
    assert result.animated and result.frames == frames
    for variant in result.variants:
        image = Image.open(io.BytesIO(result.files[variant.name]))
        assert getattr(image, "n_frames", 1) == 1
    first = opened(result.files[result.variants[0].name]).convert("RGB").getpixel((10, 10))
    if kind is WEBP:
        assert first[0] > 200 and first[1] < 50  # the red first frame


def test_an_icc_profile_is_converted_to_srgb_then_dropped() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = files.photo(700, 500)
    for icc in (profile, srgb, b"not a profile"):
        data = files.save(image, "JPEG", icc_profile=icc)
        result = images.make_variants(data, JPEG, SETTINGS)
        assert "icc_profile" not in opened(result.files["640.jpg"]).info


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (files.png_bomb(), PNG, "decompression bomb"),
        (files.png_bomb(8000, 8000), PNG, "over the limit"),
        (files.truncated_jpeg(), JPEG, "could not be decoded"),
        (files.corrupt_png(), PNG, "could not be decoded"),
        (files.header_only_jpeg(), JPEG, "not a readable JPEG"),
        (files.small_png(), JPEG, "not a readable JPEG"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(data: bytes, kind: Any, message: str) -> None:
    with pytest.raises(images.ImageRejected, match=message):
        images.make_variants(data, kind, SETTINGS)


def test_the_pixel_cap_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(self: Any) -> None:
        raise AssertionError("decoded a refused image")

    monkeypatch.setattr(Image.Image, "load", never)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    with pytest.raises(images.ImageRejected, match="over the limit"):
        images.make_variants(files.png_bomb(8000, 8000), PNG, MediaSettings(max_pixels=1_000_000))
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's own guard is kept


def test_sniffed_kind_and_pillow_agree_on_every_sample() -> None:
    for data in (
        files.jpeg(),
        files.small_png(),
        files.animated_gif(),
        files.animated_webp(),
        files.avif(),
    ):
        kind = sniff(data)
        images.open_checked(data, kind, SETTINGS.max_pixels).close()


def test_no_comment_or_profile_and_the_asked_quality_in_every_variant() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    jpeg = files.save(files.photo(2000, 1400), "JPEG", comment=b"secret note", icc_profile=srgb)
    png = files.save(files.photo(900, 600), "PNG", icc_profile=srgb)
    for data, kind in ((jpeg, JPEG), (png, PNG)):
        result = images.make_variants(data, kind, SETTINGS)
        for name, encoded in result.files.items():
            assert b"secret note" not in encoded, name
            assert "icc_profile" not in opened(encoded).info, name
    reference = files.save(opened(result.files["320.png"]).convert("RGB"), "JPEG", quality=82)
    expected = opened(reference).quantization
    for name, encoded in images.make_variants(jpeg, JPEG, SETTINGS).files.items():
        if name.endswith(".jpg"):
            assert opened(encoded).quantization == expected, name  # q82, never another's


def test_the_decoded_frame_is_not_copied_for_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageOps

    calls: list[str] = []
    original = ImageOps.exif_transpose

    def spy(image: Any, **kwargs: Any) -> Any:
        calls.append("transpose")
        return original(image, **kwargs)

    monkeypatch.setattr(ImageOps, "exif_transpose", spy)
    images.make_variants(files.jpeg(1000, 800), JPEG, SETTINGS)
    assert calls == []  # orientation 1: nothing to turn
    images.make_variants(files.rotated_photo_with_gps(), JPEG, SETTINGS)
    assert calls == ["transpose"]
