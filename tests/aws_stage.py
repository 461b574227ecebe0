"""An AWS stage on moto: provisioned by the project's own code, pumped like Lambda."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chalicelib import devtools, wiring
from chalicelib.adapters.aws import clients, provisioning
from chalicelib.adapters.aws.settings import AwsSettings

SERVICES = ("s3", "sqs", "dynamodb", "ssm")


def aws_environment(monkeypatch: pytest.MonkeyPatch, admin_key: str) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CMS_BACKEND": "aws",
        "CMS_STAGE": "test",
        "CMS_ADMIN_KEY": admin_key,
        "CMS_CONFIG_TTL_SECONDS": "60",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@contextmanager
def provisioned_stage() -> Iterator[AwsSettings]:
    """Inside a moto context (in process or a server): make the stage, yield its settings."""
    clients.reset()
    wiring.reset()
    settings = AwsSettings.from_env()
    provisioning.provision({n: clients.client(n) for n in SERVICES}, settings)
    try:
        yield settings
    finally:
        wiring.reset()
        clients.reset()


class PumpedEvents:
    """What the local backend's LocalEventDelivery does, for the AWS stage in tests: moto's
    queues are pumped to their functions, as Lambda would, after each write request (a bulk
    write included: the pump is how the tests play Lambda) and whenever a test asks."""

    def __init__(self, settings: AwsSettings) -> None:
        self._settings = settings

    def _pump(self) -> int:
        return int(devtools.pump(self._settings, once=True))

    @contextmanager
    def request(self, *, writes: bool) -> Iterator[None]:
        yield
        if writes:
            self._pump()

    def defer(self, lane: str = "") -> None:
        pass

    def deliver_all(self) -> int:
        return self._pump()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        self._pump()
        return True


def pumping_container(settings: AwsSettings) -> wiring.Container:
    """The process container, delivering queued messages (S3 events, webhook deliveries)
    to their functions the way Lambda would whenever the app (or a test) asks it to process
    events."""
    container = wiring.container()
    container.events = PumpedEvents(settings)
    return container


def set_change_epoch(container: wiring.Container, epoch: str) -> None:
    """What a rebuild by another container leaves in the table: a new change-log epoch."""
    import boto3

    boto3.client("dynamodb").put_item(
        TableName=container.backend.index.table,  # type: ignore[attr-defined]
        Item={"PK": {"S": "META"}, "SK": {"S": "CHANGES_EPOCH"}, "epoch": {"S": epoch}},
    )
