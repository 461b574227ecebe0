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


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid PNG header for ``width`` x ``height`` grey pixels, compressed zeros: a few KB
    that would take ``width * height`` bytes to decode."""
    chunk = png_chunk
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one grey byte per pixel
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


# --- bombs in every container format: real files with their headers patched ---------------

BOMB = (100_000, 100_000)  # 10 billion pixels


def moving_square(frames: int = 3, size: tuple[int, int] = (120, 90)) -> list[Image.Image]:
    """Frames where only a small square moves: encoders store each later frame as the
    changed rectangle at an offset, as real animations are stored."""
    images = []
    for i in range(frames):
        image = Image.new("RGBA", size, (255, 255, 255, 255))
        left = 10 + 25 * i
        ImageDraw.Draw(image).rectangle((left, 30, left + 20, 50), fill=(200, 0, 0, 255))
        images.append(image)
    return images


def animated_png(frames: int = 3, size: tuple[int, int] = (120, 90)) -> bytes:
    images = moving_square(frames, size)
    return save(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)


def png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of every chunk of a PNG."""
    found, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        found.append((at, kind))
        at += 12 + length
    return found


def patch_png_chunk(data: bytes, kind: bytes, nth: int, at: int, fmt: str, *values: int) -> bytes:
    """``data`` with the ``nth`` ``kind`` chunk's fields at ``at`` (in its data) set to
    ``values`` and its CRC made right again, so only the header's claim is wrong."""
    offset = [o for o, k in png_chunks(data) if k == kind][nth]
    (length,) = struct.unpack(">I", data[offset : offset + 4])
    body = bytearray(data[offset + 8 : offset + 8 + length])
    struct.pack_into(fmt, body, at, *values)
    return data[:offset] + png_chunk(kind, bytes(body)) + data[offset + 12 + length :]


def apng_frame_bomb(
    frame: tuple[int, int] = BOMB, at: tuple[int, int] = (0, 0), nth: int = 1
) -> bytes:
    """A 32 x 32 APNG whose ``nth`` frame control chunk (fcTL; 0 is the one before IDAT)
    claims ``frame`` pixels at ``at``: IHDR is harmless, the frame is not."""
    data = animated_png(2, (32, 32))
    return patch_png_chunk(data, b"fcTL", nth, 4, ">IIII", *frame, *at)


def apng_claiming_frames(frames: int) -> bytes:
    return patch_png_chunk(animated_png(2, (32, 32)), b"acTL", 0, 0, ">I", frames)


def png_with_second_ihdr(size: tuple[int, int] = BOMB) -> bytes:
    """A 32 x 32 PNG with a second IHDR after the first: Pillow keeps the last one's size."""
    data = small_png(32, 32)
    second = png_chunk(b"IHDR", struct.pack(">IIBBBBB", *size, 8, 2, 0, 0, 0))
    return data[:33] + second + data[33:]


def png_with_chunks(count: int) -> bytes:
    """A 1 x 1 PNG with ``count`` empty private chunks before its image data."""
    data = small_png(1, 1)
    return data[:33] + png_chunk(b"prVt", b"") * count + data[33:]


def jpeg_with_second_sof(size: tuple[int, int] = (9000, 9000)) -> bytes:
    """A 64 x 48 JPEG with a second frame header claiming ``size``: Pillow keeps the last
    SOF it reads, and 81 million pixels is under its own bomb limit."""
    data = jpeg(64, 48)
    at = data.find(b"\xff\xc0")
    (length,) = struct.unpack(">H", data[at + 2 : at + 4])
    sof = bytearray(data[at : at + 2 + length])
    struct.pack_into(">HH", sof, 5, size[1], size[0])
    return data[: at + 2 + length] + bytes(sof) + data[at + 2 + length :]


def webp_chunks(data: bytes, at: int = 12, stop: int | None = None) -> list[tuple[int, bytes]]:
    """(offset, fourcc) of every RIFF chunk between ``at`` and ``stop``."""
    found, stop = [], len(data) if stop is None else stop
    while at + 8 <= stop:
        kind, size = struct.unpack("<4sI", data[at : at + 8])
        found.append((at, kind))
        at += 8 + size + (size & 1)
    return found


