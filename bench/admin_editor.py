"""The editor at /admin in headless Chromium against `chalice local`: what it weighs, how soon
it shows the entry list, how soon the preview follows typing.

`chalice local` (the README's command) on a fresh data dir, seeded with the collection 'blog'
(31 entries, one a typical ~900-word post with headings, lists, a quote, a table, code and an
image). Then, in a fresh browser profile with the HTTP cache disabled, read with the
browser's Performance API:

- bytes transferred to show /admin#/c/blog (the page, its CSS and modules, the API answers):
  the navigation's and every resource's transferSize, over 10 loads;
- the time from navigation start to the entry list rendered (the editor's
  `cms:list-rendered` mark), over the same 10 loads;
- the preview's latency: the typical post open, 12 characters typed with a pause after
  each; from each keystroke to the preview frame loaded with the new rendering (the editor's
  `cms:preview` measures; the editor waits 150 ms for typing to pause, then asks the server).

Targets: < 300 KB transferred, list < 1 s, preview < 300 ms (medians for the times).
With --screenshots DIR it also saves the main screens as PNG files (docs/editor/).

Run from the repository root:  python bench/admin_editor.py [--screenshots docs/editor]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import requests
from _common import ADMIN_KEY, LocalServer, header, temp_root, verdict

from tests import browser
from tests.editor_steps import (
    TYPICAL,
    button,
    enter_key,
    markdown,
    measure_load,
    measure_preview,
    seed,
    wait_preview,
    wait_status,
)

MAX_BYTES = 300_000
MAX_LIST_MS = 1_000
MAX_PREVIEW_MS = 300
LOADS = 10


def list_and_entry(driver: Any, url: str, folder: Path, prefix: str) -> None:
    """The entry list and the typical post in the editor, as ``{prefix}entries.png`` and
    ``{prefix}editor.png``."""
    from selenium.webdriver.common.by import By

    enter_key(driver, url, ADMIN_KEY, "#/c/blog")
    browser.wait(lambda: driver.find_elements(By.CSS_SELECTOR, "table.entries tbody tr"))
    driver.save_screenshot(str(folder / f"{prefix}entries.png"))
    driver.get(f"{url}/admin#/c/blog/e/{TYPICAL}")
    wait_preview(driver, "<picture")
    driver.execute_script("document.querySelector('.panes').scrollIntoView()")
    driver.save_screenshot(str(folder / f"{prefix}editor.png"))


def screenshots(url: str, folder: Path) -> None:
    """The main screens, desktop and phone, as an editor sees them."""
    from selenium.webdriver.common.by import By

    folder.mkdir(parents=True, exist_ok=True)
    desk = browser.chromium()
    try:
        desk.get(f"{url}/admin")
        browser.wait(lambda: desk.find_element(By.NAME, "key"))
        desk.save_screenshot(str(folder / "key.png"))
        list_and_entry(desk, url, folder, "")
        auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
        entry = f"{url}/v1/manage/content/blog/{TYPICAL}"
        current = requests.get(entry, headers=auth, timeout=30)
        changed = {**current.json()["front_matter"], "summary": "Changed elsewhere."}
        requests.patch(
            entry,
            json={"front_matter": changed},
            headers={**auth, "If-Match": current.headers["ETag"]},
            timeout=30,
        ).raise_for_status()
        markdown(desk).send_keys(" An edit.")
        button(desk, "Save").click()
        browser.wait(lambda: desk.find_element(By.CSS_SELECTOR, ".conflict").is_displayed())
        desk.execute_script("window.scrollTo(0, 0)")
        desk.save_screenshot(str(folder / "conflict.png"))
        button(desk, "Load the saved version (discard mine)").click()
        wait_status(desk, "Loaded")
        desk.get(f"{url}/admin#/media")
        browser.wait(lambda: desk.find_elements(By.CSS_SELECTOR, ".media-card .thumb img"))
        desk.save_screenshot(str(folder / "media.png"))
    finally:
        desk.quit()
    phone = browser.chromium(browser.PHONE)
    try:
        list_and_entry(phone, url, folder, "phone-")
    finally:
        phone.quit()
    print(f"  screenshots: {', '.join(sorted(p.name for p in folder.glob('*.png')))}")


def measure(url: str) -> tuple[list[Any], list[tuple[str, int]], list[float]]:
    cold = browser.chromium(cache=False)
    try:
        loads = measure_load(cold, url, ADMIN_KEY, runs=LOADS)
        sizes = browser.resource_sizes(cold)
    finally:
        cold.quit()
    warm = browser.chromium()  # as an editor's browser is: its cache keeps what it may
    try:
        latencies = measure_preview(warm, url, ADMIN_KEY)
    finally:
        warm.quit()
    return loads, sizes, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--screenshots", type=Path, help="save the main screens here")
    args = parser.parse_args()
    if not browser.available():
        print("needs chromium and chromium-driver: apt-get install -y chromium chromium-driver")
        return 2
    header("The editor at /admin: weight, time to the entry list, preview latency")
    with temp_root("admin-editor") as root:
        server = LocalServer(root, "editor")
        try:
            seed(server.url, ADMIN_KEY, image=browser.png())
            loads, sizes, latencies = measure(server.url)
            if args.screenshots:
                screenshots(server.url, args.screenshots)
        finally:
            server.stop()

    print(f"\n  one load of /admin#/c/blog, cache disabled ({len(sizes) - 1} resources):")
    for name, size in sizes:
        print(f"    {size:>8,} B  {name}")
    heaviest = max(f.transferred_bytes for f in loads)
    list_times = sorted(f.list_ms for f in loads)
    print(f"\n  transferred: {heaviest:,} B at most over {len(loads)} loads")
    print(
        f"  entry list rendered after: median {statistics.median(list_times):.0f} ms, "
        f"max {list_times[-1]:.0f} ms (n={len(list_times)})"
    )
    print(f"  preview after a keystroke: {browser.summary(latencies)}")
    checks = [
        (heaviest < MAX_BYTES, f"/admin transfers {heaviest:,} B < {MAX_BYTES:,} B"),
        (
            statistics.median(list_times) < MAX_LIST_MS,
            f"entry list in {statistics.median(list_times):.0f} ms < {MAX_LIST_MS} ms",
        ),
        (
            statistics.median(latencies) < MAX_PREVIEW_MS,
            f"preview in {statistics.median(latencies):.0f} ms < {MAX_PREVIEW_MS} ms (median)",
        ),
    ]
    print()
    for ok, text in checks:
        print(verdict(ok, text))
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
