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
from typing import Any

from ..domain.errors import NotFound, ValidationFailed
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

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
USER_AGENT = "headless-cms-webhooks/1"


def _secret_name(webhook_id: str) -> str:
    return f"secrets/webhooks/{webhook_id}"


def _now(backend: Backend) -> str:
    return to_iso(backend.clock.now())


def _new_id(backend: Backend) -> str:
    """Time-ordered (a ULID, like media ids), so the delivery log lists newest first."""
    return new_media_id(int(backend.clock.now().timestamp() * 1000))


# --- targets ---------------------------------------------------------------------------------


def create(backend: Backend, body: dict[str, Any]) -> dict[str, Any]:
    settings = site.get_settings(backend)
    data = {"id": body.get("id") or f"wh-{secrets.token_hex(4)}", **body}
    if any(w.id == data["id"] for w in settings.webhooks):
        raise ValidationFailed(f"A webhook {data['id']!r} exists.", [])
    webhooks = [*(w.model_dump() for w in settings.webhooks), data]
    updated = parse_settings({**settings.model_dump(), "webhooks": webhooks})
    webhook = next(w for w in updated.webhooks if w.id == data["id"])
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


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """(HTTP status, error): redirects are not followed (a 3xx is a failure). urllib loads
    here, in the webhooks function, not at the API function's cold start."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


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
    status, error = _post(target.url, body, headers)
    ok = status is not None and 200 <= status < 300
    final = ok or delivery.attempts + 1 >= MAX_ATTEMPTS
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
