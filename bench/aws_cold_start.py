"""Cold start on the AWS backend: a whole fresh interpreter running ``import app`` against one
running ``import boto3, chalice`` (the floor any Chalice function on boto3 pays).

Each sample is the wall time of a complete ``python -c ...`` subprocess (interpreter start-up,
imports, exit), timed from the parent, with the environment of the ``dev`` stage of
``.chalice/config.json`` (CMS_BACKEND=aws, CMS_STAGE=dev) plus a region and dummy
credentials. The variants run interleaved, RUNS times each, after one untimed run of each
(so bytecode caches are warm for both sides). Also reported, for information: ``import app``
followed by building the AWS container (``wiring.container()``: settings and the four boto3
clients, no network call), which is what the first request adds before its first AWS call.

A separate probe run reports which heavy modules ``import app`` loads: none of PIL, markdown,
nh3 may be there (the render function imports them lazily); whether boto3 is loaded is
reported (the AWS adapters import it when the container is built, not at import).

Target: median(import app) <= 1.3 x median(import boto3, chalice).

Run from the repository root:  python bench/aws_cold_start.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from _common import REPO_ROOT, Stats, header, verdict

RUNS = 15
TARGET_RATIO = 1.3
HEAVY = ("PIL", "markdown", "nh3", "pygments")
VARIANTS = {
    "import app": "import app",
    "import boto3, chalice": "import boto3, chalice",
    "import app + build the AWS container (info)": (
        "import app; from chalicelib import wiring; wiring.container()"
    ),
}
PROBE = "import sys, json, app; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def stage_env() -> dict[str, str]:
    config = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMS_", "AWS_"))}
    env.update(config.get("environment_variables", {}))
    env.update(config["stages"]["dev"].get("environment_variables", {}))
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    return env


def run(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    header(f"AWS cold start: whole-process `python -c` runs, {RUNS} each, interleaved")
    env = stage_env()
    print(f"   stage env: CMS_BACKEND={env.get('CMS_BACKEND')} CMS_STAGE={env.get('CMS_STAGE')}")
    for code in VARIANTS.values():  # untimed: bytecode caches, page cache
        run(code, env)
    samples: dict[str, list[float]] = {label: [] for label in VARIANTS}
    for index in range(RUNS):
        order = list(VARIANTS.items())
        if index % 2:
            order.reverse()
        for label, code in order:
            samples[label].append(run(code, env))
    stats = {label: Stats.of(values) for label, values in samples.items()}
    for label, value in stats.items():
        print(value.line(label, "ms"))

    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    probe.check_returncode()
    loaded = set(json.loads(probe.stdout.strip().splitlines()[-1]))
    heavy = sorted(loaded & set(HEAVY))
    print(f"  heavy modules after `import app`: {', '.join(heavy) or 'none'}")
    print(f"  boto3 loaded by `import app`: {'yes' if 'boto3' in loaded else 'no'}")
    powertools = "aws_lambda_powertools" in loaded
    print(f"  powertools loaded by `import app`: {'yes' if powertools else 'no'}")

    app_median = stats["import app"].median
    floor = stats["import boto3, chalice"].median
    ratio = app_median / floor
    print(f"  ratio import app / import boto3, chalice: {ratio:.2f}x (medians)")
    ok_heavy = not (set(heavy) & {"PIL", "markdown", "nh3"})
    print(
        verdict(
            ok_heavy,
            "none of PIL, markdown, nh3 loaded by `import app` "
            f"(found: {', '.join(heavy) or 'none'})",
        )
    )
    print(
        verdict(
            ratio <= TARGET_RATIO,
            f"import app {app_median * 1e3:.0f} ms vs import boto3, chalice {floor * 1e3:.0f} ms: "
            f"{ratio:.2f}x; target <= {TARGET_RATIO}x",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
