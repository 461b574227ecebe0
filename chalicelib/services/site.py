"""Site settings: read with defaults, replaced by admins (webhooks have their own routes)."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..domain.errors import ValidationFailed
from ..domain.site import SETTINGS_NAME, SiteSettings, parse_settings
from ..ports import Backend

log = logging.getLogger(__name__)


def get_settings(backend: Backend) -> SiteSettings:
    raw = backend.config.get(SETTINGS_NAME)
    if not raw:
        return SiteSettings()
    try:
        return parse_settings(json.loads(raw))
    except (ValueError, ValidationFailed):
        log.error("the stored site settings are invalid; using the defaults")
        return SiteSettings()


def save(backend: Backend, settings: SiteSettings) -> None:
    backend.config.put(SETTINGS_NAME, settings.model_dump_json())


def put_settings(backend: Backend, body: dict[str, Any]) -> SiteSettings:
    if "webhooks" in body:
        raise ValidationFailed("Webhooks are managed at /v1/manage/webhooks.", [])
    current = get_settings(backend)
    settings = parse_settings({**body, "webhooks": [w.model_dump() for w in current.webhooks]})
    save(backend, settings)
    return settings


def public_view(settings: SiteSettings) -> dict[str, Any]:
    return settings.model_dump(exclude={"webhooks"})
