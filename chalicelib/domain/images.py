"""Responsive variants of one image with Pillow, which is imported on first use only.

The pixel cap is checked on the header, before any decoding. A JPEG is decoded at the
smallest DCT scale that still covers the widest variant (``Image.draft``), each variant is
resized from the one before it (``reducing_gap``), and encoders run while the next size is
made. EXIF orientation is applied first; no variant carries EXIF, XMP, GPS or comments.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .errors import ValidationFailed
from .media import MediaSettings, Variant
from .media_types import MediaType, PixelLimitExceeded, check_pixels, image_size


class ImageRejected(Exception):
    """The bytes are not an image this CMS will process; the message says why."""


@dataclass
class ProcessedImage:
    width: int
    height: int
    animated: bool
    frames: int
    placeholder: str
    dominant_color: str
    variants: list[Variant]
    files: dict[str, bytes] = field(repr=False)


WEBP_MAX_SIDE = 16383
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _encoders() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            workers = max(1, min(4, os.cpu_count() or 1))
            _executor = ThreadPoolExecutor(workers, thread_name_prefix="encode")
    return _executor


def fallback_format(kind: MediaType, has_alpha: bool) -> str:
    """The non-WebP variant stays in the original's family: JPEG for photos, PNG for PNG and
    GIF (sharp edges, transparency) and for WebP/AVIF with transparency."""
    if kind.format in ("PNG", "GIF") or has_alpha:
        return "png"
    return "jpg"


def variant_widths(width: int, widths: tuple[int, ...]) -> list[int]:
    """The configured widths up to the image's own; never upscaled. An image narrower than
    every configured width gets one variant at its own width."""
    chosen = sorted({w for w in widths if w < width})
    if not chosen or max(widths) >= width:
        chosen.append(width)
    return sorted(set(chosen))


def _has_alpha(image: Any) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _to_srgb(image: Any, icc: bytes | None) -> Any:
    """Pixels in sRGB without an embedded profile (the profile is metadata we drop)."""
    if not icc:
        return image
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(image, source, target, outputMode=image.mode)
        return converted if converted is not None else image
    except Exception:  # a broken profile: keep the pixels as they are
        return image


def _encode(image: Any, fmt: str, settings: MediaSettings) -> bytes:
    out = io.BytesIO()
    if fmt == "webp":
        image.save(out, "WEBP", quality=settings.webp_quality, method=2)
    elif fmt == "jpg":
        image.save(out, "JPEG", quality=settings.jpeg_quality, progressive=True)
    else:
        image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _placeholder(image: Any) -> str:
    tiny = image.copy()
    tiny.thumbnail((16, 16))
    out = io.BytesIO()
    tiny.save(out, "WEBP", quality=40)
    return "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _dominant_color(image: Any) -> str:
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    palette = small.quantize(colors=5)
    counts = sorted(palette.getcolors() or [], reverse=True)
    if not counts:
        return "#000000"
    index = counts[0][1]
    colours = palette.getpalette() or []
    r, g, b = colours[index * 3 : index * 3 + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def open_checked(data: bytes, kind: MediaType, max_pixels: int) -> Any:
    """Open (headers only) and check the format and pixel count before decoding: the
    headers' own reading first (a GIF's frames may claim more than its screen), then
    Pillow's."""
    from PIL import Image, UnidentifiedImageError

    try:
        check_pixels(image_size(data, kind), max_pixels)
    except ValidationFailed as exc:
        raise ImageRejected(exc.detail) from exc
    try:
        image = Image.open(io.BytesIO(data), formats=[kind.format])
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"Refused as a decompression bomb: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"The file is not a readable {kind.format} image: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageRejected(str(PixelLimitExceeded(width, height, max_pixels)))
    return image


def _encode_both(image: Any, formats: tuple[str, ...], settings: MediaSettings) -> list[bytes]:
    """One task per width: two encoders never share an image (``save`` keeps its options
    on the image object)."""
    return [_encode(image, fmt, settings) for fmt in formats]


def _resize_and_encode(
    frame: Any,
    icc: bytes | None,
    widths: list[int],
    size: tuple[int, int],
    fallback: str,
    settings: MediaSettings,
) -> tuple[list[Variant], dict[str, bytes], Any]:
    """Each width from the one above it; encoders run while the next width is resized."""
    from PIL import Image

    width, height = size
    pending: list[tuple[int, int, tuple[str, ...], Future[list[bytes]]]] = []
    current = frame
    for index, w in enumerate(sorted(widths, reverse=True)):
        h = max(1, round(height * w / width))
        if current.size != (w, h):
            current = current.resize((w, h), Image.Resampling.BICUBIC, reducing_gap=2.0)
        if index == 0:
            current = _to_srgb(current, icc)  # on the largest variant, not the decoded frame
        if current is frame:
            current = frame.copy()  # the decoded image is closed when this returns
        current.info = {}  # no comment, profile or EXIF is written into a variant
        # WebP stops at 16383 pixels a side: a long screenshot gets its fallback only there.
        formats = ("webp", fallback) if max(w, h) <= WEBP_MAX_SIDE else (fallback,)
        future = _encoders().submit(_encode_both, current, formats, settings)
        pending.append((w, h, formats, future))
    variants: list[Variant] = []
    files: dict[str, bytes] = {}
    for w, h, formats, future in sorted(pending, key=lambda p: p[0]):
        for fmt, encoded in zip(formats, future.result(), strict=True):
            variant = Variant(width=w, height=h, format=fmt, bytes=len(encoded))  # type: ignore[arg-type]
            variants.append(variant)
            files[variant.name] = encoded
    return variants, files, current


def make_variants(data: bytes, kind: MediaType, settings: MediaSettings) -> ProcessedImage:
    """Every variant of an image, or ImageRejected for a corrupt, truncated or bomb file."""
    from PIL import Image, ImageOps

    image = open_checked(data, kind, settings.max_pixels)
    try:
        try:
            frames = int(getattr(image, "n_frames", 1))
            animated = bool(getattr(image, "is_animated", False))
            orientation = image.getexif().get(0x0112, 1)
            width, height = image.size
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            widths = variant_widths(width, settings.widths)
            if kind.format == "JPEG":
                largest = widths[-1]
                target = (largest, max(1, round(height * largest / width)))
                if orientation in (5, 6, 7, 8):
                    target = target[::-1]
                image.draft("RGB", target)
            image.load()
            has_alpha = _has_alpha(image)
            icc = image.info.get("icc_profile")
            # Copies only where needed: a 24 MP photo decoded at 1/2 is 18 MB per copy.
            frame = ImageOps.exif_transpose(image) if orientation != 1 else image
            mode = "RGBA" if has_alpha else "RGB"
            if frame.mode != mode:
                frame = frame.convert(mode)
        except Image.DecompressionBombError as exc:
            raise ImageRejected(f"Refused as a decompression bomb: {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise ImageRejected(f"The image could not be decoded: {exc}") from exc
        variants, files, smallest = _resize_and_encode(
            frame, icc, widths, (width, height), fallback_format(kind, has_alpha), settings
        )
    finally:
        image.close()
    return ProcessedImage(
        width=width,
        height=height,
        animated=animated,
        frames=frames,
        placeholder=_placeholder(smallest),
        dominant_color=_dominant_color(smallest),
        variants=variants,
        files=files,
    )
