"""Width and height read from image headers, nothing decoded: the size a decoder would
allocate for, so a decompression bomb is refused before a pixel exists.

Every walk is bounded by the data and by ``MAX_STEPS`` chunks, markers or boxes; a header
that cannot be read raises ValidationFailed ("not a readable ... image"), nothing else.
Formats with frames (APNG, animated WebP) must keep every frame inside their canvas and
have at most ``MAX_FRAMES`` of them: only the first frame is decoded for the variants, but
the decoders' demuxers and this walk read every frame header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import ValidationFailed

Size = tuple[int, int]
MAX_STEPS = 100_000
MAX_FRAMES = 10_000


def unreadable(fmt: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"The file is not a readable {fmt} image: {why}.", [])


class FrameOutsideCanvas(ValidationFailed):
    def __init__(self, label: str, number: int, size: Size, at: Size, canvas: Size) -> None:
        (width, height), (x, y), (canvas_width, canvas_height) = size, at, canvas
        super().__init__(
            f"The {label} frame {number} is {width} x {height} at ({x}, {y}), outside its"
            f" {canvas_width} x {canvas_height} canvas; this is refused before decoding"
            " (a decompression bomb guard).",
            [],
        )
        self.extra.update({"frame": number, "width": width, "height": height})


def _area(size: Size) -> int:
    return size[0] * size[1]


def _too_many_frames(label: str) -> ValidationFailed:
    return ValidationFailed(
        f"The {label} has more than {MAX_FRAMES:,} frames; this is refused before decoding.", []
    )


class _Walk:
    """One file's walk: the steps it took and the frames it met, against the limits."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.steps = 0
        self.frames = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise unreadable(self.fmt, f"it has more than {MAX_STEPS:,} chunks or boxes")

    def frame(self, label: str, size: Size, at: Size, canvas: Size) -> None:
        self.frames += 1
        if self.frames > MAX_FRAMES:
            raise _too_many_frames(label)
        self.fits(label, size, at, canvas)

    def fits(self, label: str, size: Size, at: Size, canvas: Size) -> None:
        (width, height), (x, y), number = size, at, max(1, self.frames)
        if width <= 0 or height <= 0:
            raise unreadable(self.fmt, f"frame {number} has no pixels")
        if x + width > canvas[0] or y + height > canvas[1]:
            raise FrameOutsideCanvas(label, number, size, at, canvas)


# --- JPEG --------------------------------------------------------------------------------

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE}
_JPEG_BARE = {0x00, 0xC8, *range(0xD0, 0xDA), *range(0xF0, 0xFE)}  # no length follows
_JPEG_SEGMENTS = {*range(0xC0, 0xD0), *range(0xDA, 0xF0), 0xFE} - _JPEG_BARE


def jpeg_size(data: bytes) -> Size | None:
    """The largest frame header (SOF) before the first scan; None without one (Pillow
    judges the file). Pillow keeps the last SOF it reads and skips bytes that are not
    markers, so this walk does too: a small first SOF cannot hide a large second one."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    sizes: list[Size] = []
    at = 2
    for _ in range(MAX_STEPS):
        at = data.find(b"\xff", at)
        if at == -1 or at + 2 > len(data):
            break
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        if marker in _JPEG_BARE:
            at += 2
            continue
        if marker not in _JPEG_SEGMENTS or marker == 0xDA or at + 4 > len(data):
            break
        if marker in _JPEG_SOF and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            sizes.append((width, height))
        at += 2 + max(2, int.from_bytes(data[at + 2 : at + 4], "big"))
    else:
        raise unreadable("JPEG", f"it has more than {MAX_STEPS:,} markers before its image data")
    return max(sizes, key=_area, default=None)


# --- GIF ---------------------------------------------------------------------------------


def _sub_blocks_end(data: bytes, at: int) -> int:
    """The offset after a chain of GIF data sub-blocks (size byte, bytes; a 0 size ends)."""
    while at < len(data):
        size = data[at]
        at += 1 + size
        if size == 0:
            return at
    return len(data)


def gif_extent(data: bytes) -> Size:
    """The canvas a GIF needs: its logical screen, grown to hold every frame. A frame may
    claim 65,535 x 65,535 pixels behind a 32 x 32 screen, and Pillow allocates what the
    frames claim: every image descriptor is read (a linear walk of the blocks, nothing
    decoded)."""
    if len(data) < 13:
        raise unreadable("GIF", "the logical screen descriptor is cut short")
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


# --- PNG and APNG ------------------------------------------------------------------------


def _png_chunks(data: bytes, walk: _Walk) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk's data after IHDR, up to IEND. A chunk running past
    the file ends the walk: no decoder reads a chunk behind it."""
    at = 33
    while at + 8 <= len(data):
        walk.step()
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IEND":
            return
        yield kind, at + 8, min(at + 8 + length, len(data))
        at += 12 + length


