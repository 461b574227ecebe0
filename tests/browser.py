"""Headless Chromium through Selenium, for the editor's browser test and bench/admin_editor.py.

Debian's `chromium` and `chromium-driver` (`.ci/run` installs them): the driver is the system's
/usr/bin/chromedriver, named explicitly, so Selenium never looks for (or downloads) another.
The figures are the browser's own (the Performance API): bytes transferred, the time from the
start of navigation to the editor's `cms:list-rendered` mark, and the editor's `cms:preview`
measures (from the last keystroke to the preview frame's load).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DESKTOP = (1280, 900)
PHONE = (375, 812)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def chromium(size: tuple[int, int] = DESKTOP, *, cache: bool = True) -> Any:
    """A fresh headless Chromium (its own empty profile); ``cache=False`` disables the HTTP
    cache, so every load transfers every byte."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(*size)
    if not cache:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


def wait(condition: Callable[[], Any], timeout: float = 15.0, what: str = "a condition") -> Any:
    """Poll ``condition`` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # a stale element, a frame not loaded yet
            last = error
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}") from last


def console_errors(driver: Any) -> list[str]:
    """The page's console errors (a CSP violation, an exception) since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def png(width: int = 800, height: int = 500, color: tuple[int, int, int] = (30, 110, 200)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# A typical post: ~700 words with headings, lists, a quote, a table and code.
def typical_post() -> str:
    paragraph = (
        "Static sites read their content from the API at build time, and editors write it "
        "here: each entry is a Markdown file with front matter, rendered to sanitized HTML "
        "once it is saved. *Emphasis*, **strong text**, `inline code` and "
        "[links](https://example.com/docs) all render as the site will show them."
    )
    sections = []
    for number in range(1, 6):
        sections.append(
            f"## Part {number}\n\n{paragraph}\n\n{paragraph}\n\n"
            f"- first point of part {number}\n- second point\n  - a nested one\n\n"
            f"> A quotation in part {number}, which the preview styles.\n\n"
            "| Column | Value |\n|---|---|\n| one | 1 |\n| two | 2 |\n\n"
            f"```python\ndef part_{number}() -> int:\n    return {number}\n```\n"
        )
    return "# A typical post\n\n" + "\n".join(sections)


@dataclass(frozen=True)
class LoadFigures:
    transferred_bytes: int  # the page and every resource it fetched (HTTP cache disabled)
    resources: int
    list_ms: float  # navigation start -> the entry list rendered


def load_figures(driver: Any) -> LoadFigures:
    """What the page just loaded cost: bytes over the wire and the time to the list."""
    list_ms = wait(
        lambda: driver.execute_script(
            "const m = performance.getEntriesByName('cms:list-rendered');"
            "return m.length ? m[0].startTime : null;"
        ),
        what="the entry list",
    )
    sizes = driver.execute_script(
        "return [performance.getEntriesByType('navigation')[0].transferSize,"
        " ...performance.getEntriesByType('resource').map(r => r.transferSize)];"
    )
    return LoadFigures(int(sum(sizes)), len(sizes) - 1, float(list_ms))


def resource_sizes(driver: Any) -> list[tuple[str, int]]:
    """The page's own transfer and each resource's, by path (query string kept)."""
    rows = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [[n.name, n.transferSize],"
        " ...performance.getEntriesByType('resource').map(r => [r.name, r.transferSize])];"
    )
    origin = driver.execute_script("return location.origin;")
    return [(str(name).removeprefix(origin), int(size)) for name, size in rows]


def preview_latencies(driver: Any) -> list[float]:
    """Every `cms:preview` measure so far, in ms."""
    return list(
        driver.execute_script(
            "return performance.getEntriesByName('cms:preview').map(m => m.duration);"
        )
    )


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ordered[-1]:.0f} ms (n={len(ordered)})"
    )
