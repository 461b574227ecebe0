"""What an editor does in the browser at /admin, step by step, and the figures the editor is
held to; used by tests/test_admin_editor.py and bench/admin_editor.py."""

from __future__ import annotations

import base64
import statistics
import time
from pathlib import Path
from typing import Any

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import LoadFigures, load_figures, preview_latencies, typical_post, wait

KEY_ITEM = "cms.key"
FIELDS = {
    "category": {"type": "enum", "values": ["news", "guides"], "required": True},
    "rating": {"type": "number", "description": "From 1 to 5."},
    "featured": {"type": "boolean"},
    "event_at": {"type": "datetime", "description": "When the event takes place."},
    "aliases": {"type": "list"},
    "notes": {"type": "text", "max_length": 2000},
    "related": {"type": "reference", "collection": "blog"},
}
TYPICAL = "a-typical-post"


def seed(url: str, key: str, entries: int = 30, image: bytes | None = None) -> None:
    """The collection 'blog' (a schema with a required field), ``entries`` short posts (some
    published) and a typical post to preview (with ``image`` in it, if given)."""
    auth = {"Authorization": f"Bearer {key}"}
    body = typical_post()
    if image is not None:
        r = requests.post(
            f"{url}/v1/manage/media?filename=circle.png&alt=A%20blue%20circle",
            data=image,
            headers={**auth, "Content-Type": "image/png"},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        body = body.replace("## Part 2", f"![A blue circle](media:{r.json()['id']})\n\n## Part 2")
    spec = {"title": "Blog", "description": "News and guides.", "fields": FIELDS}
    r = requests.put(f"{url}/v1/manage/collections/blog", json=spec, headers=auth, timeout=30)
    assert r.status_code in (200, 201), r.text
    for number in range(1, entries + 1):
        post = {
            "front_matter": {"title": f"Post number {number:02d}", "category": "news"},
            "body": f"# Post {number}\n\nA short post.\n",
        }
        r = requests.post(f"{url}/v1/manage/content/blog", json=post, headers=auth, timeout=30)
        assert r.status_code == 201, r.text
        if number % 3 == 0:
            slug = r.json()["slug"]
            publish = f"{url}/v1/manage/content/blog/{slug}/publish"
            assert requests.post(publish, headers=auth, timeout=30).status_code == 200
    typical = {
        "slug": TYPICAL,
        "front_matter": {"title": "A typical post", "category": "guides"},
        "body": body,
    }
    r = requests.post(f"{url}/v1/manage/content/blog", json=typical, headers=auth, timeout=30)
    assert r.status_code == 201, r.text


def status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "status").text)


def wait_status(driver: Any, text: str, timeout: float = 15) -> str:
    return str(wait(lambda: text in status(driver) and status(driver), timeout, repr(text)))


def enter_key(driver: Any, url: str, key: str, fragment: str = "") -> None:
    driver.get(f"{url}/admin{fragment}")
    field = wait(lambda: driver.find_element(By.NAME, "key"), what="the key form")
    field.send_keys(key, Keys.ENTER)
    wait(lambda: driver.find_element(By.ID, "sidebar").is_displayed(), what="the collections")


def with_key(driver: Any, url: str, key: str) -> None:
    """The key in this tab's sessionStorage, as if pasted, for the next loads."""
    driver.get(f"{url}/admin")
    driver.execute_script("sessionStorage.setItem(arguments[0], arguments[1])", KEY_ITEM, key)


def markdown(driver: Any) -> Any:
    return wait(lambda: driver.find_element(By.NAME, "body"), what="the Markdown editor")


def preview_html(driver: Any) -> str:
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.preview")
    driver.switch_to.frame(frame)
    try:
        return str(driver.execute_script("return document.body ? document.body.innerHTML : ''"))
    finally:
        driver.switch_to.default_content()


def wait_preview(driver: Any, needle: str, timeout: float = 15) -> str:
    return str(wait(lambda: needle in (html := preview_html(driver)) and html, timeout, needle))


def press(element: Any, key: str) -> None:
    """Ctrl+key, as an editor presses it."""
    element.send_keys(Keys.CONTROL, key)


def button(driver: Any, text: str, within: Any = None) -> Any:
    scope = within or driver
    return wait(
        lambda: next(b for b in scope.find_elements(By.TAG_NAME, "button") if b.text == text),
        what=f"the button {text!r}",
    )


def upload(driver: Any, scope: Any, path: Path) -> Any:
    """Choose ``path`` in the library's file input; the asset's card once it is ready."""
    before = len(scope.find_elements(By.CSS_SELECTOR, ".media-card"))
    scope.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    wait(
        lambda: len(scope.find_elements(By.CSS_SELECTOR, ".media-card")) > before,
        30,
        "the uploaded asset",
    )
    return scope.find_elements(By.CSS_SELECTOR, ".media-card")[0]


def drop(driver: Any, target: Any, name: str, data: bytes, content_type: str) -> None:
    """A file dropped on ``target``: the drop event a drag from the desktop gives."""
    driver.execute_script(
        """
        const [target, name, b64, type] = arguments;
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type}));
        for (const kind of ["dragenter", "dragover", "drop"]) {
          target.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true,
                                                    dataTransfer: transfer}));
        }
        """,
        target,
        name,
        base64.b64encode(data).decode(),
        content_type,
    )


def overflows(driver: Any) -> bool:
    """Whether the page is wider than the window (a horizontal scroll on a phone)."""
    return bool(
        driver.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;"
        )
    )


def measure_load(driver: Any, url: str, key: str, runs: int = 5) -> list[LoadFigures]:
    """Loads of /admin#/c/blog with the key in the tab and the HTTP cache disabled: every
    byte of the page, its scripts and styles and the API answers crosses the wire."""
    with_key(driver, url, key)
    figures = []
    for _ in range(runs):
        driver.get("about:blank")
        driver.get(f"{url}/admin#/c/blog")
        figures.append(load_figures(driver))
    return figures


def measure_preview(driver: Any, url: str, key: str, keys: str = "abcdefghijkl") -> list[float]:
    """The typical post in the editor: type ``keys`` with a pause after each; the latency of
    each preview refresh (from the keystroke to the preview frame loaded), in ms."""
    with_key(driver, url, key)
    driver.get(f"{url}/admin#/c/blog/e/{TYPICAL}")
    area = markdown(driver)
    wait_preview(driver, "Part 5")
    area.send_keys(Keys.CONTROL, Keys.END)
    area.send_keys(Keys.ENTER, Keys.ENTER)
    time.sleep(0.5)
    before = len(preview_latencies(driver))
    for index, key_pressed in enumerate(keys, 1):
        area.send_keys(key_pressed)
        wait(lambda n=before + index: len(preview_latencies(driver)) >= n, what="a preview")
        time.sleep(0.4)
    return preview_latencies(driver)[before:]


def median(samples: list[float]) -> float:
    return float(statistics.median(samples))
