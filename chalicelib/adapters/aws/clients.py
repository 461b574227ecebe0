"""boto3 clients, made once per execution environment, with timeouts and standard retries.

boto3 reads ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) itself, so pointing the
whole app at moto or any compatible endpoint needs no code here.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

TOTAL_ATTEMPTS = 5  # the first try and four retries, with backoff (botocore standard mode)


def client_config() -> Config:
    """A fresh Config per client: botocore rewrites the retries mapping it is given."""
    return Config(
        connect_timeout=3,
        read_timeout=10,
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
    )


_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """The shared client for ``service`` ('s3', 'dynamodb', 'ssm', 'sqs')."""
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                global _session
                if _session is None:  # one session: its loaders and caches are shared
                    _session = boto3.session.Session()
                found = _session.client(service, config=client_config())
                _clients[service] = found
    return found


class LazyClient:
    """Stands in for a client until first used, so a cold container builds only the clients
    its request needs (a delivery GET: DynamoDB alone on a warm body cache)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self._service), name)


def reset() -> None:
    """Forget the session and clients (tests that change the endpoint or credentials)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
