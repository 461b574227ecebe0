"""The API function must not pay for Markdown, nh3, Pygments or Pillow at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("PIL", "markdown", "nh3", "pygments", "boto3")


def test_import_app_loads_no_renderer_or_image_library() -> None:
    code = f"import sys, app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_handling_a_delivery_request_loads_no_renderer(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        f"os.environ['CMS_DATA_DIR'] = {str(tmp_path)!r}\n"
        "from chalice.test import Client\n"
        "import app\n"
        "with Client(app.app, stage_name='local') as c:\n"
        "    assert c.http.get('/health').status_code == 200\n"
        "    assert c.http.get('/v1/content/blog').status_code == 404\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