def animated_webp_moving(frames: int = 3, **options: object) -> bytes:
    images = [image.convert("RGB") for image in moving_square(frames)]
    return save(images[0], "WEBP", save_all=True, append_images=images[1:], duration=100, **options)


def webp_with_alpha() -> bytes:
    """A still extended WebP (VP8X) with an alpha chunk and an ICC profile."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return save(moving_square(1, (300, 200))[0].copy(), "WEBP", icc_profile=srgb)


def webp_canvas_bomb(canvas: tuple[int, int] = BOMB) -> bytes:
    """An animated WebP whose VP8X canvas claims ``canvas`` pixels."""
    data = bytearray(animated_webp_moving())
    data[24:30] = (canvas[0] - 1).to_bytes(3, "little") + (canvas[1] - 1).to_bytes(3, "little")
    return bytes(data)


def webp_frame_bomb(
    frame: tuple[int, int] = BOMB, at: tuple[int, int] = (0, 0), nth: int = 1
) -> bytes:
    """An animated 120 x 90 WebP whose ``nth`` ANMF frame claims ``frame`` pixels at ``at``."""
    data = bytearray(animated_webp_moving())
    offset = [o for o, k in webp_chunks(bytes(data)) if k == b"ANMF"][nth] + 8
    for i, value in enumerate((at[0] // 2, at[1] // 2, frame[0] - 1, frame[1] - 1)):
        data[offset + 3 * i : offset + 3 * i + 3] = value.to_bytes(3, "little")
    return bytes(data)


def webp_bitstream_bomb(size: tuple[int, int] = (16_383, 16_383), nth: int = 1) -> bytes:
    """An animated 120 x 90 lossy WebP whose ``nth`` frame's VP8 bitstream (not its ANMF
    header) claims ``size``: libwebp takes a frame's size from its bitstream."""
    data = bytearray(animated_webp_moving())
    anmf = [o for o, k in webp_chunks(bytes(data)) if k == b"ANMF"][nth]
    (anmf_size,) = struct.unpack("<I", data[anmf + 4 : anmf + 8])
    vp8 = next(
        o for o, k in webp_chunks(bytes(data), anmf + 24, anmf + 8 + anmf_size) if k == b"VP8 "
    )
    struct.pack_into("<HH", data, vp8 + 8 + 6, *size)
    return bytes(data)


def webp_lossless_bomb(size: tuple[int, int] = (16_384, 16_384)) -> bytes:
    """A simple lossless WebP (VP8L, no VP8X) whose bitstream header claims ``size``."""
    data = bytearray(save(Image.new("RGB", (30, 20), (9, 9, 9)), "WEBP", lossless=True))
    bits = (size[0] - 1) | (size[1] - 1) << 14 | (data[24] >> 4) << 28
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


def animated_avif(frames: int = 3) -> bytes:
    images = [image.convert("RGB") for image in moving_square(frames)]
    return save(images[0], "AVIF", save_all=True, append_images=images[1:], duration=100)


def patch_avif_box(data: bytes, kind: bytes, at: int, fmt: str, *values: int) -> bytes:
    """``data`` with the first ``kind`` box's fields at ``at`` (after its header) set."""
    patched = bytearray(data)
    struct.pack_into(fmt, patched, data.find(kind) + 4 + at, *values)
    return bytes(patched)


def avif_ispe_bomb(size: tuple[int, int] = BOMB) -> bytes:
    """An 80 x 60 AVIF whose image spatial extents property (ispe) claims ``size``."""
    return patch_avif_box(avif(80, 60), b"ispe", 4, ">II", *size)


def avif_track_bomb(size: tuple[int, int] = (65_535, 65_535)) -> bytes:
    """An animated AVIF whose track header (tkhd) claims ``size`` (16.16 fixed point, after
    times of 64 bits in a version 1 box, 32 in version 0)."""
    data = animated_avif()
    width_at = 88 if data[data.find(b"tkhd") + 4] == 1 else 76
    return patch_avif_box(data, b"tkhd", width_at, ">II", size[0] << 16, size[1] << 16)


