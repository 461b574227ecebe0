"""The editor at /admin in a real browser (Debian's chromium through chromium-driver), against
`chalice local`: what an editor does, end to end, and the editor's size and speed.

One server per module, seeded with the collection 'blog' (a schema with a required field) and
31 entries. Direct uploads are limited to 64 KB on it, so a larger image takes the presigned
path, as a large file does with the default limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import browser
from tests.editor_steps import (
    button,
    drop,
    enter_key,
    markdown,
    measure_load,
    measure_preview,
    median,
    overflows,
    press,
    seed,
    status,
    upload,
    wait_preview,
    wait_status,
)
from tests.test_local_server import ADMIN_KEY, LocalServer

pytestmark = pytest.mark.slow
if not browser.available():
    if os.environ.get("CI"):
        raise RuntimeError(".ci/run installs chromium and chromium-driver")
    pytest.skip("needs chromium and chromium-driver (apt-get install)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402  (after the skip: selenium needed)

DIRECT_LIMIT = 65_536
MAX_TRANSFER_BYTES = 300_000
# The time targets (list < 1 s, preview < 300 ms) are the bench's to judge, on a quiet
# machine (bench/admin_editor.py); here the suite's other worker shares the two cores, so
# the test measures the same figures, reports them, and fails only on a gross regression.
GROSS_LIST_MS = 5_000
GROSS_PREVIEW_MS = 2_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    root = tmp_path_factory.mktemp("editor")
    running = LocalServer(root / "cms-data", {"CMS_MEDIA_MAX_DIRECT_BYTES": str(DIRECT_LIMIT)})
    running.start()
    seed(running.url, ADMIN_KEY, image=browser.png())
    yield running
    running.stop()


@pytest.fixture
def driver() -> Iterator[Any]:
    chrome = browser.chromium()
    yield chrome
    chrome.quit()


def _every_control_is_labelled(driver: Any) -> None:
    unlabelled = driver.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.ariaLabel)"
        ".map(e => e.outerHTML);"
    )
    assert unlabelled == []


def _no_policy_violations(driver: Any) -> None:
    """Nothing the page tried was refused by its Content-Security-Policy, nothing threw (the
    4xx answers the flow provokes on purpose are logged as failed loads: those are fine)."""
    bad = [
        m
        for m in browser.console_errors(driver)
        if "Content Security Policy" in m or "Uncaught" in m or "TypeError" in m
    ]
    assert not bad, bad


def test_write_preview_upload_insert_save_publish_deliver_and_conflict(
    server: LocalServer, driver: Any, tmp_path: Path
) -> None:
    image = tmp_path / "blue-circle.png"
    image.write_bytes(browser.png(640, 400))
    enter_key(driver, server.url, ADMIN_KEY)
    driver.find_element(By.CSS_SELECTOR, "#sidebar a[href='#/c/blog']").click()
    browser.wait(lambda: driver.find_elements(By.CSS_SELECTOR, "table.entries tbody tr"))
    driver.find_element(By.LINK_TEXT, "New entry").click()
    browser.wait(lambda: driver.find_elements(By.NAME, "title"))
    assert driver.switch_to.active_element.get_attribute("id") == "main"  # the new view

    # type: the preview follows, rendered by the server in a frame that runs no script
    driver.find_element(By.NAME, "title").send_keys("Hello from the editor")
    area = markdown(driver)
    area.clear()
    area.send_keys("# Hello editor\n\nSome *typed* Markdown.\n")
    html = wait_preview(driver, "Hello editor")
    assert "<em>typed</em>" in html
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.preview")
    assert frame.get_attribute("sandbox") == ""

    # upload an image in the library dialog and insert it: the preview shows it
    opener = button(driver, "Insert image…")
    opener.click()
    dialog = browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, "dialog.media-dialog"))
    card = upload(driver, dialog, image)
    browser.wait(lambda: card.find_element(By.CSS_SELECTOR, ".thumb img"), 30, "the thumbnail")
    button(driver, "Insert", card).click()
    assert "](media:" in area.get_attribute("value")
    assert driver.switch_to.active_element == area  # back where the image went
    html = wait_preview(driver, "<picture")
    assert "/v1/media/" in html
    driver.switch_to.frame(frame)
    loaded = browser.wait(
        lambda: driver.execute_script(
            "const i = document.querySelector('picture img'); return i && i.naturalWidth;"
        ),
        what="the image loaded in the preview",
    )
    driver.switch_to.default_content()
    assert loaded > 0

    # save without the required field: the API's message shows next to it, focused
    _every_control_is_labelled(driver)
    category = driver.find_element(By.NAME, "category")
    label = driver.find_element(By.CSS_SELECTOR, f"label[for='{category.get_attribute('id')}']")
    assert category.get_property("required") and "(required)" in label.get_attribute("textContent")
    button(driver, "Save").click()
    browser.wait(lambda: category.get_attribute("aria-invalid") == "true", what="the error")
    assert driver.switch_to.active_element == category
    note = category.find_element(By.XPATH, "./following-sibling::p[@class='field-error']")
    assert note.text
    assert note.get_attribute("id") in category.get_attribute("aria-describedby")
    driver.find_element(By.CSS_SELECTOR, "select[name=category] option[value=news]").click()
    press(area, "s")
    wait_status(driver, "Created and saved.")
    browser.wait(lambda: driver.current_url.endswith("#/c/blog/e/hello-from-the-editor"))

    # publish, then read it where a site does
    button(driver, "Publish now").click()
    wait_status(driver, "Published.")
    link = browser.wait(lambda: driver.find_element(By.LINK_TEXT, "Open on the delivery API"))
    delivery = link.get_attribute("href")
    editor_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(delivery)
    delivered = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    assert delivered["title"] == "Hello from the editor"
    assert "<picture" in delivered["html"] and "Some <em>typed</em> Markdown." in delivered["html"]

    # the same entry edited in a second tab (whose sessionStorage has no key yet) and saved
    enter_key(driver, server.url, ADMIN_KEY, "#/c/blog/e/hello-from-the-editor")
    other = markdown(driver)
    other.send_keys("\nEdited in the second tab.\n")
    press(other, "s")
    wait_status(driver, "Saved.")
    driver.close()
    driver.switch_to.window(editor_tab)

    # ... so saving this tab's edit is a conflict, said plainly, and reloading shows theirs
    markdown(driver).send_keys("\nEdited in the first tab.\n")
    button(driver, "Save").click()
    conflict = browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, ".conflict"))
    browser.wait(conflict.is_displayed, what="the conflict message")
    assert "This entry was changed elsewhere" in conflict.text
    button(driver, "Load the saved version (discard mine)").click()
    browser.wait(lambda: "second tab" in markdown(driver).get_attribute("value"))
    _no_policy_violations(driver)


def test_front_matter_fields_are_typed_by_the_schema(server: LocalServer, driver: Any) -> None:
    enter_key(driver, server.url, ADMIN_KEY, "#/c/blog/new")
    field = lambda name: driver.find_element(By.NAME, name)  # noqa: E731
    kinds = {
        name: (field(name).tag_name, field(name).get_attribute("type"))
        for name in ("title", "summary", "tags", "category", "rating", "featured", "event_at")
    }
    assert kinds == {
        "title": ("input", "text"),
        "summary": ("textarea", "textarea"),
        "tags": ("input", "text"),
        "category": ("select", "select-one"),
        "rating": ("input", "number"),
        "featured": ("input", "checkbox"),
        "event_at": ("input", "datetime-local"),
    }
    assert field("notes").tag_name == "textarea"
    options = browser.wait(
        lambda: driver.execute_script(
            "return [...arguments[0].list.options].map(o => o.value);", field("related")
        ),
        what="the reference's choices",
    )
    assert "post-number-01" in options
    field("title").send_keys("Typed fields")
    driver.find_element(By.CSS_SELECTOR, "select[name=category] option[value=guides]").click()
    field("rating").send_keys("4.5")
    field("featured").click()
    driver.execute_script("arguments[0].value = '2030-05-06T07:08'", field("event_at"))
    field("aliases").send_keys("one, two ,, three")
    field("related").send_keys("post-number-01")
    press(field("title"), "s")
    wait_status(driver, "Created and saved.")
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    saved = requests.get(
        f"{server.url}/v1/manage/content/blog/typed-fields", headers=auth, timeout=10
    ).json()["front_matter"]
    offset = driver.execute_script("return new Date('2030-05-06T07:08').toISOString();")
    assert saved == {
        "title": "Typed fields",
        "category": "guides",
        "rating": 4.5,
        "featured": True,
        "event_at": offset.replace(".000Z", "Z"),
        "aliases": ["one", "two", "three"],
        "related": "post-number-01",
    }


def test_front_matter_without_a_field_is_kept_as_json(server: LocalServer, driver: Any) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    base = f"{server.url}/v1/manage"
    requests.put(f"{base}/collections/notes", json={"title": "Notes"}, headers=auth, timeout=10)
    note = {"slug": "n", "front_matter": {"title": "N", "weight": 3, "draft": False}, "body": "x"}
    assert requests.post(f"{base}/content/notes", json=note, headers=auth, timeout=10).ok
    enter_key(driver, server.url, ADMIN_KEY, "#/c/notes/e/n")
    other = browser.wait(lambda: driver.find_element(By.NAME, "__other"))
    assert other.is_displayed()  # open: there is something in it
    assert json.loads(other.get_attribute("value")) == {"weight": 3, "draft": False}
    kept = other.get_attribute("value")
    other.clear()
    other.send_keys("[3]")
    press(other, "s")
    summary = browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, ".error-summary"))
    browser.wait(lambda: "Other fields: not a JSON object" in summary.text, what="the error")
    assert status(driver) == "Not saved."
    other.clear()
    other.send_keys(kept)
    markdown(driver).send_keys(" More.")
    press(markdown(driver), "s")
    wait_status(driver, "Saved.")
    saved = requests.get(f"{base}/content/notes/n", headers=auth, timeout=10).json()
    assert saved["front_matter"] == {"title": "N", "weight": 3, "draft": False}
    assert saved["body"] == "x More."


def test_revisions_schedule_unpublish_and_delete(server: LocalServer, driver: Any) -> None:
    enter_key(driver, server.url, ADMIN_KEY, "#/c/blog/new")
    driver.find_element(By.NAME, "title").send_keys("Short lived")
    driver.find_element(By.CSS_SELECTOR, "select[name=category] option[value=guides]").click()
    area = markdown(driver)
    area.clear()
    area.send_keys("First version.")
    press(area, "s")
    wait_status(driver, "Created and saved.")
    area = markdown(driver)
    browser.wait(lambda: "First version." in area.get_attribute("value"))
    area.send_keys(" Second version.")
    press(area, "s")
    wait_status(driver, "Saved.")

    # leaving with unsaved changes asks first
    area.send_keys(" Not saved yet.")
    driver.find_element(By.LINK_TEXT, "All Blog").click()
    dialog = browser.wait(lambda: driver.find_element(By.ID, "confirm"))
    browser.wait(dialog.is_displayed, what="the question")
    assert "not saved" in dialog.text
    driver.find_element(By.ID, "confirm-cancel").click()
    browser.wait(lambda: "/e/short-lived" in driver.current_url, what="the entry kept")
    assert "Not saved yet." in markdown(driver).get_attribute("value")
    press(markdown(driver), "s")
    wait_status(driver, "Saved.")

    driver.find_element(By.CSS_SELECTOR, "details.panel summary").click()
    button(driver, "Restore")  # the list is loaded
    oldest = driver.find_elements(By.CSS_SELECTOR, ".revisions button")[-1]
    oldest.click()
    wait_status(driver, "Restored")
    browser.wait(lambda: "Second" not in markdown(driver).get_attribute("value"))

    when = driver.find_element(By.NAME, "publish_at")
    driver.execute_script("arguments[0].value = '2031-01-02T09:30'", when)
    button(driver, "Schedule").click()
    wait_status(driver, "Scheduled for")
    browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, ".badges .state-scheduled"))
    button(driver, "Unpublish").click()
    wait_status(driver, "Unpublished.")
    browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, ".badges .state-draft"))

    button(driver, "Delete this entry…").click()
    dialog = driver.find_element(By.ID, "confirm")
    assert dialog.is_displayed() and "Short lived" in dialog.text
    driver.find_element(By.ID, "confirm-ok").click()
    wait_status(driver, "Deleted")
    browser.wait(lambda: driver.current_url.endswith("#/c/blog"))
    _no_policy_violations(driver)


def test_the_list_filters_searches_and_pages(server: LocalServer, driver: Any) -> None:
    enter_key(driver, server.url, ADMIN_KEY, "#/c/blog")
    rows = lambda: driver.find_elements(By.CSS_SELECTOR, "table.entries tbody tr")  # noqa: E731
    browser.wait(lambda: len(rows()) == 25, what="a full page")
    button(driver, "Next page").click()
    browser.wait(lambda: "Page 2" in driver.find_element(By.CSS_SELECTOR, "main p.muted").text)
    button(driver, "Previous page").click()
    browser.wait(lambda: len(rows()) == 25)
    driver.find_element(By.CSS_SELECTOR, "select[name=state] option[value=published]").click()
    browser.wait(lambda: rows() and all("published" in r.text for r in rows()))
    driver.find_element(By.CSS_SELECTOR, "select[name=state] option[value='']").click()
    driver.find_element(By.NAME, "q").send_keys("number 07")
    titles = lambda: [r.find_element(By.TAG_NAME, "td").text for r in rows()]  # noqa: E731
    browser.wait(lambda: titles() == ["Post number 07"], what="the search result")
    _no_policy_violations(driver)


def test_media_library_drop_presigned_alt_text_and_copy(
    server: LocalServer, driver: Any, tmp_path: Path
) -> None:
    enter_key(driver, server.url, ADMIN_KEY, "#/media")
    zone = browser.wait(lambda: driver.find_element(By.CSS_SELECTOR, ".drop"))
    noisy = os.urandom(3 * 200 * 200)  # over the direct limit: presigned upload
    from PIL import Image

    picture = tmp_path / "noise.png"
    Image.frombytes("RGB", (200, 200), noisy).save(picture)
    assert picture.stat().st_size > DIRECT_LIMIT
    drop(driver, zone, "noise.png", picture.read_bytes(), "image/png")
    card = browser.wait(
        lambda: next(
            c
            for c in driver.find_elements(By.CSS_SELECTOR, ".media-card")
            if c.find_element(By.CSS_SELECTOR, ".media-name").text == "noise.png"
        ),
        30,
        "the dropped image",
    )
    thumb = browser.wait(lambda: card.find_element(By.CSS_SELECTOR, ".thumb img"))
    browser.wait(lambda: driver.execute_script("return arguments[0].naturalWidth", thumb))
    progress = driver.find_element(By.CSS_SELECTOR, ".uploads progress")
    assert progress.get_attribute("value") == "1"

    _every_control_is_labelled(driver)
    alt = card.find_element(By.NAME, "alt")
    alt.send_keys("Colourful noise")
    button(driver, "Save alt text", card).click()
    wait_status(driver, "Alt text of noise.png saved.")
    button(driver, "Copy as Markdown", card).click()
    wait_status(driver, "![Colourful noise](media:")
    _no_policy_violations(driver)


def test_a_phone_sized_screen_scrolls_only_down(server: LocalServer) -> None:
    phone = browser.chromium(browser.PHONE)
    try:
        enter_key(phone, server.url, ADMIN_KEY, "#/c/blog")
        browser.wait(lambda: phone.find_elements(By.CSS_SELECTOR, "table.entries tbody tr"))
        assert not overflows(phone)
        phone.get(f"{server.url}/admin#/c/blog/e/a-typical-post")
        wait_preview(phone, "Part 5")
        assert not overflows(phone)
        text, frame = markdown(phone), phone.find_element(By.CSS_SELECTOR, "iframe.preview")
        assert frame.location["y"] > text.location["y"] + text.size["height"]  # stacked
        heights = phone.execute_script(
            "return [...document.querySelectorAll('button')]"
            ".filter(b => b.offsetParent).map(b => b.getBoundingClientRect().height);"
        )
        assert heights and min(heights) >= 40  # finger-sized targets
        phone.get(f"{server.url}/admin#/media")
        browser.wait(lambda: phone.find_element(By.CSS_SELECTOR, ".drop"))
        assert not overflows(phone)
    finally:
        phone.quit()


def test_it_loads_small_and_measures_list_and_preview_times(
    server: LocalServer, record_property: Any
) -> None:
    cold = browser.chromium(cache=False)
    try:
        loads = measure_load(cold, server.url, ADMIN_KEY)
    finally:
        cold.quit()
    warm = browser.chromium()
    try:
        latencies = measure_preview(warm, server.url, ADMIN_KEY)
    finally:
        warm.quit()
    transferred = max(f.transferred_bytes for f in loads)
    list_ms, preview_ms = median([f.list_ms for f in loads]), median(latencies)
    record_property("admin_bytes", transferred)
    record_property("admin_list_ms", list_ms)
    record_property("admin_preview_ms", preview_ms)
    print(f"/admin: {transferred} B, list {list_ms:.0f} ms, preview {preview_ms:.0f} ms")
    assert transferred < MAX_TRANSFER_BYTES, loads
    assert list_ms < GROSS_LIST_MS, loads
    assert preview_ms < GROSS_PREVIEW_MS, latencies


def test_the_key_lives_in_session_storage_only(server: LocalServer, driver: Any) -> None:
    enter_key(driver, server.url, ADMIN_KEY)
    stored = driver.execute_script(
        "return [sessionStorage.getItem('cms.key'), localStorage.length, document.cookie];"
    )
    assert stored == [ADMIN_KEY, 0, ""]
    assert ADMIN_KEY not in driver.current_url
    button(driver, "Forget key").click()
    browser.wait(lambda: driver.find_element(By.NAME, "key"))
    assert driver.execute_script("return sessionStorage.getItem('cms.key')") is None
    assert status(driver) == "The key is forgotten."
