"""API keys: Bearer auth on every management route, scopes, hashed storage, revocation."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.services import keys
from tests.conftest import ADMIN_KEY, Api, problem

KEYS = "/v1/manage/keys"
BLOG = "/v1/manage/content/blog"

# Management routes, one per blueprint area, with the scope each needs.
MANAGEMENT_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/manage/collections", None),
    ("GET", "/v1/manage/collections/blog", None),
    ("PUT", "/v1/manage/collections/blog", {"title": "Blog"}),
    ("DELETE", "/v1/manage/collections/blog", None),
    ("GET", BLOG, None),
    ("POST", BLOG, {"front_matter": {"title": "New"}, "body": "x"}),
    ("GET", f"{BLOG}/hello-world", None),
    ("PUT", f"{BLOG}/hello-world", {"front_matter": {"title": "Changed"}}),
    ("PATCH", f"{BLOG}/hello-world", {"body": "changed"}),
    ("DELETE", f"{BLOG}/hello-world", None),
    ("POST", f"{BLOG}/hello-world/publish", {}),
    ("POST", f"{BLOG}/hello-world/unpublish", None),
    ("GET", f"{BLOG}/hello-world/revisions", None),
    ("GET", "/v1/manage/errors", None),
    ("GET", "/v1/manage/events/dead-letters", None),
    ("POST", "/v1/manage/events/dead-letters/redrive", {}),
    ("GET", KEYS, None),
    ("POST", KEYS, {"name": "x", "scopes": ["admin"]}),
    ("DELETE", f"{KEYS}/0123456789abcdef", None),
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def unauthorized(response: Any) -> dict[str, Any]:
    assert response.status_code == 401, (response.status_code, response.body)
    body = problem(response)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["type"].endswith("unauthorized")
    return body


def forbidden(response: Any, scope: str) -> dict[str, Any]:
    assert response.status_code == 403, (response.status_code, response.body)
    body = problem(response)
    assert body["required_scope"] == scope
    assert "WWW-Authenticate" not in response.headers
    return body


def make_key(api: Api, *scopes: str, name: str = "test key") -> dict[str, Any]:
    return api.json("POST", KEYS, {"name": name, "scopes": list(scopes)}, expect=201)


@pytest.fixture
def seeded(api: Api, container: Any) -> Api:
    api.collection("blog")
    api.entry("blog", title="Hello world")
    return api


def entry_state(api: Api) -> tuple[bytes, bytes]:
    entry = api.call("GET", f"{BLOG}/hello-world")
    revisions = api.call("GET", f"{BLOG}/hello-world/revisions")
    return entry.body, revisions.body


# --- authentication ------------------------------------------------------------------------


def test_management_without_authorization_is_401_with_www_authenticate(seeded):
    before = entry_state(seeded)
    for method, path, payload in MANAGEMENT_ROUTES:
        body = unauthorized(seeded.call(method, path, payload, auth=False))
        assert "Authorization: Bearer" in body["detail"], (method, path)
    assert entry_state(seeded) == before
    assert seeded.json("GET", "/v1/manage/collections")["items"][0]["name"] == "blog"


@pytest.mark.parametrize(
    "header",
    [
        f"Basic {ADMIN_KEY}",
        f"Token {ADMIN_KEY}",
        f"Digest {ADMIN_KEY}",
        ADMIN_KEY,
        "Bearer",
        "Bearer ",
        "Bearer    ",
        f"Bearer{ADMIN_KEY}",
        "",
    ],
)
def test_wrong_scheme_or_no_credentials_is_401(seeded, header):
    before = entry_state(seeded)
    for method, path, payload in MANAGEMENT_ROUTES:
        unauthorized(
            seeded.call(method, path, payload, headers={"Authorization": header}, auth=False)
        )
    assert entry_state(seeded) == before


@pytest.mark.parametrize(
    "key",
    [
        "wrong",
        ADMIN_KEY + "x",
        ADMIN_KEY[:-1],
        ADMIN_KEY.upper(),
        "cms_0123456789abcdef_" + "A" * 43,
        "cms_nothex_secretsecretsecretsecret",
        "x" * 5000,
        "ünïcode-kéy",
    ],
)
def test_wrong_key_is_401(seeded, key):
    before = entry_state(seeded)
    for method, path, payload in MANAGEMENT_ROUTES:
        body = unauthorized(seeded.call(method, path, payload, headers=bearer(key), auth=False))
        assert body["detail"] == "The API key is not valid."
        assert key not in response_text(body)
    assert entry_state(seeded) == before


def response_text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_the_admin_key_from_the_environment_works(seeded):
    for scheme in ("Bearer", "bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {ADMIN_KEY}"}
        response = seeded.call("GET", "/v1/manage/collections", headers=headers, auth=False)
        assert response.status_code == 200, response.body
    # surrounding whitespace is tolerated
    headers = {"Authorization": f"  Bearer   {ADMIN_KEY}  "}
    assert seeded.call("GET", KEYS, headers=headers, auth=False).status_code == 200


def test_without_cms_admin_key_env_nothing_is_an_admin(seeded, monkeypatch):
    monkeypatch.delenv("CMS_ADMIN_KEY")
    unauthorized(seeded.call("GET", "/v1/manage/collections"))
    monkeypatch.setenv("CMS_ADMIN_KEY", "")
    unauthorized(seeded.call("GET", "/v1/manage/collections"))
    unauthorized(seeded.call("GET", "/v1/manage/collections", headers=bearer(""), auth=False))


# --- creating and listing keys -------------------------------------------------------------


def test_created_key_is_shown_once_and_never_listed(api, container, data_dir):
    created = make_key(api, "content:read", name="  site builder  ")
    assert set(created) == {"id", "name", "scopes", "created_at", "key"}
    assert created["name"] == "site builder"
    assert created["scopes"] == ["content:read"]
    assert created["key"].startswith(f"cms_{created['id']}_")
    assert len(created["key"]) >= 4 + 16 + 1 + 20
    response = api.call("POST", KEYS, {"name": "second", "scopes": ["admin"]})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    second = json.loads(response.body)
    assert response.headers["Location"] == f"{KEYS}/{second['id']}"
    assert second["key"] != created["key"] and second["id"] != created["id"]

    listing = api.call("GET", KEYS)
    assert listing.status_code == 200
    items = {item["id"]: item for item in json.loads(listing.body)["items"]}
    assert set(items) == {created["id"], second["id"]}
    for item in items.values():
        assert set(item) == {"id", "name", "scopes", "created_at"}
    text = listing.body.decode()
    for secret in (created["key"], second["key"]):
        assert secret not in text
        assert secret.split("_", 2)[2] not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text
    assert "sha256" not in text


@pytest.mark.local_only  # the file is the local config store; SSM is covered elsewhere
def test_config_file_holds_only_the_sha256_of_a_key(api, container, data_dir):
    created = make_key(api, "content:write")
    config_path = data_dir / "config.json"
    raw = config_path.read_text(encoding="utf-8")
    secret = created["key"]
    assert secret not in raw
    assert secret.split("_", 2)[2] not in raw
    assert ADMIN_KEY not in raw
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert digest in raw
    stored = json.loads(json.loads(raw)[f"keys/{created['id']}"]["value"])
    assert stored == {
        "id": created["id"],
        "name": "test key",
        "scopes": ["content:write"],
        "sha256": digest,
        "created_at": created["created_at"],
    }
    assert config_path.stat().st_mode & 0o077 == 0  # not readable by group or others


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"scopes": ["admin"]}, {"name"}),
        ({"name": "", "scopes": ["admin"]}, {"name"}),
        ({"name": "   ", "scopes": ["admin"]}, {"name"}),
        ({"name": "n" * 101, "scopes": ["admin"]}, {"name"}),
        ({"name": 5, "scopes": ["admin"]}, {"name"}),
        ({"name": "x"}, {"scopes"}),
        ({"name": "x", "scopes": []}, {"scopes"}),
        ({"name": "x", "scopes": ["root"]}, {"scopes"}),
        ({"name": "x", "scopes": ["admin", "superuser"]}, {"scopes"}),
        ({"name": "x", "scopes": "admin"}, {"scopes"}),
        ({"name": "x", "scopes": [1]}, {"scopes"}),
        ({"name": "x", "scopes": ["ADMIN"]}, {"scopes"}),
        ({"name": "x", "scopes": ["admin"], "key": "mine"}, {"key"}),
        ({"name": "x", "scopes": ["admin"], "sha256": "0" * 64, "id": "1"}, {"sha256", "id"}),
        ({}, {"name", "scopes"}),
        ({"name": None, "scopes": None, "extra": 1}, {"name", "scopes", "extra"}),
    ],
)
def test_invalid_key_requests_are_422(api, container, payload, fields):
    response = api.call("POST", KEYS, payload)
    assert response.status_code == 422, response.body
    body = problem(response)
    assert {e["field"] for e in body["errors"]} == fields
    for error in body["errors"]:
        if error["field"] not in ("name", "scopes"):
            assert error["code"] == "unknown-field"
    assert api.json("GET", KEYS)["items"] == []
    assert container.backend.config.list("keys/") == {}


@pytest.mark.parametrize("raw", ["[]", '"admin"', "null", "{bad"])
def test_key_requests_that_are_not_objects_are_4xx(api, container, raw):
    response = api.call("POST", KEYS, raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    problem(response)
    assert api.json("GET", KEYS)["items"] == []


def test_duplicate_scopes_are_stored_once(api):
    created = make_key(api, "content:read", "content:read", "admin")
    assert created["scopes"] == ["admin", "content:read"]


# --- scopes --------------------------------------------------------------------------------


def test_a_content_read_key_can_read_but_not_write(seeded):
    reader = bearer(make_key(seeded, "content:read")["key"])
    before = entry_state(seeded)
    for path in ["/v1/manage/collections", "/v1/manage/collections/blog", BLOG]:
        assert seeded.call("GET", path, headers=reader, auth=False).status_code == 200, path
    for path in [f"{BLOG}/hello-world", f"{BLOG}/hello-world/revisions", "/v1/manage/errors"]:
        assert seeded.call("GET", path, headers=reader, auth=False).status_code == 200, path
    for method, path, payload in [
        ("POST", BLOG, {"front_matter": {"title": "New"}}),
        ("PUT", f"{BLOG}/hello-world", {"front_matter": {"title": "Changed"}}),
        ("PATCH", f"{BLOG}/hello-world", {"body": "changed"}),
        ("DELETE", f"{BLOG}/hello-world", None),
        ("POST", f"{BLOG}/hello-world/publish", {}),
        ("POST", f"{BLOG}/hello-world/unpublish", None),
    ]:
        body = forbidden(
            seeded.call(method, path, payload, headers=reader, auth=False), "content:write"
        )
        assert "content:write" in body["detail"]
    for method, path, payload in [
        ("PUT", "/v1/manage/collections/blog", {"title": "Mine"}),
        ("PUT", "/v1/manage/collections/other", {"title": "Other"}),
        ("DELETE", "/v1/manage/collections/blog", None),
        ("GET", KEYS, None),
        ("POST", KEYS, {"name": "escalate", "scopes": ["admin"]}),
        ("GET", "/v1/manage/events/dead-letters", None),
    ]:
        forbidden(seeded.call(method, path, payload, headers=reader, auth=False), "admin")
    assert entry_state(seeded) == before
    assert [c["name"] for c in seeded.json("GET", "/v1/manage/collections")["items"]] == ["blog"]
    assert len(seeded.json("GET", KEYS)["items"]) == 1


def test_a_content_write_key_writes_entries_but_not_keys_or_collections(seeded, container):
    writer = bearer(make_key(seeded, "content:write")["key"])
    created = seeded.call(
        "POST",
        BLOG,
        {"front_matter": {"title": "By writer"}, "body": "w"},
        headers=writer,
        auth=False,
    )
    assert created.status_code == 201, created.body
    patched = seeded.call("PATCH", f"{BLOG}/by-writer", {"body": "w2"}, headers=writer, auth=False)
    assert patched.status_code == 200
    assert (
        seeded.call("POST", f"{BLOG}/by-writer/publish", headers=writer, auth=False).status_code
        == 200
    )
    assert seeded.call("GET", f"{BLOG}/by-writer", headers=writer, auth=False).status_code == 200
    assert seeded.call("DELETE", f"{BLOG}/by-writer", headers=writer, auth=False).status_code == 204
    for method, path, payload in [
        ("POST", KEYS, {"name": "escalate", "scopes": ["admin"]}),
        ("GET", KEYS, None),
        ("DELETE", f"{KEYS}/0123456789abcdef", None),
        ("PUT", "/v1/manage/collections/news", {"title": "News"}),
        ("PUT", "/v1/manage/collections/blog", {"title": "Renamed"}),
        ("DELETE", "/v1/manage/collections/blog", None),
        ("POST", "/v1/manage/events/dead-letters/redrive", {}),
    ]:
        forbidden(seeded.call(method, path, payload, headers=writer, auth=False), "admin")
    collections = seeded.json("GET", "/v1/manage/collections")["items"]
    assert [(c["name"], c["title"]) for c in collections] == [("blog", "Blog")]
    assert len(container.backend.config.list("keys/")) == 1


def test_an_admin_key_can_do_everything(seeded):
    admin = bearer(make_key(seeded, "admin")["key"])

    def call(method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
        response = seeded.call(method, path, payload, headers=admin, auth=False)
        assert response.status_code == expect, (method, path, response.body)
        return json.loads(response.body) if response.body else None

    call("PUT", "/v1/manage/collections/news", {"title": "News"}, 201)
    call("GET", "/v1/manage/collections")
    call("POST", "/v1/manage/content/news", {"front_matter": {"title": "Item"}}, 201)
    call("PATCH", "/v1/manage/content/news/item", {"body": "more"})
    call("POST", "/v1/manage/content/news/item/publish", {})
    call("POST", "/v1/manage/content/news/item/unpublish")
    call("GET", "/v1/manage/content/news/item/revisions")
    call("DELETE", "/v1/manage/content/news/item", expect=204)
    call("DELETE", "/v1/manage/collections/news", expect=204)
    call("GET", "/v1/manage/errors")
    call("GET", "/v1/manage/events/dead-letters")
    call("POST", "/v1/manage/events/dead-letters/redrive", {})
    other = call("POST", KEYS, {"name": "made by admin key", "scopes": ["content:read"]}, 201)
    assert other["id"] in {k["id"] for k in call("GET", KEYS)["items"]}
    call("DELETE", f"{KEYS}/{other['id']}", expect=204)


def test_a_key_with_several_scopes_has_each(seeded):
    both = bearer(make_key(seeded, "content:read", "content:write")["key"])
    assert seeded.call("GET", BLOG, headers=both, auth=False).status_code == 200
    assert (
        seeded.call(
            "PATCH", f"{BLOG}/hello-world", {"body": "x"}, headers=both, auth=False
        ).status_code
        == 200
    )
    forbidden(seeded.call("GET", KEYS, headers=both, auth=False), "admin")


# --- revocation ----------------------------------------------------------------------------


def test_a_revoked_key_is_401(seeded, container):
    created = make_key(seeded, "admin")
    headers = bearer(created["key"])
    assert seeded.call("GET", KEYS, headers=headers, auth=False).status_code == 200
    response = seeded.call("DELETE", f"{KEYS}/{created['id']}")
    assert response.status_code == 204 and response.body == b""
    for method, path, payload in MANAGEMENT_ROUTES:
        unauthorized(seeded.call(method, path, payload, headers=headers, auth=False))
    assert seeded.json("GET", KEYS)["items"] == []
    assert container.backend.config.get(f"keys/{created['id']}") is None
    # revoking it again: it is gone
    assert problem(seeded.call("DELETE", f"{KEYS}/{created['id']}"))["status"] == 404


def test_revoking_one_key_leaves_the_others(seeded):
    first, second = make_key(seeded, "content:read"), make_key(seeded, "content:read")
    seeded.json("DELETE", f"{KEYS}/{first['id']}", expect=204)
    unauthorized(seeded.call("GET", BLOG, headers=bearer(first["key"]), auth=False))
    assert seeded.call("GET", BLOG, headers=bearer(second["key"]), auth=False).status_code == 200


@pytest.mark.parametrize(
    "key_id",
    ["0123456789abcdef", "0123456789ABCDEF", "short", "bootstrap", "..", "%2e%2e", "a" * 200],
)
def test_revoking_an_unknown_key_is_404(api, container, key_id):
    created = make_key(api, "content:read")
    response = api.call("DELETE", f"{KEYS}/{key_id}")
    assert response.status_code == 404, response.body
    body = problem(response)
    assert body["type"].endswith("not-found")
    assert [k["id"] for k in api.json("GET", KEYS)["items"]] == [created["id"]]


def test_the_secret_itself_is_not_a_key_id(api):
    created = make_key(api, "content:read")
    assert problem(api.call("DELETE", f"{KEYS}/{created['key']}"))["status"] == 404
    assert len(api.json("GET", KEYS)["items"]) == 1


# --- delivery is public --------------------------------------------------------------------


def test_delivery_routes_need_no_key(seeded):
    seeded.publish("blog", "hello-world")
    for path in ["/v1/content/blog", "/v1/content/blog/hello-world", "/health"]:
        response = seeded.call("GET", path, auth=False)
        assert response.status_code == 200, (path, response.body)
        assert "WWW-Authenticate" not in response.headers
    listing = json.loads(seeded.call("GET", "/v1/content/blog", auth=False).body)
    assert [item["slug"] for item in listing["items"]] == ["hello-world"]
    # a bad key does not turn a public route into a 401
    response = seeded.call("GET", "/v1/content/blog", headers=bearer("nonsense"), auth=False)
    assert response.status_code == 200


# --- authenticate(), the unit --------------------------------------------------------------


class CompareSpy:
    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return bool(self.real(a, b))


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    spy = CompareSpy(keys.hmac.compare_digest)
    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    return spy


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_authenticate_refuses_the_right_shape_with_the_wrong_secret(container, spy):
    backend = container.backend
    created = keys.create_key(backend, {"name": "unit", "scopes": ["content:write"]})
    secret = created["key"]
    prefix, real_secret = secret.rsplit("_", 1)[0], secret.split("_", 2)[2]
    forged = f"{prefix}_{'Z' * len(real_secret)}"
    assert keys.KEY_RE.match(forged)  # same shape, same id: only the secret differs

    with pytest.raises(Unauthorized) as refused:
        keys.authenticate(backend, f"Bearer {forged}", None)
    assert refused.value.detail == "The API key is not valid."
    assert spy.calls == [(sha(forged), sha(secret))]

    spy.calls.clear()
    principal = keys.authenticate(backend, f"Bearer {secret}", None)
    assert principal.key_id == created["id"]
    assert principal.name == "unit"
    assert principal.scopes == frozenset({"content:write", "content:read"})
    assert spy.calls == [(sha(secret), sha(secret))]
    principal.require("content:read")
    with pytest.raises(Forbidden):
        principal.require("admin")


def test_authenticate_compares_in_constant_time_even_for_unknown_ids(container, spy):
    backend = container.backend
    unknown = "cms_0123456789abcdef_" + "S" * 43
    with pytest.raises(Unauthorized):
        keys.authenticate(backend, f"Bearer {unknown}", None)
    # a digest comparison still happens (against a dummy), so timing does not reveal the id
    assert len(spy.calls) == 1
    assert spy.calls[0][0] == sha(unknown)
    assert len(spy.calls[0][1]) == 64

    spy.calls.clear()
    with pytest.raises(Unauthorized):
        keys.authenticate(backend, "Bearer not-even-the-shape", None)
    assert len(spy.calls) == 1


def test_authenticate_checks_the_admin_key_with_compare_digest(container, spy):
    backend = container.backend
    principal = keys.authenticate(backend, f"Bearer {ADMIN_KEY}", ADMIN_KEY)
    assert principal.key_id == "bootstrap"
    assert principal.scopes == frozenset(keys.SCOPES) - {"preview"}  # never implied
    assert spy.calls == [(sha(ADMIN_KEY), sha(ADMIN_KEY))]

    spy.calls.clear()
    with pytest.raises(Unauthorized):
        keys.authenticate(backend, f"Bearer {ADMIN_KEY}x", ADMIN_KEY)
    assert spy.calls[0] == (sha(ADMIN_KEY + "x"), sha(ADMIN_KEY))
    # no admin key configured: the env key is nobody
    spy.calls.clear()
    with pytest.raises(Unauthorized):
        keys.authenticate(backend, f"Bearer {ADMIN_KEY}", None)
    assert all(b != sha(ADMIN_KEY) for _, b in spy.calls)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_authenticate_without_credentials_compares_nothing(container, spy, header):
    with pytest.raises(Unauthorized):
        keys.authenticate(container.backend, header, ADMIN_KEY)
    assert spy.calls == []


def test_authenticate_refuses_a_revoked_key(container):
    backend = container.backend
    created = keys.create_key(backend, {"name": "gone", "scopes": ["admin"]})
    keys.revoke_key(backend, created["id"])
    with pytest.raises(Unauthorized):
        keys.authenticate(backend, f"Bearer {created['key']}", None)


def test_http_auth_goes_through_compare_digest(seeded, spy):
    created = make_key(seeded, "content:read")
    spy.calls.clear()
    response = seeded.call("GET", BLOG, headers=bearer(created["key"]), auth=False)
    assert response.status_code == 200
    assert (sha(created["key"]), sha(created["key"])) in spy.calls