def avif_hiding_its_payload(payload: tuple[int, int] = (2000, 1500)) -> bytes:
    """An AVIF whose ispe says 80 x 60 over an AV1 image of ``payload`` pixels: libavif
    reports the ispe size and the AV1 decoder allocates the payload's."""
    flat = save(Image.new("RGB", payload, (40, 90, 160)), "AVIF", quality=30)
    return patch_avif_box(flat, b"ispe", 4, ">II", 80, 60)


def avif_with_alpha() -> bytes:
    """A still AVIF with transparency: a colour and an alpha image item."""
    image = Image.new("RGBA", (160, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((20, 20, 140, 100), fill=(250, 120, 0, 255))
    return save(image, "AVIF")


def avif_without_sequence_header() -> bytes:
    """A still AVIF whose AV1 data has padding where the sequence header was (the item's
    data is the start of mdat's payload in files Pillow writes: a temporal delimiter, then
    the sequence header, each an OBU with a size field)."""
    data = bytearray(avif(80, 60))
    at = data.find(b"mdat") + 4
    assert data[at : at + 3] == b"\x12\x00\x0a"
    data[at + 2] = 0x7A  # a padding OBU with a size field
    return bytes(data)


def avif_without_item_location() -> bytes:
    """A still AVIF whose item location box (iloc) is renamed: the image has no data."""
    return avif(80, 60).replace(b"iloc", b"xloc", 1)


def avif_with_boxes(count: int) -> bytes:
    """A still AVIF followed by ``count`` empty free boxes."""
    return avif(80, 60) + iso_box(b"free", b"") * count


def webp_with_chunks(count: int) -> bytes:
    """An animated WebP with ``count`` empty unknown chunks after its VP8X header."""
    data = animated_webp_moving()
    body = data[12:30] + b"JUNK\x00\x00\x00\x00" * count + data[30:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def iso_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def opened_size(data: bytes) -> tuple[int, int]:
    """The size Pillow's own open (headers only) reports."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def tiff_bomb(
    size: tuple[int, int] = BOMB, *, byte_order: str = "<", big: bool = False, loop: bool = False
) -> bytes:
    """A one-page uncompressed grey TIFF claiming ``size`` (ImageWidth and ImageLength as
    LONG), classic or BigTIFF, in either byte order; with ``loop``, its chain of IFDs
    points back at itself."""
    order = byte_order
    mark = b"II" if order == "<" else b"MM"
    if big:
        header = mark + struct.pack(f"{order}HHHQ", 43, 8, 0, 16)
        count, entry, value_size, offset = "Q", "HHQ", 8, "Q"
    else:
        header = mark + struct.pack(f"{order}HI", 42, 8)
        count, entry, value_size, offset = "H", "HHI", 4, "I"
    short, long_ = 3, 4
    fields = [(256, long_, size[0]), (257, long_, size[1]), (258, short, 8), (259, short, 1)]
    fields += [(262, short, 1), (278, long_, size[1]), (279, long_, 1)]
    entry_size = struct.calcsize(f"{order}{entry}") + value_size
    ifd_size = struct.calcsize(f"{order}{count}") + (len(fields) + 1) * entry_size + value_size
    fields.append((273, long_, len(header) + ifd_size))  # the one strip, after the IFD
    ifd = struct.pack(f"{order}{count}", len(fields))
    for tag, kind, value in sorted(fields):
        packed = struct.pack(f"{order}{'H' if kind == short else 'I'}", value)
        ifd += struct.pack(f"{order}{entry}", tag, kind, 1) + packed.ljust(value_size, b"\x00")
    ifd += struct.pack(f"{order}{offset}", len(header) if loop else 0)
    return header + ifd + b"\x00"


def multipage_tiff() -> bytes:
    images = moving_square(3)
    return save(images[0], "TIFF", save_all=True, append_images=images[1:])


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
