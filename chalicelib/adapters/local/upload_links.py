"""The FileLinks port for the local backend: upload forms POST to this API's own
``/v1/uploads`` with a signed policy; downloads are served by the API (no URL of its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ...domain.object_keys import check_key
from ...domain.timeutil import to_iso
from ...domain.upload_policy import LOCAL_UPLOAD_PATH, UploadPolicy
from ...ports import UploadForm


class LocalFileLinks:
    def __init__(
        self, secret: Callable[[], bytes], now: Callable[[], dt.datetime] | None = None
    ) -> None:
        self._secret = secret
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def download_url(
        self, key: str, *, filename: str | None = None, cache_control: str | None = None
    ) -> str | None:
        return None

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> UploadForm:
        check_key(key)
        expires = self._now() + dt.timedelta(seconds=expires_in)
        policy = UploadPolicy(key, content_type, max_bytes, int(expires.timestamp()))
        return UploadForm(
            url=LOCAL_UPLOAD_PATH,
            fields={
                "key": key,
                "Content-Type": content_type,
                "policy": policy.encode(self._secret()),
            },
            expires_at=to_iso(expires),
            max_bytes=max_bytes,
        )
