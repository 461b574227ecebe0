"""Which hosts a webhook may reach: public addresses only (SSRF), checked on the URL when a
target is created and on every address its host resolves to when a delivery is sent.

Refused: loopback, private, link-local, multicast, unspecified, reserved and shared (CGNAT)
addresses, the cloud metadata addresses, and IPv6 forms that embed a refused IPv4 address
(IPv4-mapped and -compatible, 6to4, Teredo, NAT64). A host written as a number in any form
``inet_aton`` accepts (``2852039166``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) is the address it
means. The development opt-in (``allow_loopback``) lets ``http://`` through and loopback
(127.0.0.0/8, ::1, ``localhost``) but nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses to connect to, as text; raises OSError when the name has none.
Resolver = Callable[[str, int], list[str]]

LOOPBACK = "a loopback address"
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254")
)
PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)

_RULES: tuple[tuple[Callable[[IPAddress], bool], str], ...] = (
    (lambda ip: ip in METADATA, "a cloud metadata address"),
    (lambda ip: ip.is_unspecified, "an unspecified address"),
    (lambda ip: ip.is_loopback, LOOPBACK),
    (lambda ip: ip.is_link_local, "a link-local address"),
    (lambda ip: ip.is_multicast, "a multicast address"),
    (lambda ip: any(ip in net for net in PRIVATE), "a private address"),
    (lambda ip: ip in SHARED, "a shared (carrier-grade NAT) address"),
    (lambda ip: ip.is_reserved or not ip.is_global, "a reserved (non-public) address"),
)


class Refused(Exception):
    """A target the CMS will not send to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL, lower case, without brackets: the Host header and TLS name
    port: int
    path: str  # the request target: path and query


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (and reaches), if it is one of those forms."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.teredo:
        return ip.teredo[1]  # the client, where the traffic ends up
    value = int(ip)
    if ip in NAT64 or 1 < value < 2**32:  # NAT64, or IPv4-compatible (::a.b.c.d)
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def classify(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (a phrase), or None when it is one."""
    inner = embedded_ipv4(ip)
    if inner is not None and (reason := classify(inner)):
        return f"an IPv6 form of {inner}, {reason}"
    return next((label for test, label in _RULES if test(ip)), None)


def refusal(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    label = classify(ip)
    return None if label == LOOPBACK and allow_loopback else label


def host_address(host: str) -> IPAddress | None:
    """The address a host names literally, also in the legacy numeric forms; else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not LEGACY_IPV4.fullmatch(host):
        return None
    import socket

    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _check_host(host: str, *, allow_loopback: bool) -> None:
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        if not allow_loopback:
            raise Refused(f"{host} is a loopback name")
        return
    address = host_address(host)
    reason = None if address is None else refusal(address, allow_loopback=allow_loopback)
    if address is not None and reason:
        spelled = "is" if address.version == 6 or str(address) == host else f"means {address},"
        raise Refused(f"{host} {spelled} {reason}")


def parse_target(url: str, *, allow_loopback: bool) -> Target:
    """The target of ``url`` if its scheme and (literal) host are allowed; raises Refused."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise Refused(f"the URL must be {' or '.join(f'{s}://' for s in schemes)}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise Refused("the URL's port is invalid") from exc
    host = parts.hostname or ""
    if not host:
        raise Refused("the URL has no host")
    _check_host(host, allow_loopback=allow_loopback)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path)


def checked_addresses(target: Target, resolve: Resolver, *, allow_loopback: bool) -> list[str]:
    """Every address the host resolves to, if every one is allowed (a single refused address
    refuses them all); the connection must go to one of these, never to a second lookup.
    A host that is an address in any spelling is that address, without a lookup."""
    literal = host_address(target.host)
    addresses = [str(literal)] if literal is not None else resolve(target.host, target.port)
    if not addresses:
        raise Refused(f"{target.host} resolves to no address")
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as exc:
            raise Refused(f"{target.host} resolves to {address!r}, not an address") from exc
        reason = refusal(ip, allow_loopback=allow_loopback)
        if reason and address == target.host:
            raise Refused(f"{address} is {reason}")
        if reason:
            raise Refused(f"{target.host} resolves to {address}, {reason}")
    return addresses


def system_resolve(host: str, port: int) -> list[str]:
    """The resolver of the operating system (``getaddrinfo``), in its order of preference."""
    import socket

    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
