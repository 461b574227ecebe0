"""Webhooks: targets in the site settings (secrets apart), signed deliveries sent through the
outbox after the change is durable, retried with backoff, recorded, and replayable.

``emit`` runs in the event handlers once the index write has applied, so a webhook never
announces a change that a reader could not see. Each target gets a delivery record and an
outbox message; ``deliver`` (the outbox's handler) POSTs it and either records success,
schedules the next attempt with a delay, or records the failure for good after
``MAX_ATTEMPTS`` (an admin can replay it). A crash of the handler itself is retried by the
queue and ends in the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..domain.errors import FieldError, NotFound, ValidationFailed
from ..domain.media import new_media_id
from ..domain.site import parse_settings
from ..domain.timeutil import to_iso
from ..domain.webhooks import (
    JOB_KIND,
    MAX_ATTEMPTS,
    RETRYABLE,
    SIGNATURE_HEADER,
    Delivery,
    backoff_seconds,
    sign,
)
from ..ports import Backend
from . import site

if TYPE_CHECKING:
    import http.client
    import socket

    from ..domain import net_guard

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
MAX_ADDRESSES = 3
USER_AGENT = "headless-cms-webhooks/1"
LOOPBACK_ENV = "CMS_WEBHOOKS_ALLOW_LOOPBACK"
TRUE = ("1", "true", "yes", "on")
# How a delivery looks its target's host up (None: the system's); tests replace it (they
# never ask real DNS). net_guard loads with the first check, not at the API's cold start.
resolve: net_guard.Resolver | None = None


def _secret_name(webhook_id: str) -> str:
    return f"secrets/webhooks/{webhook_id}"


def _now(backend: Backend) -> str:
    return to_iso(backend.clock.now())


def _new_id(backend: Backend) -> str:
    """Time-ordered (a ULID, like media ids), so the delivery log lists newest first."""
    return new_media_id(int(backend.clock.now().timestamp() * 1000))


# --- targets ---------------------------------------------------------------------------------


def loopback_allowed() -> bool:
    """The development opt-in (loopback targets, http://): CMS_WEBHOOKS_ALLOW_LOOPBACK, and
    when it is not set, on for the local backend only."""
    raw = os.environ.get(LOOPBACK_ENV, "").strip().lower()
    if raw:
        return raw in TRUE
    return os.environ.get("CMS_BACKEND", "local") in ("", "local")


def _check_url(url: str, field: str) -> None:
    from ..domain import net_guard

    try:
        net_guard.parse_target(url, allow_loopback=loopback_allowed())
    except net_guard.Refused as exc:
        error = FieldError(field, f"url is refused: {exc}", "refused")
        raise ValidationFailed("The webhook's URL is refused.", [error]) from exc


def create(backend: Backend, body: dict[str, Any]) -> dict[str, Any]:
    settings = site.get_settings(backend)
    data = {"id": body.get("id") or f"wh-{secrets.token_hex(4)}", **body}
    if any(w.id == data["id"] for w in settings.webhooks):
        raise ValidationFailed(f"A webhook {data['id']!r} exists.", [])
    webhooks = [*(w.model_dump() for w in settings.webhooks), data]
    updated = parse_settings({**settings.model_dump(), "webhooks": webhooks})
    webhook = next(w for w in updated.webhooks if w.id == data["id"])
    _check_url(webhook.url, f"webhooks.{len(webhooks) - 1}.url")
    secret = secrets.token_urlsafe(32)
    backend.config.put(_secret_name(webhook.id), secret, secret=True)
    site.save(backend, updated)
    return {**webhook.model_dump(), "secret": secret}


def list_targets(backend: Backend) -> list[dict[str, Any]]:
    return [w.model_dump() for w in site.get_settings(backend).webhooks]


def delete(backend: Backend, webhook_id: str) -> None:
    settings = site.get_settings(backend)
    if not any(w.id == webhook_id for w in settings.webhooks):
        raise NotFound(f"There is no webhook {webhook_id!r}.")
    kept = [w for w in settings.webhooks if w.id != webhook_id]
    site.save(backend, settings.model_copy(update={"webhooks": kept}))
    backend.config.delete(_secret_name(webhook_id))


# --- sending ---------------------------------------------------------------------------------


def emit(backend: Backend, event: str, data: dict[str, Any]) -> int:
    """Queue a delivery of ``event`` to every enabled target that wants it; returns how many."""
    targets = site.get_settings(backend).targets(event)
    if not targets:
        return 0
    now = _now(backend)
    event_id = _new_id(backend)
    payload = json.dumps({"id": event_id, "event": event, "occurred_at": now, "data": data})
    for target in targets:
        delivery = Delivery(
            id=_new_id(backend),
            webhook_id=target.id,
            event=event,
            url=target.url,
            payload=payload,
            created_at=now,
            updated_at=now,
        )
        backend.webhook_log.put_delivery(delivery)
        backend.outbox.send({"cms": JOB_KIND, "delivery": delivery.id})
    return len(targets)


def _connect(addresses: list[str], port: int) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers (each one was checked):
    at most ``MAX_ADDRESSES`` tried, all within ``TIMEOUT_SECONDS``, so a name with many
    unreachable addresses cannot hold the webhooks function until its own timeout."""
    import socket

    deadline = time.monotonic() + TIMEOUT_SECONDS
    failure: OSError | None = None
    for address in addresses[:MAX_ADDRESSES]:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((address, port), timeout=left)
        except OSError as exc:
            failure = exc
    raise failure or OSError("no address answered in time")


def _connection(target: net_guard.Target, addresses: list[str]) -> http.client.HTTPConnection:
    """A connection already open to a checked address: http.client sends the URL's host in
    ``Host`` and TLS verifies the certificate for it (and sends it as SNI), but nothing looks
    the host up again, so a second DNS answer cannot redirect the request."""
    import http.client

    sock = _connect(addresses, target.port)
    if target.scheme == "http":
        connection = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT_SECONDS)
    else:
        import ssl

        context = ssl.create_default_context()
        sock = context.wrap_socket(sock, server_hostname=target.host)
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=TIMEOUT_SECONDS, context=context
        )
    connection.sock = sock
    return connection


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """(HTTP status, error) of one POST; raises net_guard.Refused for a target that must not
    be reached. Redirects are not followed (a 3xx is a failure). http.client loads here, in
    the webhooks function, not at the API function's cold start."""
    import http.client

    from ..domain import net_guard

    allow = loopback_allowed()
    target = net_guard.parse_target(url, allow_loopback=allow)
    lookup = resolve or net_guard.system_resolve
    try:
        addresses = net_guard.checked_addresses(target, lookup, allow_loopback=allow)
        connection = _connection(target, addresses)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            status = connection.getresponse().status
        finally:
            connection.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def _attempt(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None, bool]:
    """(HTTP status, error, whether a failure may be retried): a refused target would be
    refused again, so it is not."""
    from ..domain import net_guard

    try:
        status, error = _post(url, body, headers)
    except net_guard.Refused as exc:
        return None, f"refused: {exc}", False
    return status, error, True


