"""Media: the variants of a 24 MP photo against the naive way, and a decompression bomb.

1. A photo-like 6000 x 4000 JPEG (gradients, shapes, noise; quality 90; EXIF with GPS and a
   comment), made here with Pillow, to every default width (320, 640, 1280, 1920):

   - ours: the handler's path, ``media_types.sniff(data)`` then ``images.make_variants``
     (``Image.draft`` for JPEG, a BICUBIC resize chain with ``reducing_gap=2.0``, WebP q80
     method 2 + progressive JPEG q82 per width, encoded in a pool of min(4, cpu_count)
     threads);
   - naive: ``Image.open`` + ``load()`` (full decode), then per width ``resize(LANCZOS)`` from
     the full image and the same two encodes, one after the other: the same set of files.

   Targets: median time of ours at most 0.25x the naive way's, peak memory at most half. Also
   reported: both without encoding (decode + resize only), ours with a one-thread encoder
   pool, ours on the same pixels with an sRGB ICC profile, the variants (count, bytes, no
   EXIF; no XMP, ICC or comment either, as images.py promises; every JPEG variant at the
   configured quality, read from its quantization tables). Times are in-process (warm
   imports), interleaved, medians. Peak memory is measured in a fresh child process per run
   (Pillow allocates with C malloc, which tracemalloc does not see): ``ru_maxrss`` after the
   work minus ``ru_maxrss`` right after the imports and reading the file. The children are
   started by a small launcher process, since Linux carries a parent's high-water mark into
   ``ru_maxrss`` of a child it starts.

2. A decompression bomb: a 40,000 x 40,000 PNG of ~200 KB, written by hand (1-bit grayscale,
   IDAT of zlib-streamed zero rows). Target: refused (``ImageRejected``) by sniff +
   ``make_variants`` in under 1 s with under 100 MB peak memory, in a fresh child process.
   Also timed: the API-side header check (``image_size`` + ``check_pixels`` raising
   ``PixelLimitExceeded``), and that our own cap refuses it with Pillow's guard switched off.

Run from the repository root:  python bench/media_thumbnails.py [--rounds N]
(``--launcher`` and ``--child MODE PATH`` are the helper processes' entry points.)
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repository root on sys.path)
from _common import Stats, header, verdict

WIDTH, HEIGHT = 6000, 4000
NOISE_SIGMA = 8.0
SOURCE_QUALITY = 90
BOMB_SIDE = 40_000
ROUNDS = 7
MEMORY_RUNS = 3
BOMB_RUNS = 3
TARGET_TIME_RATIO = 0.25
TARGET_MEMORY_RATIO = 0.50
TARGET_BOMB_SECONDS = 1.0
TARGET_BOMB_MB = 100.0

# name -> what it is; the first two are the target's sides
WAYS = {
    "naive": "naive: full decode, LANCZOS from full, WebP+JPEG per width",
    "ours": "ours: sniff + make_variants (handler path)",
    "naive-noenc": "naive without encoding (decode + resize only)",
    "ours-noenc": "ours without encoding (decode + resize only)",
    "ours-1": "ours with a 1-thread encoder pool",
    "ours-icc": "ours, same pixels with an sRGB ICC profile",
}
MEMORY_WAYS = ("naive", "ours", "naive-noenc", "ours-noenc", "ours-1", "ours-icc")


# --- inputs --------------------------------------------------------------------------------


def photo_like(seed: int = 42) -> Any:
    """A 6000 x 4000 RGB image that compresses like a photo: smooth gradients, a few hundred
    soft-edged shapes and Gaussian noise per channel."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rng = random.Random(seed)
    size = (WIDTH, HEIGHT)
    red = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    green = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    blue = Image.linear_gradient("L").rotate(90).resize(size, Image.Resampling.BILINEAR)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y, s = rng.randrange(WIDTH), rng.randrange(HEIGHT), rng.randint(40, 900)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        roll = rng.random()
        if roll < 0.4:
            draw.ellipse((x, y, x + s, y + s * rng.uniform(0.4, 1.5)), fill=colour)
        elif roll < 0.7:
            draw.rectangle((x, y, x + s, y + s * rng.uniform(0.2, 1.0)), fill=colour)
        else:
            corners = [(x + rng.randint(-s, s), y + rng.randint(-s, s)) for _ in range(5)]
            draw.polygon(corners, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.merge("RGB", [Image.effect_noise(size, NOISE_SIGMA) for _ in range(3)])
    return ImageChops.add(image, noise, 1.0, -128)


def photo_exif() -> Any:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Model 24"  # Model
    exif[0x0112] = 1  # Orientation: as stored
    exif[0x0132] = "2025:01:01 12:00:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 22.0, 1.5)
    gps[3], gps[4] = "E", (4.0, 53.0, 2.5)
    return exif


def write_photos(folder: Path) -> tuple[Path, Path]:
    """The JPEG (EXIF + GPS + a comment) and the same pixels with an sRGB ICC profile."""
    from PIL import ImageCms

    image = photo_like()
    plain = folder / "photo-24mp.jpg"
    image.save(
        plain, "JPEG", quality=SOURCE_QUALITY, exif=photo_exif(), comment=b"bench: private note"
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with_icc = folder / "photo-24mp-icc.jpg"
    image.save(with_icc, "JPEG", quality=SOURCE_QUALITY, exif=photo_exif(), icc_profile=icc)
    return plain, with_icc


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def write_bomb(path: Path, side: int = BOMB_SIDE) -> int:
    """A ``side`` x ``side`` 1-bit grayscale PNG of zero rows; the zlib stream is made row
    block by row block, so the ~200 MB of raw scanlines never exist at once. (8-bit would
    be 1.6 GB raw and ~1.6 MB compressed: deflate cannot do better than ~1032:1.)"""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte 0 + the packed bits
    block_rows = 256
    compressor = zlib.compressobj(9)
    parts: list[bytes] = []
    for start in range(0, side, block_rows):
        parts.append(compressor.compress(row * min(block_rows, side - start)))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return len(data)


# --- the ways ------------------------------------------------------------------------------


def naive(data: bytes, encode: bool = True) -> dict[str, bytes]:
    """The naive way: full decode, LANCZOS from the full image per width, the same encodes."""
    from PIL import Image

    from chalicelib.domain.images import variant_widths
    from chalicelib.domain.media import MediaSettings

    settings = MediaSettings()
    files: dict[str, bytes] = {}
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
        for w in variant_widths(width, settings.widths):
            h = max(1, round(height * w / width))
            resized = image.resize((w, h), Image.Resampling.LANCZOS)
            if not encode:
                files[f"{w}.webp"] = files[f"{w}.jpg"] = b""
                continue
            out = io.BytesIO()
            resized.save(out, "WEBP", quality=settings.webp_quality, method=2)
            files[f"{w}.webp"] = out.getvalue()
            out = io.BytesIO()
            resized.save(out, "JPEG", quality=settings.jpeg_quality, progressive=True)
            files[f"{w}.jpg"] = out.getvalue()
    return files


def ours(data: bytes) -> dict[str, bytes]:
    """The thumbnail handler's path: sniff, then make_variants."""
    from chalicelib.domain.images import make_variants
    from chalicelib.domain.media import MediaSettings
    from chalicelib.domain.media_types import sniff

    return make_variants(data, sniff(data), MediaSettings()).files


@contextlib.contextmanager
def encoding_skipped() -> Iterator[None]:
    from chalicelib.domain import images

    real = images._encode
    images._encode = lambda image, fmt, settings: b""
    try:
        yield
    finally:
        images._encode = real


@contextlib.contextmanager
def one_encoder_thread() -> Iterator[None]:
    from chalicelib.domain import images

    saved = images._executor
    pool = ThreadPoolExecutor(1, thread_name_prefix="encode-1")
    images._executor = pool
    try:
        yield
    finally:
        images._executor = saved
        pool.shutdown()


def run_way(way: str, data: bytes, data_icc: bytes) -> dict[str, bytes]:
    if way == "naive":
        return naive(data)
    if way == "naive-noenc":
        return naive(data, encode=False)
    if way == "ours":
        return ours(data)
    if way == "ours-icc":
        return ours(data_icc)
    if way == "ours-noenc":
        with encoding_skipped():
            return ours(data)
    if way == "ours-1":
        with one_encoder_thread():
            return ours(data)
    raise ValueError(way)


def bomb_worker(data: bytes) -> str:
    """The thumbnail handler on the bomb: must raise ImageRejected."""
    from chalicelib.domain.images import ImageRejected, make_variants
    from chalicelib.domain.media import MediaSettings
    from chalicelib.domain.media_types import sniff

    try:
        make_variants(data, sniff(data), MediaSettings())
    except ImageRejected as exc:
        return f"ImageRejected: {exc}"
    return "NOT REFUSED"


def bomb_api(data: bytes) -> str:
    """The API's direct-upload check on the bomb: must raise PixelLimitExceeded."""
    from chalicelib.domain.media import MediaSettings
    from chalicelib.domain.media_types import PixelLimitExceeded, check_pixels, image_size, sniff

    try:
        kind = sniff(data)
        check_pixels(image_size(data, kind), MediaSettings().max_pixels)
    except PixelLimitExceeded as exc:
        return f"PixelLimitExceeded: {exc}"
    return "NOT REFUSED"


def bomb_without_pillow_guard(data: bytes) -> str:
    """open_checked with Pillow's own MAX_IMAGE_PIXELS guard off: our cap must still refuse."""
    from PIL import Image

    from chalicelib.domain.images import ImageRejected, open_checked
    from chalicelib.domain.media import MediaSettings
    from chalicelib.domain.media_types import sniff

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        open_checked(data, sniff(data), MediaSettings().max_pixels)
    except ImageRejected as exc:
        return f"ImageRejected: {exc}"
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return "NOT REFUSED"


# --- child processes: peak memory ------------------------------------------------------------


def _vm_hwm_kb() -> int:
    """This process's own peak RSS (VmHWM), a cross-check of ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(mode: str, path: str) -> int:
    """Import everything, read the file, take ru_maxrss; do the work; print the delta."""
    from PIL import Image, ImageCms, ImageOps  # noqa: F401

    import chalicelib.domain.images
    import chalicelib.domain.media
    import chalicelib.domain.media_types  # noqa: F401

    Image.init()  # every plugin, for both sides
    data = Path(path).read_bytes()
    gc.collect()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    baseline_hwm = _vm_hwm_kb()
    start = time.perf_counter()
    if mode == "bomb-worker":
        outcome = bomb_worker(data)
    elif mode == "bomb-api":
        outcome = bomb_api(data)
    else:  # ours-icc: ours, given the ICC file as its path
        files = run_way("ours" if mode == "ours-icc" else mode, data, data)
        outcome = f"{len(files)} files, {sum(map(len, files.values()))} bytes"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "seconds": seconds,
                      "hwm_delta_kb": _vm_hwm_kb() - baseline_hwm,
                      "outcome": outcome}))  # fmt: skip
    return 0


def launcher() -> int:
    """Start the children from a process that stays small: ru_maxrss survives fork + exec
    (Linux carries the parent's high-water mark into the child's), so children started by
    the benchmark itself, after it decoded 24 MP images, would all report its peak."""
    for line in sys.stdin:
        mode, path = json.loads(line)
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, path],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(json.dumps({"error": done.stderr[-2000:]}), flush=True)
        else:
            print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


@dataclass(frozen=True)
class ChildResult:
    baseline_mb: float
    peak_mb: float
    hwm_delta_mb: float
    seconds: float
    wall: float
    outcome: str

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.baseline_mb


class Launcher:
    """The small process that starts every child (see ``launcher``)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--launcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, mode: str, path: Path) -> ChildResult:
        assert self.process.stdin is not None and self.process.stdout is not None
        start = time.perf_counter()
        self.process.stdin.write(json.dumps([mode, str(path)]) + "\n")
        self.process.stdin.flush()
        report = json.loads(self.process.stdout.readline())
        wall = time.perf_counter() - start
        if "error" in report:
            raise RuntimeError(f"child {mode} failed: {report['error']}")
        return ChildResult(
            baseline_mb=report["baseline_kb"] / 1024,  # ru_maxrss is in KiB on Linux
            peak_mb=report["peak_kb"] / 1024,
            hwm_delta_mb=report["hwm_delta_kb"] / 1024,
            seconds=report["seconds"],
            wall=wall,
            outcome=report["outcome"],
        )

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- checks on the output ------------------------------------------------------------------


def metadata_left(files: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """(variants with EXIF, variants with XMP, an ICC profile or a comment), as "name: keys"."""
    from PIL import Image

    exif: list[str] = []
    other: list[str] = []
    for name, encoded in sorted(
        files.items(), key=lambda item: (int(item[0].split(".")[0]), item[0])
    ):
        with Image.open(io.BytesIO(encoded)) as image:
            if "exif" in image.info or len(image.getexif()):
                exif.append(f"{name}: {len(image.getexif())} EXIF tags")
            keys = {"xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(image.info)
            if keys:
                other.append(f"{name}: {', '.join(sorted(keys))}")
    return exif, other


def source_metadata(data: bytes) -> str:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        gps = exif.get_ifd(0x8825)
        return (
            f"{len(exif)} EXIF tags (GPS IFD with {len(gps)} tags), "
            f"comment {'yes' if 'comment' in image.info else 'no'}"
        )


def jpeg_not_at(files: dict[str, bytes], quality: int) -> list[str]:
    """The JPEG files whose quantization tables are not those of ``quality``."""
    from PIL import Image

    reference = io.BytesIO()
    Image.new("RGB", (16, 16)).save(reference, "JPEG", quality=quality)
    with Image.open(reference) as image:
        expected = image.quantization  # type: ignore[attr-defined]
    wrong = []
    for name, encoded in files.items():
        if name.endswith(".jpg"):
            with Image.open(io.BytesIO(encoded)) as image:
                if image.quantization != expected:  # type: ignore[attr-defined]
                    wrong.append(name)
    return wrong


# --- the run -------------------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> int:
    rounds = ROUNDS
    if "--rounds" in sys.argv:
        rounds = max(5, int(sys.argv[sys.argv.index("--rounds") + 1]))
    launcher = Launcher()  # first, while this process is still small
    header(f"media thumbnails: 24 MP JPEG to {WAYS['ours']} vs naive; a 40k x 40k PNG bomb")
    from PIL import Image

    from chalicelib.domain.media import MediaSettings

    settings = MediaSettings()
    print(
        f"  Pillow {Image.__version__}; widths {settings.widths}, WebP q{settings.webp_quality} "
        f"method 2, JPEG q{settings.jpeg_quality} progressive, max_pixels "
        f"{settings.max_pixels:,}; encoder pool min(4, cpu_count) = "
        f"{max(1, min(4, os.cpu_count() or 1))} threads"
    )
    folder = Path(tempfile.mkdtemp(prefix="cms-bench-media-"))
    rows: list[tuple[str, str, str, bool | None]] = []
    try:
        started = time.perf_counter()
        photo, photo_icc = write_photos(folder)
        bomb = folder / "bomb-40k.png"
        bomb_bytes = write_bomb(bomb)
        data, data_icc = photo.read_bytes(), photo_icc.read_bytes()
        print(
            f"  inputs made in {time.perf_counter() - started:.1f} s: {photo.name} "
            f"{WIDTH}x{HEIGHT} q{SOURCE_QUALITY}, {len(data) / 1e6:.2f} MB, "
            f"{source_metadata(data)}; ICC copy {len(data_icc) / 1e6:.2f} MB; "
            f"{bomb.name} {BOMB_SIDE}x{BOMB_SIDE} 1-bit, {bomb_bytes / 1024:.0f} KiB "
            f"({BOMB_SIDE * BOMB_SIDE / 1e9:.1f} Gpixels)"
        )
        source_ok = 5e6 <= len(data) <= 8.5e6 and 1_000 <= bomb_bytes <= 500_000

        # 1a. time, in process, interleaved
        for way in WAYS:  # warm-up: imports, plugins, the encoder pool
            run_way(way, data, data_icc)
        samples: dict[str, list[float]] = {way: [] for way in WAYS}
        outputs: dict[str, dict[str, bytes]] = {}
        off_quality: dict[str, int] = {}  # JPEG variant -> runs not encoded at jpeg_quality
        order = list(WAYS)
        for round_number in range(rounds):
            for way in order if round_number % 2 == 0 else order[::-1]:
                seconds, files = timed(lambda way=way: run_way(way, data, data_icc))
                samples[way].append(seconds)
                outputs[way] = files
                if way in ("ours", "ours-1", "ours-icc"):
                    for name in jpeg_not_at(files, settings.jpeg_quality):
                        key = f"{name} ({way})"
                        off_quality[key] = off_quality.get(key, 0) + 1
        stats = {way: Stats.of(values) for way, values in samples.items()}
        print(f"  time, in process, {rounds} interleaved rounds (load {os.getloadavg()[0]:.2f}):")
        for way, label in WAYS.items():
            ratio = stats[way].median / stats["naive"].median
            print(stats[way].line(f"{label}", "ms") + f"   {ratio:.3f}x naive")
        time_ratio = stats["ours"].median / stats["naive"].median
        noenc_ratio = stats["ours-noenc"].median / stats["naive-noenc"].median
        one_ratio = stats["ours-1"].median / stats["naive"].median
        icc_ratio = stats["ours-icc"].median / stats["naive"].median

        # the outputs
        ours_files, naive_files = outputs["ours"], outputs["naive"]
        same_set = sorted(ours_files) == sorted(naive_files)
        with_exif, with_other = metadata_left(ours_files)
        icc_exif, icc_other = metadata_left(outputs["ours-icc"])
        variants_ok = len(ours_files) == 8 and same_set and not with_exif
        total = sum(map(len, ours_files.values()))
        print(
            f"  ours: {len(ours_files)} variants ({', '.join(sorted(ours_files))}), "
            f"{total:,} bytes in all; naive: {len(naive_files)} files, "
            f"{sum(map(len, naive_files.values())):,} bytes; same set of names: {same_set}"
        )
        for name in sorted(ours_files, key=lambda n: (int(n.split(".")[0]), n)):
            print(
                f"    {name:<10} ours {len(ours_files[name]):>9,} B   "
                f"naive {len(naive_files[name]):>9,} B"
            )
        print(
            f"  EXIF in our variants: {with_exif or 'none'}; "
            f"from the ICC source: {icc_exif or 'none'}"
        )
        print(f"  XMP/ICC/comment in our variants: {with_other or 'none'}")
        print(f"    from the ICC source (no comment in it): {icc_other or 'none'}")
        print(
            f"  JPEG variants not at quality {settings.jpeg_quality} (quantization tables), "
            f"runs of {rounds}: {off_quality or 'none'}"
        )

        # 1b. peak memory, a fresh child per run, interleaved
        memory: dict[str, list[ChildResult]] = {way: [] for way in MEMORY_WAYS}
        for run in range(MEMORY_RUNS):
            for way in MEMORY_WAYS if run % 2 == 0 else MEMORY_WAYS[::-1]:
                path = photo_icc if way == "ours-icc" else photo
                memory[way].append(launcher.run(way, path))
        print(
            f"  peak memory, a fresh process per run, {MEMORY_RUNS} runs each "
            f"(ru_maxrss after the work - after imports + reading the file):"
        )
        peak: dict[str, float] = {}
        for way in MEMORY_WAYS:
            results = memory[way]
            peak[way] = statistics.median(r.delta_mb for r in results)
            print(
                f"    {WAYS[way]:<60} +{peak[way]:6.1f} MB "
                f"(runs {', '.join(f'{r.delta_mb:.1f}' for r in results)}; "
                f"baseline {results[0].baseline_mb:.1f} MB; VmHWM delta "
                f"{statistics.median(r.hwm_delta_mb for r in results):.1f} MB; "
                f"work {results[0].seconds:.2f} s)"
            )
        memory_ratio = peak["ours"] / peak["naive"]
        print(
            f"    ours / naive: {memory_ratio:.3f}; without encoding "
            f"{peak['ours-noenc'] / peak['naive-noenc']:.2f}; one encoder thread "
            f"{peak['ours-1'] / peak['naive']:.2f}; "
            f"ICC source {peak['ours-icc'] / peak['naive']:.2f}"
        )

        # 2. the bomb
        bomb_data = bomb.read_bytes()
        worker_runs: list[ChildResult] = []
        api_runs: list[ChildResult] = []
        for _ in range(BOMB_RUNS):
            worker_runs.append(launcher.run("bomb-worker", bomb))
            api_runs.append(launcher.run("bomb-api", bomb))
        in_process_worker = Stats.of([timed(lambda: bomb_worker(bomb_data))[0] for _ in range(20)])
        in_process_api = Stats.of([timed(lambda: bomb_api(bomb_data))[0] for _ in range(20)])
        unguarded = bomb_without_pillow_guard(bomb_data)
        print(f"  decompression bomb ({bomb_bytes / 1024:.0f} KiB), a fresh process per run:")
        for label, results in (("sniff + make_variants", worker_runs), ("API", api_runs)):
            print(
                f"    {label:<22} work {max(r.seconds for r in results) * 1e3:7.2f} ms (max), "
                f"peak +{max(r.delta_mb for r in results):.1f} MB (max; process "
                f"{max(r.peak_mb for r in results):.1f} MB, VmHWM delta "
                f"{max(r.hwm_delta_mb for r in results):.1f} MB), whole child "
                f"{statistics.median(r.wall for r in results):.2f} s; {results[0].outcome[:110]}"
            )
        print(in_process_worker.line("in process: sniff + make_variants on the bomb", "ms"))
        print(in_process_api.line("in process: sniff + image_size + check_pixels", "ms"))
        print(f"    with Pillow's MAX_IMAGE_PIXELS = None, open_checked: {unguarded[:110]}")

        worker_refused = all(r.outcome.startswith("ImageRejected") for r in worker_runs)
        api_refused = all(r.outcome.startswith("PixelLimitExceeded") for r in api_runs)
        worker_seconds = max(r.seconds for r in worker_runs)
        worker_mb = max(r.delta_mb for r in worker_runs)
        api_seconds = max(r.seconds for r in api_runs)

        rows = [
            (
                "24 MP JPEG -> 4 widths: time, ours / naive",
                f"<= {TARGET_TIME_RATIO}x",
                f"{time_ratio:.3f}x ({stats['ours'].median * 1e3:.0f} vs "
                f"{stats['naive'].median * 1e3:.0f} ms)",
                time_ratio <= TARGET_TIME_RATIO,
            ),
            (
                "  same, decode + resize only (reported)",
                "-",
                f"{noenc_ratio:.3f}x ({stats['ours-noenc'].median * 1e3:.0f} vs "
                f"{stats['naive-noenc'].median * 1e3:.0f} ms)",
                None,
            ),
            (
                "  ours with 1 encoder thread (reported)",
                "-",
                f"{one_ratio:.3f}x ({stats['ours-1'].median * 1e3:.0f} ms)",
                None,
            ),
            (
                "  ours, source with sRGB ICC (reported)",
                "-",
                f"{icc_ratio:.3f}x ({stats['ours-icc'].median * 1e3:.0f} ms)",
                None,
            ),
            (
                "24 MP JPEG -> 4 widths: peak memory",
                f"<= {TARGET_MEMORY_RATIO}x",
                f"{memory_ratio:.3f}x (+{peak['ours']:.0f} vs +{peak['naive']:.0f} MB)",
                memory_ratio <= TARGET_MEMORY_RATIO,
            ),
            (
                "Variants: count, bytes, EXIF",
                "8, same names as naive, no EXIF",
                f"{len(ours_files)}, {total:,} B, EXIF in {len(with_exif + icc_exif)}",
                variants_ok and not icc_exif,
            ),
            (
                f"Variants: JPEG at q{settings.jpeg_quality} in every run",
                "all",
                f"{sum(off_quality.values())} of {rounds * 4 * 3} JPEG files at another quality",
                not off_quality,
            ),
            (
                "Variants: XMP/ICC/comment (images.py docstring)",
                "none",
                f"{len(with_other + icc_other)} of {len(ours_files) * 2} files carry one",
                not with_other and not icc_other,
            ),
            (
                "Bomb: sniff + make_variants (child)",
                f"ImageRejected < {TARGET_BOMB_SECONDS:.0f} s, < {TARGET_BOMB_MB:.0f} MB",
                f"{'refused' if worker_refused else 'NOT refused'} in "
                f"{worker_seconds * 1e3:.1f} ms, +{worker_mb:.1f} MB",
                worker_refused
                and worker_seconds < TARGET_BOMB_SECONDS
                and worker_mb < TARGET_BOMB_MB,
            ),
            (
                "Bomb: API image_size + check_pixels",
                "PixelLimitExceeded",
                f"{'refused' if api_refused else 'NOT refused'} in {api_seconds * 1e3:.2f} ms",
                api_refused,
            ),
            (
                "Bomb with Pillow's guard off",
                "ImageRejected",
                unguarded.split(":")[0],
                unguarded.startswith("ImageRejected"),
            ),
            (
                "Inputs (JPEG 5-8.5 MB, bomb <= 500 KB)",
                "as specified",
                f"{len(data) / 1e6:.2f} MB, {bomb_bytes / 1024:.0f} KiB",
                source_ok,
            ),
        ]
        print("== summary")
        for figure, target, measured, ok in rows:
            result = "-" if ok is None else ("PASS" if ok else "FAIL")
            print(f"  {figure:<48} {target:<36} {measured:<40} {result}")
        print(
            verdict(
                time_ratio <= TARGET_TIME_RATIO,
                f"24 MP time: ours {stats['ours'].median * 1e3:.0f} ms vs naive "
                f"{stats['naive'].median * 1e3:.0f} ms = {time_ratio:.3f}x; target <= "
                f"{TARGET_TIME_RATIO}x",
            )
        )
        print(
            verdict(
                memory_ratio <= TARGET_MEMORY_RATIO,
                f"24 MP peak memory: ours +{peak['ours']:.1f} MB vs naive +{peak['naive']:.1f} MB"
                f" = {memory_ratio:.3f}x; target <= {TARGET_MEMORY_RATIO}x",
            )
        )
        print(
            verdict(
                variants_ok and not icc_exif,
                f"variants: {len(ours_files)} files ({', '.join(sorted(ours_files))}), "
                f"{total:,} bytes, EXIF in none: {not with_exif and not icc_exif}",
            )
        )
        print(
            verdict(
                not off_quality,
                f"every JPEG variant encoded at quality {settings.jpeg_quality}: "
                f"{off_quality or 'yes'}",
            )
        )
        print(
            verdict(
                not with_other and not icc_other,
                f"no XMP/ICC/comment in any variant, as images.py's docstring says: "
                f"{with_other + icc_other or 'none'}",
            )
        )
        print(
            verdict(
                worker_refused
                and worker_seconds < TARGET_BOMB_SECONDS
                and worker_mb < TARGET_BOMB_MB,
                f"bomb refused by sniff + make_variants in {worker_seconds * 1e3:.1f} ms with "
                f"+{worker_mb:.1f} MB; target < {TARGET_BOMB_SECONDS:.0f} s, "
                f"< {TARGET_BOMB_MB:.0f} MB",
            )
        )
        print(
            verdict(
                api_refused,
                f"bomb refused by the API's header check (PixelLimitExceeded) in "
                f"{api_seconds * 1e3:.2f} ms",
            )
        )
    finally:
        launcher.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2], sys.argv[3]))
    if sys.argv[1:] == ["--launcher"]:
        sys.exit(launcher())
    sys.exit(main())
