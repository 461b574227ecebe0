"""Names of the AWS resources of one stage, read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, get_args

from ...domain.notifications import Target

# The queues of a stage (besides the dead-letter queue), by what they carry: the S3
# notifications of each target of ``domain.notifications.RULES``, and webhook deliveries (the
# outbox, which only the app itself sends to). Each has its own function.
QueueKind = Literal[Target, "webhooks"]
NOTIFIED: tuple[Target, ...] = get_args(Target)  # the queues S3 sends to


@dataclass(frozen=True)
class AwsSettings:
    app: str
    stage: str
    bucket: str
    table: str
    events_queue: str
    media_queue: str
    webhooks_queue: str
    dead_letter_queue: str  # shared by all three queues (see docs/deploy.md)
    ssm_prefix: str
    config_ttl_seconds: float = 60.0

    @property
    def queues(self) -> dict[QueueKind, str]:
        """Every queue that a function reads, all redriving to ``dead_letter_queue``."""
        return {**self.notified_queues, "webhooks": self.webhooks_queue}

    @property
    def notified_queues(self) -> dict[Target, str]:
        """The queue of each notification target (``domain.notifications.RULES``)."""
        return {"events": self.events_queue, "media": self.media_queue}

    @classmethod
    def from_env(cls) -> AwsSettings:
        app = os.environ.get("CMS_APP_NAME", "headless-cms")
        stage = os.environ.get("CMS_STAGE", "dev")
        base = f"{app}-{stage}"
        return cls(
            app=app,
            stage=stage,
            bucket=os.environ.get("CMS_BUCKET", f"{base}-content"),
            table=os.environ.get("CMS_TABLE", f"{base}-index"),
            events_queue=os.environ.get("CMS_EVENTS_QUEUE", f"{base}-events"),
            media_queue=os.environ.get("CMS_MEDIA_QUEUE", f"{base}-media"),
            webhooks_queue=os.environ.get("CMS_WEBHOOKS_QUEUE", f"{base}-webhooks"),
            dead_letter_queue=os.environ.get("CMS_DEAD_LETTER_QUEUE", f"{base}-events-dlq"),
            ssm_prefix=os.environ.get("CMS_SSM_PREFIX", f"/{app}/{stage}"),
            config_ttl_seconds=float(os.environ.get("CMS_CONFIG_TTL_SECONDS", "60")),
        )
