"""Real image files made with Pillow (and by hand where Pillow refuses to): photos with EXIF
orientation and GPS, transparency, animation, and the bad ones (bombs, truncated, corrupt,
polyglots)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo(width: int = 1200, height: int = 800, *, seed: int = 1) -> Image.Image:
    """A photo-like picture: a gradient, shapes and noise (compresses like a photo)."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(10, max(11, width // 5))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + r, y + r), fill=colour)
    noise = Image.effect_noise((width, height), 30).convert("RGB")
    return Image.blend(image, noise, 0.1)


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 1200, height: int = 800, **options: object) -> bytes:
    return save(photo(width, height), "JPEG", quality=85, **options)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "CameraMaker"  # Make
    exif[GPS_IFD] = {
        1: "N",
        2: (48.0, 51.0, 29.0),  # latitude: Paris
        3: "E",
        4: (2.0, 17.0, 40.0),
    }
    return exif


def rotated_photo_with_gps() -> bytes:
    """A 1200 x 800 landscape stored as 800 x 1200 with EXIF orientation 6 (rotate 90° CW to
    show): the top-left quadrant of the stored pixels is pure red so the turn can be seen."""
    image = photo(800, 1200)
    image.paste((255, 0, 0), (0, 0, 400, 600))
    return save(image, "JPEG", quality=90, exif=exif_with_gps(6).tobytes())


def png_with_alpha(width: int = 700, height: int = 500) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 128, 255, 0))
    ImageDraw.Draw(image).rectangle((50, 50, width - 50, height - 50), fill=(255, 200, 0, 200))
    return save(image, "PNG")


def small_png(width: int = 100, height: int = 60) -> bytes:
    return save(Image.new("RGB", (width, height), (10, 200, 30)), "PNG")


def animated_gif(frames: int = 4) -> bytes:
    images = [Image.new("RGB", (400, 300), (i * 60, 255 - i * 60, 90)) for i in range(frames)]
    return save(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def animated_webp(frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", (500, 400), colours[i % 4]) for i in range(frames)]
    return save(images[0], "WEBP", save_all=True, append_images=images[1:], duration=100)


def avif(width: int = 800, height: int = 600) -> bytes:
    return save(photo(width, height), "AVIF", quality=60)


def gif_frame_bomb(frame: tuple[int, int] = (65_535, 65_535)) -> bytes:
    """A GIF whose logical screen is 32 x 32 and whose one frame claims ``frame`` pixels
    (4.3 billion by default): what the screen says is harmless, what a decoder allocates
    is not. A comment extension comes first, as real files have."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 32, 32, 0, 0, 0)
    comment = b"\x21\xfe\x05hello\x00"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0)
    image_data = b"\x02" + b"\x02\x4c\x01" + b"\x00"  # LZW code size, one sub-block, end
    return screen + comment + descriptor + image_data + b"\x3b"


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid PNG header for ``width`` x ``height`` grey pixels, compressed zeros: a few KB
    that would take ``width * height`` bytes to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one grey byte per pixel
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = jpeg()
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = bytearray(small_png(300, 200))
    middle = len(data) // 2
    data[middle : middle + 40] = b"\xff" * 40  # inside IDAT: a CRC and zlib error
    return bytes(data)


def header_only_jpeg() -> bytes:
    """A JPEG signature and nothing decodable after it."""
    return b"\xff\xd8\xff\xe0" + b"\x00" * 64


def jpeg_with_zip() -> bytes:
    """A JPEG with a ZIP archive appended (a GIFAR-style polyglot)."""
    archive = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.class", b"\xca\xfe\xba\xbe")
    return jpeg(200, 100) + archive.getvalue()


def png_with_html() -> bytes:
    """A PNG whose first bytes also read as HTML (a text chunk with a script tag)."""
    data = small_png()
    text = b"Comment\x00<script>alert(1)</script>"
    crc = zlib.crc32(b"tEXt" + text) & 0xFFFFFFFF
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", crc)
    return data[:33] + chunk + data[33:]


def png_with_trailer() -> bytes:
    return small_png() + b"TRAILING-PAYLOAD" * 4


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
