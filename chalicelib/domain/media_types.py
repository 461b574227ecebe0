"""What an upload is, read from its bytes (never from a header or a file name).

``sniff`` names the format from its signature and refuses SVG (it can carry script),
unknown formats and polyglots: files that are also an archive, HTML or a PDF, which a
browser or another reader could be led to open as that. ``image_size`` reads width and
height from the headers of every image format accepted (``image_headers``: each frame of
an APNG, a GIF or an animated WebP, each AVIF item and track) without decoding a pixel, so
a decompression bomb is refused before anything is allocated for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UnsupportedMediaType, ValidationFailed


@dataclass(frozen=True)
class MediaType:
    format: str  # Pillow's name for images: JPEG, PNG, GIF, WEBP, AVIF; PDF for files
    content_type: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.format != "PDF"


JPEG = MediaType("JPEG", "image/jpeg", "jpg")
PNG = MediaType("PNG", "image/png", "png")
GIF = MediaType("GIF", "image/gif", "gif")
WEBP = MediaType("WEBP", "image/webp", "webp")
AVIF = MediaType("AVIF", "image/avif", "avif")
PDF = MediaType("PDF", "application/pdf", "pdf")
SUPPORTED = (JPEG, PNG, GIF, WEBP, AVIF, PDF)
BY_CONTENT_TYPE = {t.content_type: t for t in SUPPORTED} | {"image/jpg": JPEG}
GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", ""}

_AVIF_BRANDS = {b"avif", b"avis"}
_HTML_SNIFF = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|svg|\?php)\b", re.IGNORECASE
)
_SVG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg\b", re.S | re.I
)


def _signature(data: bytes) -> MediaType | None:
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and (
        data[8:12] in _AVIF_BRANDS or any(data[i : i + 4] in _AVIF_BRANDS for i in range(16, 32, 4))
    ):
        return AVIF
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _polyglot(data: bytes, kind: MediaType) -> str | None:
    """Why ``data`` could also be read as something else, or None."""
    head = data[:1024]
    if kind is not PDF and b"%PDF-" in head:
        return "it also carries a PDF header"
    if _HTML_SNIFF.search(head):
        return "it also carries HTML or script in its first bytes"
    tail = data[-(65_536 + 22) :]
    if b"PK\x05\x06" in tail or b"PK\x03\x04" in data[:4096]:
        return "it also carries a ZIP archive"
    if kind is PNG:
        end = data.rfind(b"IEND")
        if end != -1 and len(data) > end + 8 and data[end + 8 :].strip(b"\x00"):
            return "it has data after the end of the PNG"
    return None


def sniff(data: bytes, declared: str | None = None) -> MediaType:
    """The type of ``data``; UnsupportedMediaType if unknown, refused or not as declared."""
    if not data:
        raise ValidationFailed("The file is empty.", [])
    found = _signature(data)
    if found is None:
        if _SVG.match(data[:4096]):
            raise UnsupportedMediaType(
                "SVG is refused: it can carry script. Upload a PNG or WebP instead.",
                {"detected": "image/svg+xml"},
            )
        raise UnsupportedMediaType(
            "The file is not a supported type (JPEG, PNG, GIF, WebP, AVIF or PDF).",
            {"supported": [t.content_type for t in SUPPORTED]},
        )
    claimed = (declared or "").split(";")[0].strip().lower()
    if claimed not in GENERIC_TYPES and BY_CONTENT_TYPE.get(claimed) is not found:
        raise UnsupportedMediaType(
            f"The declared type {claimed!r} does not match the file, which is"
            f" {found.content_type}.",
            {"declared": claimed, "detected": found.content_type},
        )
    reason = _polyglot(data, found)
    if reason is not None:
        raise UnsupportedMediaType(
            f"The file is refused: {reason}.", {"detected": found.content_type}
        )
    return found


# --- dimensions from headers ---------------------------------------------------------------


@functools.cache
def _readers() -> dict[MediaType, Callable[[bytes], tuple[int, int] | None]]:
    from . import image_headers as h  # with the first upload, not at the API's cold start

    return {
        JPEG: h.jpeg_size,
        PNG: h.png_size,
        GIF: h.gif_extent,
        WEBP: h.webp_size,
        AVIF: h.avif_size,
    }


def image_size(data: bytes, kind: MediaType) -> tuple[int, int] | None:
    """(width, height) from the headers, nothing decoded: the largest image, canvas or
    frame the decoder would allocate for. ValidationFailed for headers that cannot be read
    or a frame outside its canvas; None for a PDF, or a JPEG without a frame header (Pillow
    judges it)."""
    reader = _readers().get(kind)
    return reader(data) if reader is not None else None


def check_pixels(size: tuple[int, int] | None, max_pixels: int) -> None:
    if size is None:
        return
    width, height = size
    if width <= 0 or height <= 0:
        raise ValidationFailed("The image has no pixels (a width or height of 0).", [])
    if width * height > max_pixels:
        raise PixelLimitExceeded(width, height, max_pixels)


class PixelLimitExceeded(ValidationFailed):
    def __init__(self, width: int, height: int, max_pixels: int) -> None:
        super().__init__(
            f"The image is {width} x {height} = {width * height:,} pixels, over the limit of"
            f" {max_pixels:,}; this is refused before decoding (a decompression bomb guard).",
            [],
        )
        self.extra.update({"width": width, "height": height, "max_pixels": max_pixels})
