"""Webhooks never reach internal addresses (SSRF): the URL is checked when a target is
created, every address its host resolves to when a delivery is sent, and the request goes to
the address that was checked. DNS is a fake here: no test asks a real resolver."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain import net_guard
from chalicelib.domain import webhooks as signing
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.site import parse_settings
from chalicelib.services import site, webhooks
from tests import test_webhooks
from tests.conftest import Api, problem
from tests.test_webhooks import Receiver, hook

receiver = test_webhooks.receiver  # the loopback receiver of the webhook tests

HOST = "hooks.example.test"
PUBLIC = "93.184.216.34"

# (address, why it is refused): each class, in both families where it exists
REFUSED = [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("169.254.170.2", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("255.255.255.255", "a reserved (non-public) address"),
    ("240.0.0.1", "a reserved (non-public) address"),
    ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("::ffff:169.254.169.254", "an IPv6 form of 169.254.169.254, a cloud metadata address"),
    ("::10.0.0.1", "an IPv6 form of 10.0.0.1, a private address"),  # IPv4-compatible
    ("2002:a9fe:a9fe::1", "an IPv6 form of 169.254.169.254, a cloud metadata address"),  # 6to4
    ("64:ff9b::a9fe:a9fe", "an IPv6 form of 169.254.169.254, a cloud metadata address"),  # NAT64
    # Teredo: the client's address is stored inverted (127.0.0.1 is 80ff:fffe)
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "an IPv6 form of 127.0.0.1, a loopback address"),
]
ACCEPTED = [PUBLIC, "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "2002:5db8:d822::1"]
SPELLINGS = [  # numbers a URL may name an IPv4 address with: the address they mean
    ("2852039166", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("10.1", "10.0.0.1"),
]


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def refused(url: str, *, allow_loopback: bool = False) -> str:
    with pytest.raises(net_guard.Refused) as caught:
        net_guard.parse_target(url, allow_loopback=allow_loopback)
    return str(caught.value)


# --- the rules, on the URL (create time) and on resolved addresses (delivery time) -----------


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_each_class_is_refused_in_a_url(address: str, reason: str) -> None:
    assert refused(f"https://{url_host(address)}/hook") == f"{address} is {reason}"
    if reason != "a loopback address":
        assert reason in refused(f"http://{url_host(address)}/hook", allow_loopback=True)


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_each_class_is_refused_when_a_name_resolves_to_it(address: str, reason: str) -> None:
    target = net_guard.parse_target(f"https://{HOST}/hook", allow_loopback=False)
    with pytest.raises(net_guard.Refused, match=f"^{HOST} resolves to"):
        net_guard.checked_addresses(target, lambda host, port: [address], allow_loopback=False)
    with pytest.raises(net_guard.Refused) as caught:
        net_guard.checked_addresses(
            target, lambda host, port: [PUBLIC, address], allow_loopback=False
        )
    assert str(caught.value) == f"{HOST} resolves to {address}, {reason}"


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_addresses_are_accepted(address: str) -> None:
    literal = net_guard.parse_target(
        f"https://{url_host(address)}:8443/a?b=1", allow_loopback=False
    )
    assert (literal.host, literal.port, literal.path) == (address, 8443, "/a?b=1")
    assert net_guard.checked_addresses(literal, fail_lookup, allow_loopback=False) == [address]
    named = net_guard.parse_target(f"https://{HOST}/", allow_loopback=False)
    answer = net_guard.checked_addresses(
        named, lambda h, p: [address, PUBLIC], allow_loopback=False
    )
    assert answer == [address, PUBLIC]


def fail_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} is an address: it is not looked up")


@pytest.mark.parametrize(("spelled", "address"), SPELLINGS)
def test_numeric_spellings_are_the_addresses_they_mean(spelled: str, address: str) -> None:
    assert str(net_guard.host_address(spelled)) == address
    assert refused(f"https://{spelled}/").startswith(f"{spelled} means {address}, ")


def test_names_are_not_addresses() -> None:
    for name in (HOST, "deadbeef.example", "cafe", "0x7f.example", "localhost"):
        assert net_guard.host_address(name) is None


def test_https_by_default_and_http_with_the_opt_in() -> None:
    assert refused(f"http://{PUBLIC}/") == "the URL must be https://"
    assert refused(f"ftp://{PUBLIC}/", allow_loopback=True) == "the URL must be https:// or http://"
    assert net_guard.parse_target(f"http://{HOST}/", allow_loopback=True).port == 80
    assert net_guard.parse_target(f"https://{HOST}", allow_loopback=False).path == "/"
    assert refused("https://:443/") == "the URL has no host"
    assert refused(f"https://{HOST}:99999/") == "the URL's port is invalid"


def test_the_opt_in_allows_loopback_and_nothing_else() -> None:
    for url in ("http://localhost:8080/", "http://a.localhost/", "http://[::1]/", "http://127.1/"):
        assert net_guard.parse_target(url, allow_loopback=True).scheme == "http"
    for url in ("https://localhost/", "https://a.localhost/", "https://LOCALHOST./"):
        assert "loopback name" in refused(url)
    assert "loopback" in refused("http://[::ffff:127.0.0.1]/", allow_loopback=True)
    target = net_guard.parse_target(f"http://{HOST}/", allow_loopback=True)
    assert net_guard.checked_addresses(
        target, lambda h, p: ["127.0.0.1", "::1"], allow_loopback=True
    )
    with pytest.raises(net_guard.Refused, match=r"169\.254\.169\.254, a cloud metadata"):
        net_guard.checked_addresses(
            target, lambda h, p: ["127.0.0.1", "169.254.169.254"], allow_loopback=True
        )


def test_an_answer_that_is_no_address_or_empty_is_refused() -> None:
    target = net_guard.parse_target(f"https://{HOST}/", allow_loopback=False)
    with pytest.raises(net_guard.Refused, match="not an address"):
        net_guard.checked_addresses(target, lambda h, p: ["example.com"], allow_loopback=False)
    with pytest.raises(net_guard.Refused, match="no address"):
        net_guard.checked_addresses(target, lambda h, p: [], allow_loopback=False)


@pytest.mark.parametrize(
    ("backend", "opt_in", "allowed"),
    [
        (None, None, True),
        ("local", None, True),
        ("aws", None, False),
        ("local", "0", False),
        ("local", "false", False),
        ("aws", "1", True),
        ("aws", "true", True),
        ("aws", "perhaps", False),
    ],
)
def test_the_opt_in_defaults_to_the_local_backend(
    monkeypatch: pytest.MonkeyPatch, backend: str | None, opt_in: str | None, allowed: bool
) -> None:
    for name, value in (("CMS_BACKEND", backend), (webhooks.LOOPBACK_ENV, opt_in)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert webhooks.loopback_allowed() is allowed


# --- creating a target -----------------------------------------------------------------------


def create(api: Api, url: str) -> Any:
    return api.call("POST", "/v1/manage/webhooks", {"url": url, "events": ["entry.published"]})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://2852039166/", "2852039166 means 169.254.169.254, a cloud metadata address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address"),
        ("http://[::ffff:169.254.169.254]/", "an IPv6 form of 169.254.169.254"),
        ("https://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        ("ftp://example.com/", "must be an http(s) URL"),
    ],
)
def test_create_refuses_internal_targets_with_a_422(api: Api, url: str, reason: str) -> None:
    hook(api, "https://kept.example.test/")
    response = create(api, url)
    assert response.status_code == 422
    (error,) = problem(response)["errors"]
    assert error["field"] == "webhooks.1.url"
    assert reason in error["message"]
    assert [w["url"] for w in api.json("GET", "/v1/manage/webhooks")["items"]] == [
        "https://kept.example.test/"
    ]


def test_create_without_the_opt_in_wants_https_and_a_public_host(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(webhooks.LOOPBACK_ENV, "0")
    for url, reason in (
        ("http://127.0.0.1:8080/hook", "the URL must be https://"),
        (f"http://{HOST}/hook", "the URL must be https://"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://localhost/hook", "localhost is a loopback name"),
        ("https://0x7f.1/hook", "0x7f.1 means 127.0.0.1, a loopback address"),
    ):
        response = create(api, url)
        assert response.status_code == 422, url
        assert problem(response)["errors"][0]["message"] == f"url is refused: {reason}"
    assert create(api, f"https://{HOST}/hook").status_code == 201


def test_on_aws_loopback_and_http_are_refused_by_default(
    local_container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_BACKEND", "aws")
    backend = local_container.backend
    for url in ("http://127.0.0.1:8080/", "https://127.0.0.1/", "https://localhost/"):
        with pytest.raises(ValidationFailed) as caught:
            webhooks.create(backend, {"url": url, "events": ["entry.published"]})
        assert caught.value.errors[0].field == "webhooks.0.url"
    assert webhooks.list_targets(backend) == []
    monkeypatch.setenv(webhooks.LOOPBACK_ENV, "1")
    assert webhooks.create(backend, {"url": "http://127.0.0.1:8080/", "events": ["media.ready"]})


# --- delivering ------------------------------------------------------------------------------


class FakeDns:
    """A resolver over a table: each host's answers in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(webhooks, "resolve", fake)
    return fake