def png_size(data: bytes) -> Size:
    """IHDR's size, once every APNG frame control chunk (fcTL) is seen inside it."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise unreadable("PNG", "the IHDR header is missing or cut short")
    if data[8:12] != b"\x00\x00\x00\x0d":  # 13 bytes; the walk of the chunks starts after
        raise unreadable("PNG", "the IHDR header is not 13 bytes long")
    canvas: Size = struct.unpack(">II", data[16:24])
    walk = _Walk("PNG")
    for kind, start, end in _png_chunks(data, walk):
        if kind == b"IHDR":  # Pillow would take the last one's size
            raise unreadable("PNG", "it has a second IHDR header")
        if kind == b"acTL":
            if end - start < 8:
                raise unreadable("PNG", "the acTL chunk is cut short")
            if int.from_bytes(data[start : start + 4], "big") > MAX_FRAMES:
                raise _too_many_frames("APNG")
        elif kind == b"fcTL":
            if end - start < 26:
                raise unreadable("PNG", "an fcTL chunk is cut short")
            width, height, x, y = struct.unpack(">IIII", data[start + 4 : start + 20])
            walk.frame("APNG", (width, height), (x, y), canvas)
    return canvas


# --- WebP --------------------------------------------------------------------------------


def _riff_chunks(data: bytes, at: int, stop: int, walk: _Walk) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, start, end) of each chunk's payload between ``at`` and ``stop``."""
    while at + 8 <= stop:
        walk.step()
        kind, size = struct.unpack("<4sI", data[at : at + 8])
        yield kind, at + 8, min(at + 8 + size, stop)
        at += 8 + size + (size & 1)


def _le24(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 3], "little")


