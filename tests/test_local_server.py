"""The README's promise, over real HTTP: `chalice local` on the embedded backend serves the
CMS, and the data is still there after a restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "local-server-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _chalice() -> str:
    candidate = Path(sys.executable).parent / "chalice"
    found = str(candidate) if candidate.exists() else shutil.which("chalice")
    assert found, "the chalice command is installed by requirements-dev.txt"
    return found


def wait_for_health(
    url: str,
    process: subprocess.Popen[Any],
    name: str,
    output: Callable[[], str] = lambda: "",
    seconds: float = 30,
) -> None:
    """Wait until the server ``process`` answers ``GET /health``; fail if it exits or is late."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited: {output()}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail(f"{name} did not answer /health within {seconds:.0f} s")


class LocalServer:
    """`chalice local` on a data dir. Its output goes to a file next to the data dir: it logs
    every request, and a pipe nobody reads would fill up (64 KiB) and stall the server."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"chalice-local-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def output(self, last: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-last:] if self.log.exists() else ""

    def start(self) -> None:
        env = {**os.environ, "CMS_DATA_DIR": str(self.data_dir), "CMS_ADMIN_KEY": ADMIN_KEY}
        env.pop("CMS_RENDER_WORKERS", None)  # the default: a render process per core
        env.update(self.env)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    _chalice(),
                    *("local", "--stage", "local", "--port", str(self.port), "--no-autoreload"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_health(self.url, self.process, "chalice local", self.output)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    running = LocalServer(tmp_path / "cms-data")
    running.start()
    yield running
    running.stop()


def test_create_publish_fetch_restart_and_fetch_again(server: LocalServer) -> None:
    url = server.url
    r = requests.put(
        f"{url}/v1/manage/collections/blog", json={"title": "Blog"}, headers=AUTH, timeout=10
    )
    assert r.status_code == 201, r.text

    document = "---\ntitle: Hello from chalice local\ntags: [Intro]\n---\n# Hi\n\nFirst *post*.\n"
    r = requests.post(
        f"{url}/v1/manage/content/blog",
        data=document.encode(),
        headers={**AUTH, "Content-Type": "text/markdown"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/v1/manage/content/blog/hello-from-chalice-local"
    slug = r.json()["slug"]

    r = requests.get(f"{url}/v1/content/blog/{slug}", timeout=10)
    assert r.status_code == 404  # a draft is invisible

    r = requests.post(f"{url}/v1/manage/content/blog/{slug}/publish", headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text

    r = requests.get(f"{url}/v1/content/blog/{slug}", timeout=10)
    assert r.status_code == 200, r.text
    entry = r.json()
    assert "<em>post</em>" in entry["html"]
    assert entry["tags"] == ["intro"]
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    r = requests.get(f"{url}/v1/content/blog/{slug}", headers={"If-None-Match": etag}, timeout=10)
    assert r.status_code == 304

    server.stop()
    server.start()

    r = requests.get(f"{url}/v1/content/blog/{slug}", timeout=10)
    assert r.status_code == 200
    assert r.json()["html"] == entry["html"]
    assert r.headers["ETag"] == etag
    listing = requests.get(f"{url}/v1/content/blog", timeout=10).json()
    assert [item["slug"] for item in listing["items"]] == [slug]


def test_errors_are_problem_json_over_http(server: LocalServer) -> None:
    url = server.url
    r = requests.post(f"{url}/v1/manage/content/blog", data=b"{}", timeout=10)
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/problem+json"

    requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH, timeout=10)
    r = requests.post(
        f"{url}/v1/manage/content/blog",
        data=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert json.loads(r.text)["detail"].startswith("Malformed JSON")

    r = requests.post(
        f"{url}/v1/manage/content/blog",
        data=b"<x/>",
        headers={**AUTH, "Content-Type": "application/xml"},
        timeout=10,
    )
    assert r.status_code == 415
    assert r.headers["Content-Type"] == "application/problem+json"

    r = requests.get(f"{url}/v1/content/blog?limit=1000", timeout=10)
    assert r.status_code == 400
    assert r.json()["status"] == 400


def test_media_over_http_like_curl(server: LocalServer) -> None:
    """Upload an image, upload another through the presigned form, see the thumbnails and
    embed one in an entry: the README's media steps, over real HTTP."""
    from tests import media_files as files

    url = server.url
    photo = files.rotated_photo_with_gps()
    direct = requests.post(
        f"{url}/v1/manage/media?filename=photo.jpg&alt=A%20photo",
        data=photo,
        headers={**AUTH, "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert direct.status_code == 201, direct.text
    media_id = direct.json()["id"]
    asset = requests.get(f"{url}/v1/media/{media_id}", timeout=10).json()
    assert asset["status"] == "ready" and (asset["width"], asset["height"]) == (1200, 800)
    link = asset["variants"][0]["url"]
    assert link.startswith(f"/v1/media/{media_id}/files/")  # no public URL is configured
    thumb = requests.get(url + link, timeout=10)
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] in ("image/jpeg", "image/webp")
    assert b"CameraMaker" not in thumb.content

    started = requests.post(
        f"{url}/v1/manage/media/uploads",
        json={"filename": "logo.png", "content_type": "image/png"},
        headers=AUTH,
        timeout=10,
    ).json()
    form = started["upload"]
    posted = requests.post(
        url + form["url"], data=form["fields"], files={"file": files.png_with_alpha()}, timeout=30
    )
    assert posted.status_code == 204, posted.text
    logo = requests.get(f"{url}/v1/manage/media/{started['id']}", headers=AUTH, timeout=10)
    assert logo.json()["status"] == "ready"

    requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH, timeout=10)
    entry = {"front_matter": {"title": "With a photo"}, "body": f"![Sea](media:{media_id})"}
    requests.post(f"{url}/v1/manage/content/blog", json=entry, headers=AUTH, timeout=10)
    requests.post(f"{url}/v1/manage/content/blog/with-a-photo/publish", headers=AUTH, timeout=10)
    html = requests.get(f"{url}/v1/content/blog/with-a-photo", timeout=10).json()["html"]
    assert f'srcset="/v1/media/{media_id}/files/320.webp 320w' in html
    assert 'width="1200" height="800"' in html
    with urllib.request.urlopen(url + link, timeout=10) as response:  # sends no Accept
        assert response.status == 200 and response.read() == thumb.content