def publish(api: Api, slug: str) -> dict[str, Any]:
    """Publish an entry (the delivery runs in the request); the newest delivery."""
    api.entry(title=slug.title(), slug=slug)
    api.publish("blog", slug)
    return api.json("GET", "/v1/manage/webhooks/deliveries")["items"][0]  # type: ignore[no-any-return]


def port_of(receiver: Receiver) -> int:
    return int(receiver.server.server_address[1])


def test_the_request_goes_to_the_checked_address_with_the_hosts_name(
    api: Api, receiver: Receiver, dns: FakeDns
) -> None:
    dns.answers[HOST] = [["127.0.0.1"]]  # a name real DNS does not know: only the fake answers
    hook(api, f"http://{HOST}:{port_of(receiver)}/hook?x=1", ["entry.published"])
    api.collection()
    delivery = publish(api, "hello")
    assert (delivery["status"], delivery["response_status"]) == ("succeeded", 204)
    (request,) = receiver.requests
    assert request["headers"]["Host"] == f"{HOST}:{port_of(receiver)}"
    assert json.loads(request["body"])["event"] == "entry.published"
    assert dns.lookups == [HOST]  # one lookup, the one that was checked


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("10.0.0.1", "a private address"),
        ("::ffff:169.254.169.254", "an IPv6 form of 169.254.169.254, a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
    ],
)
def test_a_name_rebound_to_an_internal_address_is_refused_and_not_retried(
    api: Api, receiver: Receiver, dns: FakeDns, address: str, reason: str
) -> None:
    dns.answers[HOST] = [["127.0.0.1"], [address]]
    hook(api, f"http://{HOST}:{port_of(receiver)}/hook", ["entry.published"])
    api.collection()
    assert publish(api, "first")["status"] == "succeeded"
    delivery = publish(api, "second")
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "failed",
        1,
        None,
    )
    assert delivery["error"] == f"refused: {HOST} resolves to {address}, {reason}"
    assert len(receiver.requests) == 1
    assert dns.lookups == [HOST, HOST]


