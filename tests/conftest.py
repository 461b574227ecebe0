"""Shared fixtures: a fresh local backend in a temp dir, and the Chalice app over it."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring

ADMIN_KEY = "test-admin-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
JSON_ADMIN = {**ADMIN, "Content-Type": "application/json"}


def free_port() -> int:
    """A TCP port on loopback nobody listens on (for servers the tests start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FrozenClock:
    """A clock tests can move: scheduling is tested without waiting."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.current = now or dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "cms-data"
    monkeypatch.setenv("CMS_DATA_DIR", str(directory))
    monkeypatch.setenv("CMS_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("CMS_BACKEND", "local")
    # In-process rendering keeps a test's container light; test_render_workers.py and the
    # chalice local tests run the worker processes.
    monkeypatch.setenv("CMS_RENDER_WORKERS", "0")
    wiring.reset()
    yield directory
    wiring.reset()


# The contract suite: these modules run against both backends, so they cannot drift.
CONTRACT_MODULES = {
    "test_api_entries",
    "test_api_delivery",
    "test_collections",
    "test_keys",
    "test_contract_ports",
    "test_reindex",
    "test_media_api",
    "test_sync",
    "test_sync_properties",
    "test_preview",
    "test_feeds",
    "test_entry_paths",
    "test_render_budget",
    "test_live_preview",
    "test_draft_lists",
    "test_editor_files",
    "test_expiry",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_only: runs on the local backend only")
    config.addinivalue_line(
        "markers", "slow: end-to-end (hugo, schemathesis, moto server, real servers): -m 'not slow'"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_kind" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    contract = module in CONTRACT_MODULES and not metafunc.definition.get_closest_marker(
        "local_only"
    )
    metafunc.parametrize("backend_kind", ["local", "aws"] if contract else ["local"])


@pytest.fixture
def local_container(data_dir: Path) -> wiring.Container:
    """The process container on the embedded backend (built now, so tests reach it)."""
    return wiring.container()


@pytest.fixture
def container(backend_kind: str, request: pytest.FixtureRequest) -> wiring.Container:
    """The process container the app uses: the local backend, and in the contract modules
    also the AWS backend on moto."""
    if backend_kind == "aws":
        return request.getfixturevalue("aws_container")  # type: ignore[no-any-return]
    return request.getfixturevalue("local_container")  # type: ignore[no-any-return]


@pytest.fixture
def aws_container(monkeypatch: pytest.MonkeyPatch) -> Iterator[wiring.Container]:
    """The container on the AWS backend, on moto in process, provisioned like a stage."""
    from moto import mock_aws

    from tests.aws_stage import aws_environment, provisioned_stage, pumping_container

    aws_environment(monkeypatch, ADMIN_KEY)
    with mock_aws(), provisioned_stage() as settings:
        container = pumping_container(settings)
        container.process_events()  # S3 sends an s3:TestEvent first
        yield container


@pytest.fixture
def clock(container: wiring.Container) -> FrozenClock:
    frozen = FrozenClock()
    container.backend.clock = frozen
    return frozen


@pytest.fixture
def client(container: wiring.Container) -> Iterator[Client]:
    """The app over the container. Chalice's test client applies a stage's environment
    during each request (its default stage, dev, selects AWS), so it is told the stage."""
    from app import app

    stage = "local" if container.backend_name == "local" else "aws-tests"
    with Client(app, stage_name=stage) as test_client:
        yield test_client


class Api:
    """Small conveniences over chalice.test.Client for readable tests."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        all_headers = {**(ADMIN if auth else {}), **(headers or {})}
        raw: str | bytes | None
        if body is None or isinstance(body, str | bytes):
            raw = body
        else:
            raw = json.dumps(body)
            all_headers.setdefault("Content-Type", "application/json")
        return getattr(self.client.http, method.lower())(path, headers=all_headers, body=raw)

    def json(
        self, method: str, path: str, body: Any = None, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == expect, (response.status_code, response.body)
        return json.loads(response.body) if response.body else None

    def collection(self, name: str = "blog", fields: dict[str, Any] | None = None) -> Any:
        spec: dict[str, Any] = {"title": name.title()}
        if fields is not None:
            spec["fields"] = fields
        return self.json("PUT", f"/v1/manage/collections/{name}", spec, expect=201)

    def entry(
        self, collection: str = "blog", body: str = "Hello *world*.", **front_matter: Any
    ) -> Any:
        front_matter.setdefault("title", "Hello world")
        return self.json(
            "POST",
            f"/v1/manage/content/{collection}",
            {"front_matter": front_matter, "body": body},
            expect=201,
        )

    def publish(self, collection: str, slug: str, **options: Any) -> Any:
        return self.json("POST", f"/v1/manage/content/{collection}/{slug}/publish", options or None)


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


def problem(response: Any) -> dict[str, Any]:
    """Assert a response is problem+json and return its body."""
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    body = json.loads(response.body)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response.status_code
    assert "Traceback" not in response.body.decode()
    return body
