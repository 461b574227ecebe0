"""Cold start of the API function: what ``import app`` loads, and how long it takes.

Target (DESIGN.md, "Cold start is a feature"): after ``import app`` none of PIL, markdown,
nh3, pygments is in ``sys.modules`` (the render and thumbnail handlers import them lazily).
Also reported: the import time of ``import app`` next to ``import chalice`` alone, each the
median of fresh interpreter runs, and the slowest modules of one ``-X importtime`` run.

Run from the repository root:  python bench/cold_start.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import _common
from _common import REPO_ROOT, Stats, header, temp_root, verdict

HEAVY = ("PIL", "markdown", "nh3", "pygments")
RUNS = 12

# Timed inside the fresh interpreter, so interpreter start-up is not counted; the clock and
# json are imported first (json is part of the app's own imports anyway).
PROBE = """
import time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
import json, sys
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps({{"seconds": elapsed, "loaded": loaded, "modules": len(sys.modules)}}))
"""


def run_probe(module: str, env: dict[str, str]) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def import_profile(env: dict[str, str]) -> tuple[int, list[tuple[int, str]], list[tuple[int, str]]]:
    """One ``-X importtime`` run of ``import app``: its cumulative microseconds, the direct
    imports of app by cumulative time, and every module's self time (slowest first)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    direct: list[tuple[int, str]] = []
    own: list[tuple[int, str]] = []
    children: list[tuple[int, str]] = []  # importtime prints a module's imports before it
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, raw = line[len("import time:") :].split("|")
        depth = (len(raw) - len(raw.lstrip()) - 1) // 2
        name = raw.strip()
        own.append((int(self_us), name))
        if depth == 1:
            children.append((int(cumulative_us), name))
        elif depth == 0:
            if name == "app":
                total, direct = int(cumulative_us), children
            children = []
    return total, sorted(direct, reverse=True), sorted(own, reverse=True)


def by_package(own: list[tuple[int, str]]) -> list[tuple[int, str]]:
    totals: dict[str, int] = {}
    for micros, name in own:
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0) + micros
    return sorted(((v, k) for k, v in totals.items()), reverse=True)


def main() -> int:
    header("cold start: import app")
    with temp_root("cold") as root:
        env = {
            **os.environ,
            "CMS_DATA_DIR": str(root / "data"),
            "CMS_ADMIN_KEY": _common.ADMIN_KEY,
            "CMS_BACKEND": "local",
        }
        env.pop("PYTHONPATH", None)
        # Warm the OS file cache and the .pyc files once; then alternate the two probes.
        run_probe("app", env)
        run_probe("chalice", env)
        app_runs, chalice_runs = [], []
        for _ in range(RUNS):
            app_runs.append(run_probe("app", env))
            chalice_runs.append(run_probe("chalice", env))
        total_us, direct, own = import_profile(env)
        packages = by_package(own)
        data_dir_created = (root / "data").exists()

    app_times = Stats.of([float(r["seconds"]) for r in app_runs])  # type: ignore[arg-type]
    chalice_times = Stats.of([float(r["seconds"]) for r in chalice_runs])  # type: ignore[arg-type]
    loaded = sorted({m for r in app_runs for m in r["loaded"]})  # type: ignore[attr-defined]

    print(f"  fresh interpreter per run, {RUNS} runs each, timed around the import statement")
    print(app_times.line("import app", "ms"))
    print(chalice_times.line("import chalice (alone)", "ms"))
    extra = app_times.median - chalice_times.median
    print(
        f"  import app costs {extra * 1e3:.1f} ms more than import chalice "
        f"({app_times.median / chalice_times.median:.1f}x); modules loaded: "
        f"app {app_runs[0]['modules']}, chalice {chalice_runs[0]['modules']}"
    )
    print(f"  one `python -X importtime -c 'import app'` run: app {total_us / 1e3:.1f} ms in all")
    print("    direct imports of app (cumulative):")
    for micros, name in direct:
        print(f"      {micros / 1e3:8.1f} ms  {name}")
    print("    self time by top-level package (where the time goes):")
    for micros, name in packages[:8]:
        print(f"      {micros / 1e3:8.1f} ms  {name}")
    print("    modules with the most self time:")
    for micros, name in own[:8]:
        print(f"      {micros / 1e3:8.1f} ms  {name}")
    print(f"  heavy modules after import app: {loaded or 'none'}")
    print(f"  CMS_DATA_DIR created by the import: {data_dir_created}")
    print(
        verdict(
            not loaded,
            f"none of {', '.join(HEAVY)} is in sys.modules after `import app`"
            + (f" (found: {', '.join(loaded)})" if loaded else ""),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