def test_a_name_resolving_to_loopback_is_refused_without_the_opt_in(
    api: Api, receiver: Receiver, dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(webhooks.LOOPBACK_ENV, "0")
    dns.answers[HOST] = [[PUBLIC, "127.0.0.1"]]  # one bad address among good ones
    hook(api, f"https://{HOST}:{port_of(receiver)}/hook", ["entry.published"])
    api.collection()
    delivery = publish(api, "hello")
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["error"] == f"refused: {HOST} resolves to 127.0.0.1, a loopback address"
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata"),
        ("http://2852039166/latest/meta-data/", "2852039166 means 169.254.169.254"),
        ("http://[::ffff:127.0.0.1]:{port}/hook", "::ffff:127.0.0.1 is an IPv6 form of 127.0.0.1"),
        ("http://0.0.0.0:{port}/hook", "0.0.0.0 is an unspecified address"),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ],
)
def test_targets_written_to_the_config_store_are_checked_at_delivery(
    api: Api, receiver: Receiver, dns: FakeDns, url: str, error: str
) -> None:
    backend = wiring.container().backend
    stored = {
        "id": "wh-raw",
        "url": url.format(port=port_of(receiver)),
        "events": ["entry.published"],
    }
    site.save(backend, parse_settings({"webhooks": [stored]}))
    backend.config.put(webhooks._secret_name("wh-raw"), "s3cret", secret=True)
    api.collection()
    delivery = publish(api, "hello")
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["error"].startswith(f"refused: {error}")
    assert receiver.requests == [] and dns.lookups == []


