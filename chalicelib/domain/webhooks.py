"""Webhook deliveries: the signed request, the retry schedule and the delivery record.

A receiver checks ``X-CMS-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 over ``f"{t}.{body}"`` with the webhook's secret, and refuses an old ``t``
(replays). See ``verify`` for the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

# "dead-lettered": the handler crashed on every receive; a redrive of its message retries it.
DeliveryStatus = Literal["pending", "succeeded", "failed", "dead-lettered"]
RETRYABLE: tuple[str, ...] = ("pending", "dead-lettered")
SIGNATURE_HEADER = "X-CMS-Signature"
MAX_ATTEMPTS = 6
JOB_KIND = "webhook-delivery"  # the ``cms`` field of a queue message carrying a delivery


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """The receiver's check: a valid signature made less than ``tolerance`` seconds ago."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
    except ValueError:
        return False
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not re.fullmatch(r"[0-9]{1,12}", stamp) or not re.fullmatch(r"[0-9a-f]{64}", given):
        return False  # also keeps compare_digest from raising on non-ASCII text
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def backoff_seconds(attempt: int, base: float) -> int:
    """Delay before attempt ``attempt + 1``: base, 4x base, 16x base ... capped at 15 min
    (the longest an SQS message can be delayed)."""
    return int(min(900, base * 4 ** (attempt - 1)))


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    event: str
    url: str
    payload: str  # the exact JSON body, so a replay sends the same bytes
    status: DeliveryStatus = "pending"
    attempts: int = 0
    response_status: int | None = None
    error: str | None = None
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(**data)

    def after_attempt(
        self, *, ok: bool, status: int | None, error: str | None, at: str, final: bool
    ) -> Delivery:
        state: DeliveryStatus = "succeeded" if ok else ("failed" if final else "pending")
        return replace(
            self,
            status=state,
            attempts=self.attempts + 1,
            response_status=status,
            error=None if ok else error,
            updated_at=at,
        )

    def view(self) -> dict[str, Any]:
        data = self.to_dict()
        data.pop("payload")
        return data