def _bitstream_size(kind: bytes, data: bytes, start: int, end: int) -> Size:
    head = data[start : min(end, start + 10)]
    if kind == b"VP8 " and len(head) == 10 and head[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(head) >= 5 and head[0] == 0x2F:
        bits = int.from_bytes(head[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    name = kind.decode("latin-1").strip()
    raise unreadable("WEBP", f"the {name!r} chunk is not a VP8 or VP8L header, or is cut short")


def _webp_frame(data: bytes, start: int, end: int, canvas: Size, walk: _Walk) -> None:
    """An ANMF chunk: its own size and offset, and its bitstream's, inside the canvas."""
    if end - start < 16:
        raise unreadable("WEBP", "an ANMF frame header is cut short")
    at = (2 * _le24(data, start), 2 * _le24(data, start + 3))
    walk.frame("WebP", (_le24(data, start + 6) + 1, _le24(data, start + 9) + 1), at, canvas)
    for kind, payload, stop in _riff_chunks(data, start + 16, end, walk):
        if kind in (b"VP8 ", b"VP8L"):
            walk.fits("WebP", _bitstream_size(kind, data, payload, stop), at, canvas)


def webp_size(data: bytes) -> Size:
    """A simple WebP's bitstream size; an extended one's (VP8X) canvas, once every
    animation frame (ANMF) and bitstream is seen inside it."""
    walk = _Walk("WEBP")
    chunks = _riff_chunks(data, 12, len(data), walk)
    kind, start, end = next(chunks, (b"", 0, 0))
    if kind != b"VP8X":
        return _bitstream_size(kind, data, start, end)
    if end - start < 10:
        raise unreadable("WEBP", "the VP8X header is cut short")
    canvas = (_le24(data, start + 4) + 1, _le24(data, start + 7) + 1)
    for kind, start, end in chunks:
        if kind == b"ANMF":
            _webp_frame(data, start, end, canvas, walk)
        elif kind in (b"VP8 ", b"VP8L"):
            walk.fits("WebP", _bitstream_size(kind, data, start, end), (0, 0), canvas)
    return canvas


# --- AVIF (ISO base media file format) ---------------------------------------------------

_AVIF_WAY = {
    b"": {b"meta", b"moov"},
    b"meta": {b"iprp"},
    b"iprp": {b"ipco"},
    b"moov": {b"trak"},
    b"trak": {b"mdia"},
    b"mdia": {b"minf"},
}


class _Fields:
    """Big-endian unsigned fields of ``size`` bytes read one after another from a box."""

    def __init__(self, data: bytes, at: int, end: int, box: str) -> None:
        self.data, self.at, self.end, self.box = data, at, end, box

    def uint(self, size: int) -> int:
        if self.at + size > self.end:
            raise unreadable("AVIF", f"the {self.box} box is cut short")
        self.at += size
        return int.from_bytes(self.data[self.at - size : self.at], "big")


@dataclass
class _AvifBoxes:
    """What the walk keeps: declared sizes, and where each AV1 payload starts."""

    sizes: list[Size] = field(default_factory=list)
    av1_items: set[int] = field(default_factory=set)
    items: dict[int, tuple[int, int]] = field(default_factory=dict)  # id: (method, offset)
    idat: int | None = None
    samples: list[int] = field(default_factory=list)  # each track's first chunk


def _boxes(data: bytes, at: int, stop: int, walk: _Walk) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each box's payload between ``at`` and ``stop``."""
    while at + 8 <= stop:
        walk.step()
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1:
            if at + 16 > stop:
                raise unreadable("AVIF", "a box header is cut short")
            size, header = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        elif size == 0:  # the box runs to the end of its parent
            size = stop - at
        if size < header:
            name = kind.decode("latin-1")
            raise unreadable("AVIF", f"the {name!r} box is smaller than its header")
        yield kind, at + header, min(at + size, stop)
        at += size


def _ispe(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    fields = _Fields(data, start + 4, end, "ispe")
    found.sizes.append((fields.uint(4), fields.uint(4)))


def _tkhd(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    """A track's size: 16.16 fixed point after the times (32 or 64 bit) and the matrix."""
    version = data[start] if start < end else 0
    fields = _Fields(data, start + (88 if version == 1 else 76), end, "tkhd")
    found.sizes.append((fields.uint(4) >> 16, fields.uint(4) >> 16))


def _iinf(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    """The ids of the AV1 image items (``infe`` version 2 or 3, type ``av01``)."""
    count_size = 2 if start < end and data[start] == 0 else 4
    for kind, at, stop in _boxes(data, start + 4 + count_size, end, walk):
        version = data[at] if kind == b"infe" and at < stop else 0
        if version in (2, 3):
            fields = _Fields(data, at + 4, stop, "infe")
            item = fields.uint(2 if version == 2 else 4)
            fields.uint(2)  # protection index
            if data[fields.at : fields.at + 4] == b"av01":
                found.av1_items.add(item)


def _iloc(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    """Where each item's data starts: its construction method and first extent's offset."""
    fields = _Fields(data, start, end, "iloc")
    version = fields.uint(4) >> 24
    sizes = fields.uint(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    id_size = 4 if version == 2 else 2
    for _ in range(fields.uint(id_size)):
        walk.step()
        item = fields.uint(id_size)
        method = fields.uint(2) & 15 if version in (1, 2) else 0
        fields.uint(2)  # data reference index
        base = fields.uint(base_size)
        offsets = []
        for _ in range(fields.uint(2)):
            walk.step()
            fields.uint(index_size)
            offsets.append(base + fields.uint(offset_size))
            fields.uint(length_size)
        found.items[item] = (method, offsets[0] if offsets else base)


def _idat(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    found.idat = start


def _stbl(data: bytes, start: int, end: int, found: _AvifBoxes, walk: _Walk) -> None:
    """A track's sample table: where its first sample starts (the first chunk's offset, 32
    bit in stco, 64 in co64), kept when its samples are AV1."""
    av1, first = False, None
    for kind, at, stop in _boxes(data, start, end, walk):
        if kind == b"stsd":  # version and flags, entry count, then the first entry's box
            av1 = data[at + 12 : at + 16] == b"av01"
        elif kind in (b"stco", b"co64"):
            fields = _Fields(data, at + 4, stop, kind.decode())
            if fields.uint(4):
                first = fields.uint(4 if kind == b"stco" else 8)
    if av1 and first is not None:
        found.samples.append(first)


_AVIF_LEAVES = {
    (b"ipco", b"ispe"): _ispe,
    (b"trak", b"tkhd"): _tkhd,
    (b"meta", b"iinf"): _iinf,
    (b"meta", b"iloc"): _iloc,
    (b"meta", b"idat"): _idat,
    (b"minf", b"stbl"): _stbl,
}


def _read_boxes(
    data: bytes, at: int, stop: int, parent: bytes, found: _AvifBoxes, walk: _Walk
) -> None:
    for kind, start, end in _boxes(data, at, stop, walk):
        if kind in _AVIF_WAY.get(parent, ()):
            version_and_flags = 4 if kind == b"meta" else 0
            _read_boxes(data, start + version_and_flags, end, kind, found, walk)
        elif (parent, kind) in _AVIF_LEAVES:
            _AVIF_LEAVES[parent, kind](data, start, end, found, walk)


class _Bits:
    """Bits read most significant first, as the AV1 specification's f(n) and uvlc()."""

    def __init__(self, data: bytes) -> None:
        self.value, self.left = int.from_bytes(data, "big"), 8 * len(data)

    def read(self, count: int) -> int:
        if count > self.left:
            raise unreadable("AVIF", "an AV1 sequence header is cut short")
        self.left -= count
        return (self.value >> self.left) & ((1 << count) - 1)

    def uvlc(self) -> None:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros == 32:
                return
        self.read(zeros)


def _skip_operating_points(bits: _Bits) -> None:
    """From timing_info_present_flag to the last operating point (AV1 spec 5.5.1)."""
    decoder_model, delay_bits = False, 0
    if bits.read(1):  # timing info
        bits.read(64)
        if bits.read(1):  # equal picture interval
            bits.uvlc()
        decoder_model = bool(bits.read(1))
        if decoder_model:
            delay_bits = bits.read(5) + 1
            bits.read(42)
    initial_display_delay = bits.read(1)
    for _ in range(bits.read(5) + 1):
        bits.read(12)  # operating_point_idc
        if bits.read(5) > 7:  # seq_level_idx, then seq_tier
            bits.read(1)
        if decoder_model and bits.read(1):
            bits.read(2 * delay_bits + 1)
        if initial_display_delay and bits.read(1):
            bits.read(4)


def _sequence_header_size(payload: bytes) -> Size:
    """max_frame_width and max_frame_height: what the AV1 decoder allocates frames for."""
    bits = _Bits(payload)
    bits.read(4)  # seq_profile, still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)
    else:
        _skip_operating_points(bits)
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


def _leb128(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for index in range(8):
        byte = data[at + index] if at + index < len(data) else 0
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, at + index + 1
    return value, at + 8


def _av1_size(data: bytes, at: int) -> Size:
    """The sequence header's frame size in the AV1 payload at ``at``: a temporal delimiter,
    padding or metadata may come before it."""
    for _ in range(8):
        if at >= len(data):
            break
        header = data[at]
        obu_type, has_size = (header >> 3) & 15, header & 2
        at += 2 if header & 4 else 1  # the extension header
        size, at = _leb128(data, at) if has_size else (len(data) - at, at)
        if obu_type == 1:
            return _sequence_header_size(data[at : at + min(size, 1024)])
        at += size
    raise unreadable("AVIF", "an AV1 image has no sequence header")


def _av1_payloads(found: _AvifBoxes) -> Iterator[int]:
    for item in sorted(found.av1_items):
        method, offset = found.items.get(item, (0, -1))
        if method == 1 and found.idat is not None:
            offset += found.idat
        elif method != 0 or offset < 0:
            raise unreadable("AVIF", f"the data of image item {item} cannot be located")
        yield offset
    yield from found.samples


def avif_size(data: bytes) -> Size:
    """The largest size the file declares: each image item's (``ispe`` in meta/iprp/ipco),
    each track's (``tkhd``), and the frame size in the AV1 sequence header of each image
    item and each track's first sample, which is what the AV1 decoder allocates for."""
    found, walk = _AvifBoxes(), _Walk("AVIF")
    _read_boxes(data, 0, len(data), b"", found, walk)
    if not found.sizes:
        raise unreadable("AVIF", "no ispe or tkhd box gives its size")
    found.sizes.extend(_av1_size(data, offset) for offset in _av1_payloads(found))
    return max(found.sizes, key=_area)
