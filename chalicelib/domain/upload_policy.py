"""The local backend's stand-in for S3's presigned POST: a signed policy carried in the form,
naming the one key, content type, size limit and expiry the upload may use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import cursors
from .errors import BadRequest

LOCAL_UPLOAD_PATH = "/v1/uploads"


@dataclass(frozen=True)
class UploadPolicy:
    key: str
    content_type: str
    max_bytes: int
    expires: int  # epoch seconds

    def encode(self, secret: bytes) -> str:
        payload = {"u": self.key, "t": self.content_type, "m": self.max_bytes, "e": self.expires}
        return cursors.encode(payload, secret)

    @classmethod
    def decode(cls, token: str, secret: bytes) -> UploadPolicy:
        try:
            payload = cursors.decode(token, secret)
            return cls(
                key=str(payload["u"]),
                content_type=str(payload["t"]),
                max_bytes=int(payload["m"]),
                expires=int(payload["e"]),
            )
        except (BadRequest, KeyError, TypeError, ValueError) as exc:
            raise BadRequest("The upload policy is invalid.", {"field": "policy"}) from exc

    def expired(self, now: dt.datetime) -> bool:
        return self.expires < now.timestamp()
