"""`cms import` (or the plain loop) against two checkouts of the project, interleaved: what a
change does to throughput, on a machine whose load drifts by more than the change does.

`bench/cms_import.py` gives the figures against the targets; one run of it against another
is no comparison here, where the plain loop alone moved from 36 to 48 files/s within an
hour. This script serves the same files from ``chalice local`` of each checkout in turn,
``--rounds`` times, swapping which goes first every round, and prints each run (files per
second, CPU seconds of the importer, the server process and its render workers) and the
median of each side with their ratio. The importer, the files and the client code are this
checkout's; only the server differs.

Run from the repository root, with the other side in a worktree:

    git worktree add /tmp/cms-base HEAD~1
    python bench/import_ab.py /tmp/cms-base [--files 2000] [--rounds 3] [--plain]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import _common
from _common import header, temp_root
from cms_import import cpu_spent, make_folder, plain_loop, run_import, start_server


def one_run(
    root: Path, folder: Path, files: list[Path], checkout: Path, label: str, *, plain: bool
) -> float:
    server = start_server(root, label, checkout=checkout)
    try:
        (folder / ".cms-import.json").unlink(missing_ok=True)
        started = time.perf_counter()
        if plain:
            _, cpu = cpu_spent(server, lambda: plain_loop(server.url, files))
        else:
            _, cpu = cpu_spent(server, lambda: run_import(server.url, folder))
        rate = len(files) / (time.perf_counter() - started)
        print(f"   {label:<12} {rate:7.1f} files/s   ({cpu})", flush=True)
        return rate
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path, help="the other checkout (a git worktree)")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="the plain loop, not cms import")
    args = parser.parse_args()
    kind = "plain loop" if args.plain else "cms import until rendered"
    header(f"{kind}, {args.files} files: {args.base} against this checkout, interleaved")
    sides = {"base": args.base.resolve(), "this": _common.REPO_ROOT}
    rates: dict[str, list[float]] = {"base": [], "this": []}
    with temp_root("import-ab") as root:
        folder = root / "site"
        files = make_folder(folder, args.files)
        for round_number in range(args.rounds):
            order = ["base", "this"] if round_number % 2 == 0 else ["this", "base"]
            for side in order:
                label = f"{side} #{round_number + 1}"
                rates[side].append(
                    one_run(root, folder, files, sides[side], label, plain=args.plain)
                )
    base, this = (statistics.median(rates[side]) for side in ("base", "this"))
    print(f"   median files/s: base {base:.1f}, this checkout {this:.1f}: {this / base:.2f}x")


if __name__ == "__main__":
    main()