def test_http_is_refused_at_delivery_once_the_opt_in_is_off(
    api: Api, receiver: Receiver, dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook(api, receiver.url, ["entry.published"])  # created with the local default opt-in
    monkeypatch.setenv(webhooks.LOOPBACK_ENV, "0")
    api.collection()
    delivery = publish(api, "hello")
    assert (delivery["status"], delivery["error"]) == (
        "failed",
        "refused: the URL must be https://",
    )
    assert receiver.requests == []


def test_a_failed_lookup_is_an_ordinary_failure_and_is_retried(
    api: Api, receiver: Receiver, dns: FakeDns
) -> None:
    hook(api, f"https://{HOST}/hook", ["entry.published"])
    api.collection()
    delivery = publish(api, "hello")
    assert (delivery["status"], delivery["attempts"]) == ("failed", signing.MAX_ATTEMPTS)
    assert delivery["error"].startswith("gaierror: ")


def test_a_name_with_many_addresses_costs_at_most_three_connection_attempts(
    api: Api, receiver: Receiver, dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Public addresses that never answer: tried three at most, within one timeout, so the
    webhooks function records a failed attempt instead of running into its own timeout."""
    dns.answers[HOST] = [[f"203.0.113.{n}" for n in range(1, 9)]]
    monkeypatch.setattr(net_guard, "classify", lambda ip: None)  # TEST-NET-3 taken as public
    tried: list[tuple[str, float]] = []

    def unreachable(address: tuple[str, int], timeout: float) -> socket.socket:
        tried.append((address[0], timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    hook(api, f"https://{HOST}/hook", ["entry.published"])
    api.collection()
    delivery = publish(api, "hello")
    assert delivery["status"] == "failed" and delivery["error"].startswith("TimeoutError")
    per_attempt = len(tried) // signing.MAX_ATTEMPTS
    assert per_attempt == webhooks.MAX_ADDRESSES == 3
    assert all(timeout <= webhooks.TIMEOUT_SECONDS for _, timeout in tried)


class Redirector:
    """A loopback server answering every POST with a redirect to ``location``."""

    def __init__(self, location: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.send_response(307)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_redirect_is_not_followed(api: Api, receiver: Receiver, dns: FakeDns) -> None:
    redirector = Redirector(receiver.url)
    try:
        hook(api, redirector.url, ["entry.published"])
        api.collection()
        delivery = publish(api, "hello")
    finally:
        redirector.close()
    assert (delivery["status"], delivery["response_status"]) == ("failed", 307)
    assert delivery["error"] == "HTTP 307"
    assert receiver.requests == []


# --- TLS: the certificate is verified for the URL's host, not for the address ----------------


def tls_files(directory: Path, name: str) -> tuple[Path, Path]:
    """A CA (its PEM file) and a PEM file with a key and a certificate it issued for ``name``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
            builder = builder.add_extension(usage, critical=True)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("Test CA", ca_key, "Test CA", ca_key, True)
    leaf = certificate(name, leaf_key, "Test CA", ca_key, False)
    pem = serialization.Encoding.PEM
    ca_file, leaf_file = directory / "ca.pem", directory / "leaf.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    key = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    leaf_file.write_bytes(key + leaf.public_bytes(pem))
    return ca_file, leaf_file


@pytest.fixture
def tls_receiver(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Receiver]:
    """The receiver over TLS with a certificate for HOST, from a CA deliveries trust."""
    ca_file, leaf_file = tls_files(tmp_path, HOST)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(leaf_file)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    default = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: default(cafile=str(ca_file)))
    yield receiver


def test_tls_verifies_the_certificate_for_the_urls_host(
    api: Api, tls_receiver: Receiver, dns: FakeDns
) -> None:
    dns.answers[HOST] = [["127.0.0.1"]]
    dns.answers["other.example.test"] = [["127.0.0.1"]]
    port = port_of(tls_receiver)
    created = hook(api, f"https://{HOST}:{port}/hook", ["entry.published"])
    api.collection()
    assert publish(api, "hello")["status"] == "succeeded"
    (request,) = tls_receiver.requests
    assert request["headers"]["Host"] == f"{HOST}:{port}"

    api.call("DELETE", f"/v1/manage/webhooks/{created['id']}")
    hook(api, f"https://other.example.test:{port}/hook", ["entry.published"])
    delivery = publish(api, "again")
    assert delivery["status"] == "failed" and delivery["response_status"] is None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery["error"]
    assert len(tls_receiver.requests) == 1


def test_import_app_loads_no_http_client_tls_or_sockets() -> None:
    """The API function's cold start: the delivery's network modules load when it runs."""
    network = ("http.client", "ssl", "socket", "urllib.request")
    code = f"import sys, app; print(','.join(m for m in {network!r} if m in sys.modules))"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