def test_a_path_no_route_matches_is_a_problem_json_404(server: LocalServer) -> None:
    """Not API Gateway's 403 "Missing Authentication Token" (which chalice local mimics):
    the same problem+json 404 the stack's gateway responses give on AWS."""
    for path, headers in (("/nope", {}), ("/v1/content", AUTH), ("/v1/x/y/z?q=1", {})):
        response = requests.get(f"{server.url}{path}", headers=headers, timeout=10)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 404 and body["type"] == "/problems/not-found"


def test_kept_alive_connections_do_not_stall(server: LocalServer) -> None:
    """A kept-alive client (site generators, browsers, requests.Session) gets each response as
    fast as a new connection does, not ~40 ms later (Nagle against the delayed ACK)."""
    with requests.Session() as session:
        times = []
        for _ in range(30):
            started = time.perf_counter()
            assert session.get(f"{server.url}/health", timeout=10).status_code == 200
            times.append(time.perf_counter() - started)
    assert sorted(times)[len(times) // 2] < 0.02


def test_a_runaway_batch_delays_no_one(tmp_path: Path) -> None:
    """Three hostile bodies sent as a batch are rendered by the worker processes under the
    budget: /health answers quickly meanwhile, an ordinary entry written meanwhile renders
    before its response, delayed by no more than the budget (it takes the first worker that
    frees up), and the hostile ones end as failed renders with the reason, once, not in the
    dead letters."""
    running = LocalServer(
        tmp_path / "cms-data", env={"CMS_RENDER_WORKERS": "2", "CMS_RENDER_BUDGET_SECONDS": "1"}
    )
    running.start()
    try:
        url = running.url
        requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH, timeout=10)
        hostile = ["[" * 300_000, "![" * 150_000, "<a " * 100_000]
        items = [
            {"slug": f"hostile-{n}", "front_matter": {"title": f"H{n}"}, "body": body}
            for n, body in enumerate(hostile)
        ]
        r = requests.post(
            f"{url}/v1/manage/batch/blog", json={"items": items}, headers=AUTH, timeout=30
        )
        assert r.status_code == 200, r.text
        started = time.monotonic()
        health = []
        while time.monotonic() - started < 0.5:
            sent = time.monotonic()
            assert requests.get(f"{url}/health", timeout=5).status_code == 200
            health.append(time.monotonic() - sent)
        assert max(health) < 0.1
        sent = time.monotonic()
        r = requests.post(
            f"{url}/v1/manage/content/blog",
            json={"front_matter": {"title": "Ordinary"}, "body": "Just *text*."},
            headers=AUTH,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        entry = requests.get(f"{url}/v1/manage/content/blog/ordinary", headers=AUTH, timeout=10)
        assert entry.json()["render"]["status"] == "rendered"  # its own render came first
        assert time.monotonic() - sent < 1.0 + 1.0  # the budget, and a second for the rest
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            renders = [
                requests.get(
                    f"{url}/v1/manage/content/blog/hostile-{n}", headers=AUTH, timeout=10
                ).json()["render"]
                for n in range(len(hostile))
            ]
            if all(render["status"] != "pending" for render in renders):
                break
            time.sleep(0.2)
        assert [render["status"] for render in renders] == ["failed"] * 3
        assert all(render["error"].startswith("render-too-complex") for render in renders)
        dead = requests.get(f"{url}/v1/manage/events/dead-letters", headers=AUTH, timeout=10)
        assert dead.json()["items"] == []
    finally:
        running.stop()


def test_a_batch_renders_beside_continuous_traffic(tmp_path: Path) -> None:
    """With render worker processes, a batch's entries render while other requests keep
    coming: the Markdown runs on other cores, so its events do not wait for a pause in the
    traffic (with rendering in the server's process they wait up to CMS_LOCAL_DEFER_SECONDS,
    10 s by default)."""
    running = LocalServer(tmp_path / "cms-data", env={"CMS_RENDER_WORKERS": "1"})
    running.start()
    stop = threading.Event()
    clients: list[threading.Thread] = []

    def traffic() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                session.get(f"{running.url}/health", timeout=10)

    try:
        url = running.url
        requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH, timeout=10)
        clients.extend(threading.Thread(target=traffic) for _ in range(2))
        for client in clients:
            client.start()
        items = [
            {"slug": f"post-{n}", "front_matter": {"title": f"P{n}"}, "body": f"Post *{n}*."}
            for n in range(5)
        ]
        r = requests.post(
            f"{url}/v1/manage/batch/blog", json={"items": items}, headers=AUTH, timeout=30
        )
        assert r.status_code == 200, r.text
        sent = time.monotonic()
        with requests.Session() as session:
            while time.monotonic() - sent < 8:
                listed = session.get(
                    f"{url}/v1/manage/content/blog?status=pending", headers=AUTH, timeout=10
                )
                assert listed.status_code == 200, listed.text
                if not listed.json()["items"]:
                    break
        rendered_after = time.monotonic() - sent
        assert all(client.is_alive() for client in clients)  # the traffic never paused
        assert rendered_after < 5, f"rendered {rendered_after:.1f} s after the batch"
        for n in range(5):
            entry = requests.get(f"{url}/v1/manage/content/blog/post-{n}", headers=AUTH)
            assert entry.json()["render"]["status"] == "rendered"
    finally:
        stop.set()
        for client in clients:
            client.join(10)
        running.stop()


