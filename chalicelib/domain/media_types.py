"""What an upload is, read from its bytes (never from a header or a file name).

``sniff`` names the format from its signature and refuses SVG (it can carry script),
unknown formats and polyglots: files that are also an archive, HTML or a PDF, which a
browser or another reader could be led to open as that. ``image_size`` reads width and
height from the headers of PNG, GIF, JPEG and WebP without decoding a pixel, so a
decompression bomb is refused before anything is allocated for it.
"""

from __future__ import annotations

import re
import struct
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

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if marker == 0xDA or length < 2:
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _sub_blocks_end(data: bytes, at: int) -> int:
    """The offset after a chain of GIF data sub-blocks (size byte, bytes; a 0 size ends)."""
    while at < len(data):
        size = data[at]
        at += 1 + size
        if size == 0:
            return at
    return len(data)


def _gif_extent(data: bytes) -> tuple[int, int]:
    """The canvas a GIF needs: its logical screen, grown to hold every frame. A frame may
    claim 65,535 x 65,535 pixels behind a 32 x 32 screen, and Pillow allocates what the
    frames claim: every image descriptor is read (a linear walk of the blocks, nothing
    decoded)."""
    width, height, packed = struct.unpack("<HHB", data[6:11])
    at = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    while at < len(data):
        block = data[at]
        if block == 0x2C and at + 10 <= len(data):  # an image descriptor
            left, top, frame_width, frame_height, flags = struct.unpack(
                "<HHHHB", data[at + 1 : at + 10]
            )
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            at = _sub_blocks_end(data, at + 1)  # after the LZW code size, the image data
        elif block == 0x21 and at + 2 <= len(data):  # an extension: label, then sub-blocks
            at = _sub_blocks_end(data, at + 2)
        else:  # the trailer (0x3B), or bytes that are not GIF: Pillow judges the rest
            break
    return width, height


def image_size(data: bytes, kind: MediaType) -> tuple[int, int] | None:
    """(width, height) from the headers, or None where this reader does not know the format
    (AVIF: the thumbnail handler checks it with Pillow before decoding)."""
    if kind is PNG and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if kind is GIF and len(data) >= 13:
        return _gif_extent(data)
    if kind is JPEG:
        return _jpeg_size(data)
    if kind is WEBP:
        return _webp_size(data)
    return None


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
