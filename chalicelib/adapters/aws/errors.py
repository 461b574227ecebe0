"""Turning botocore errors into the ports' exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from ...ports import StorageUnavailable


def code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@contextmanager
def storage(what: str) -> Iterator[None]:
    """Any AWS error left after botocore's own retries becomes StorageUnavailable (503).

    Callers catch the specific errors they expect (NoSuchKey, ConditionalCheckFailed, ...)
    inside this block; whatever escapes is a fault the client may retry later.
    """
    try:
        yield
    except ClientError as error:
        raise StorageUnavailable(f"{what}: {code(error) or http_status(error)}") from error
    except BotoCoreError as error:
        raise StorageUnavailable(f"{what}: {type(error).__name__}") from error