def test_concurrent_requests_each_see_their_own_request(server: LocalServer) -> None:
    """chalice local answers each connection in a thread: a request must never read another
    one's body or Authorization header (Chalice keeps the current request on the app)."""
    from concurrent.futures import ThreadPoolExecutor

    url = server.url
    requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH, timeout=10)

    def client(worker: int) -> list[tuple[str, int, str]]:
        seen = []
        with requests.Session() as session:  # kept alive: the requests truly overlap
            for n in range(15):
                title, headers = f"W{worker} N{n}", AUTH if n % 2 == 0 else {}
                r = session.post(
                    f"{url}/v1/manage/content/blog",
                    json={"front_matter": {"title": title}, "body": "x"},
                    headers=headers,
                    timeout=30,
                )
                seen.append((title, r.status_code, r.json().get("title", "")))
        return seen

    with ThreadPoolExecutor(12) as pool:
        outcomes = [o for f in [pool.submit(client, w) for w in range(12)] for o in f.result()]
    for title, status, echoed in outcomes:
        authenticated = title.endswith(("N0", "N2", "N4", "N6", "N8", "N10", "N12", "N14"))
        if authenticated:
            assert (status, echoed) == (201, title)
        else:
            assert status == 401, (title, echoed)


def test_the_app_keeps_the_current_request_per_thread() -> None:
    from chalicelib.api.app_class import ThreadSafeChalice

    app = ThreadSafeChalice(app_name="t")
    app.current_request = "main"  # type: ignore[assignment]
    other: list[object] = []
    thread = threading.Thread(
        target=lambda: (other.append(app.current_request), setattr(app, "current_request", "x"))
    )
    thread.start()
    thread.join()
    assert other == [None] and app.current_request == "main"
