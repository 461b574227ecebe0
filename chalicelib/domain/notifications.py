"""Which object changes raise an event, and which queue (function) handles them.

One definition for the S3 bucket notifications (provisioning and the SAM template) and for
the local object store, so the local backend notifies exactly what S3 would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Target = Literal["events", "media"]


@dataclass(frozen=True)
class NotifyRule:
    prefix: str
    suffix: str = ""
    target: Target = "events"

    @property
    def name(self) -> str:
        tail = self.suffix.strip("/").replace(".", "-")
        return "cms-" + self.prefix.rstrip("/") + (f"-{tail}" if tail else "")

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


# Entries and collections go to the render function; a media original and its metadata go to
# the thumbnail function. Variants and manifests (written by that function) raise nothing.
RULES: tuple[NotifyRule, ...] = (
    NotifyRule("content/"),
    NotifyRule("published/"),
    NotifyRule("collections/"),
    NotifyRule("media/", "/original", "media"),
    NotifyRule("media/", "/meta.json", "media"),
)


def target_of(key: str) -> Target | None:
    return next((rule.target for rule in RULES if rule.matches(key)), None)