def backoff_base() -> float:
    raw = os.environ.get("CMS_WEBHOOK_BACKOFF_SECONDS", "")
    try:
        return max(0.0, float(raw)) if raw else 30.0
    except ValueError:
        return 30.0


def deliver(backend: Backend, delivery_id: str) -> Delivery | None:
    """One attempt of one delivery (the outbox's handler)."""
    delivery = backend.webhook_log.get_delivery(delivery_id)
    if delivery is None or delivery.status not in RETRYABLE:
        return delivery  # already done: a duplicate message
    secret = backend.config.get(_secret_name(delivery.webhook_id))
    target = next(
        (w for w in site.get_settings(backend).webhooks if w.id == delivery.webhook_id), None
    )
    if secret is None or target is None:
        done = replace(delivery, status="failed", error="The webhook was deleted.")
        backend.webhook_log.put_delivery(done)
        return done
    body = delivery.payload.encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CMS-Event": delivery.event,
        "X-CMS-Delivery": delivery.id,
        "X-CMS-Timestamp": str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    status, error, retry = _attempt(target.url, body, headers)
    ok = status is not None and 200 <= status < 300
    final = ok or not retry or delivery.attempts + 1 >= MAX_ATTEMPTS
    done = delivery.after_attempt(ok=ok, status=status, error=error, at=_now(backend), final=final)
    backend.webhook_log.put_delivery(done)
    if not final:
        delay = backoff_seconds(done.attempts, backoff_base())
        backend.outbox.send({"cms": JOB_KIND, "delivery": done.id}, delay_seconds=delay)
    elif not ok:
        log.warning("webhook delivery %s failed for good: %s", done.id, error)
    return done


def replay(backend: Backend, delivery_id: str) -> Delivery:
    """Send a recorded delivery again, as a new delivery with the same body."""
    original = backend.webhook_log.get_delivery(delivery_id)
    if original is None:
        raise NotFound(f"There is no delivery {delivery_id!r}.")
    now = _now(backend)
    again = Delivery(
        id=_new_id(backend),
        webhook_id=original.webhook_id,
        event=original.event,
        url=original.url,
        payload=original.payload,
        created_at=now,
        updated_at=now,
    )
    backend.webhook_log.put_delivery(again)
    backend.outbox.send({"cms": JOB_KIND, "delivery": again.id})
    return again


def find(backend: Backend, delivery_id: str) -> Delivery:
    delivery = backend.webhook_log.get_delivery(delivery_id)
    if delivery is None:
        raise NotFound(f"There is no delivery {delivery_id!r}.")
    return delivery
