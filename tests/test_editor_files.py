"""GET /admin and /admin/{file}: the editor's static files, served by the app with a strict
Content-Security-Policy, and the rules its HTML, CSS and JavaScript keep so that policy holds
(no inline script or style, previews in a frame without scripts, the key in sessionStorage)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.api import editor
from tests.conftest import Api, problem

FOLDER = editor.FOLDER
SCRIPTS = sorted(FOLDER.glob("*.js"))


def get(api: Api, path: str, headers: dict[str, str] | None = None) -> Any:
    return api.call("GET", path, headers=headers, auth=False)


def directives(header: str) -> dict[str, list[str]]:
    parts = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in parts}


def test_the_page_is_served_without_a_key_with_a_strict_policy(
    api: Api, container: wiring.Container
) -> None:
    response = get(api, "/admin")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-cache"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["style-src"] == ["'self'"]  # no inline style
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]
    assert policy["frame-src"] == ["'self'", "blob:"]
    assert not any("unsafe" in v for values in policy.values() for v in values)
    storage = policy["img-src"][3:]  # after 'self' data: blob:
    if container.backend_name == "aws":  # thumbnails and large uploads go to the bucket
        assert storage and all(o.startswith("https://") for o in storage), storage
        assert policy["connect-src"] == ["'self'", *storage]
    else:
        assert storage == [] and policy["connect-src"] == ["'self'"]
    page = response.body.decode()
    assert 'src="admin/app.js"' in page and 'href="admin/admin.css"' in page


def test_the_page_with_a_trailing_slash_redirects_to_where_its_files_resolve(api: Api) -> None:
    response = get(api, "/admin/")
    assert response.status_code == 301
    assert response.headers["Location"] == "../admin"  # from /admin/ (or /api/admin/): /admin


def test_every_file_is_served_with_its_type_and_revalidates(api: Api) -> None:
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    for name in editor.ASSETS:
        response = get(api, f"/admin/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == types[Path(name).suffix]
        assert response.body.decode() == (FOLDER / name).read_text(encoding="utf-8")
        assert "Content-Security-Policy" in response.headers
        etag = response.headers["ETag"]
        again = get(api, f"/admin/{name}", {"If-None-Match": etag})
        assert again.status_code == 304 and again.body in (b"", "")


@pytest.mark.parametrize(
    "name",
    ["index.html", "nope.js", "..%2Fapi%2Fhttp.py", "%2e%2e", "admin.css%00", "APP.JS", "app.js~"],
)
def test_anything_else_is_a_problem_404(api: Api, name: str) -> None:
    response = get(api, f"/admin/{name}")
    assert response.status_code == 404
    assert problem(response)["type"] == "/problems/not-found"


def test_the_folder_holds_exactly_the_files_served() -> None:
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted([editor.INDEX, *editor.ASSETS])


def test_the_modules_import_only_files_that_are_served() -> None:
    for script in SCRIPTS:
        for imported in re.findall(r'from "\./([^"]+)"', script.read_text(encoding="utf-8")):
            assert imported in editor.ASSETS, (script.name, imported)


def test_no_inline_script_or_style_anywhere() -> None:
    page = (FOLDER / editor.INDEX).read_text(encoding="utf-8")
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="admin/app.js">']
    assert "<style" not in page and not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    for script in SCRIPTS:
        code = script.read_text(encoding="utf-8")
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert forbidden not in code, (script.name, forbidden)
        for forbidden in (".style.", ".style=", '"style"', "eval(", "new Function", "<style"):
            assert forbidden not in code, (script.name, forbidden)
        assert "localStorage" not in code and "document.cookie" not in code, script.name


def test_previews_are_frames_that_run_no_script() -> None:
    code = (FOLDER / "editor.js").read_text(encoding="utf-8")
    frame = re.search(r'h\("iframe", \{(.*?)\}\)', code, re.S)
    assert frame is not None
    assert 'sandbox: ""' in frame.group(1)  # no allow-scripts, no allow-same-origin
    assert "srcdoc" in code and "allow-" not in code


def test_the_key_is_kept_in_session_storage() -> None:
    code = (FOLDER / "api.js").read_text(encoding="utf-8")
    assert "sessionStorage" in code
    assert [s.name for s in SCRIPTS if "sessionStorage" in s.read_text()] == ["api.js"]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_colours_have_enough_contrast_and_focus_is_visible() -> None:
    css = (FOLDER / "admin.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", css))
    backgrounds = ("bg", "soft", "alert-bg")
    for text in ("text", "muted", "accent", "danger", "ok", "warn"):
        for background in backgrounds:
            ratio = contrast(colours[text], colours[background])
            assert ratio >= 4.5, (text, background, ratio)
    assert contrast(colours["accent-text"], colours["accent"]) >= 4.5
    assert all(contrast(colours["focus"], colours[b]) >= 3 for b in backgrounds)
    assert ":focus-visible {\n  outline: 3px solid var(--focus);" in css
    assert "outline: none" not in css.replace("main:focus { outline: none; }", "")
    page = (FOLDER / editor.INDEX).read_text(encoding="utf-8")
    assert 'id="status" class="status" role="status" aria-live="polite"' in page
    body = page.split("<body>", 1)[1].lstrip()
    assert body.startswith('<a class="skip" href="#main" id="skip">Skip to content</a>')
    assert 'getElementById("skip")' in (FOLDER / "app.js").read_text(encoding="utf-8")
    assert re.search(r"button, \.button \{[^}]*min-height: 2\.5rem;", css)  # 40 px


def test_the_files_are_text_to_api_gateway() -> None:
    from app import app

    binary = {t.lower() for t in app.api.binary_types}
    for content_type in editor.TYPES.values():
        assert content_type.split(";")[0] not in binary


@pytest.mark.local_only
def test_a_media_cdn_is_allowed_for_images_and_uploads(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, backend_kind: str
) -> None:
    monkeypatch.setenv("CMS_MEDIA_BASE_URL", "https://cdn.example.test/media")
    api: Api = request.getfixturevalue("api")  # the container is built with it
    policy = directives(get(api, "/admin").headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "blob:", "https://cdn.example.test"]
    assert policy["connect-src"] == ["'self'", "https://cdn.example.test"]


def test_the_key_never_goes_to_a_presigned_url() -> None:
    code = (FOLDER / "media.js").read_text(encoding="utf-8")
    assert "await send(form.method, form.url, data, { auth: false, onProgress });" in code
