"""The ConfigStore port on SSM Parameter Store, cached in the execution environment.

Parameters live under ``/{app}/{stage}/``; secrets (API key hashes, signing keys) are
SecureString. Reads go through a TTL cache, so a warm invocation makes no SSM call.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from .errors import code, storage

MISSING = object()


class SsmConfigStore:
    def __init__(self, client: Any, prefix: str, *, ttl_seconds: float = 60.0) -> None:
        self._ssm = client
        self._prefix = "/" + prefix.strip("/") + "/"
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, Any]] = {}
        self._lists: dict[str, tuple[float, dict[str, str]]] = {}

    def _path(self, name: str) -> str:
        return self._prefix + name.strip("/")

    def get(self, name: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._values.get(name)
        if cached is not None and cached[0] > now:
            return None if cached[1] is MISSING else str(cached[1])
        with storage("SSM GetParameter"):
            try:
                response = self._ssm.get_parameter(Name=self._path(name), WithDecryption=True)
                value: Any = response["Parameter"]["Value"]
            except ClientError as error:
                if code(error) != "ParameterNotFound":
                    raise
                value = MISSING
        with self._lock:
            self._values[name] = (now + self._ttl, value)
        return None if value is MISSING else str(value)

    def put(self, name: str, value: str, *, secret: bool = False) -> None:
        with storage("SSM PutParameter"):
            self._ssm.put_parameter(
                Name=self._path(name),
                Value=value,
                Type="SecureString" if secret else "String",
                Overwrite=True,
            )
        with self._lock:
            self._values[name] = (time.monotonic() + self._ttl, value)
            self._lists.clear()

    def put_if_absent(self, name: str, value: str, *, secret: bool = False) -> str:
        with storage("SSM PutParameter"):
            try:
                self._ssm.put_parameter(
                    Name=self._path(name),
                    Value=value,
                    Type="SecureString" if secret else "String",
                    Overwrite=False,
                )
            except ClientError as error:
                if code(error) != "ParameterAlreadyExists":
                    raise
                response = self._ssm.get_parameter(Name=self._path(name), WithDecryption=True)
                value = response["Parameter"]["Value"]
        with self._lock:
            self._values[name] = (time.monotonic() + self._ttl, value)
            self._lists.clear()
        return value

    def delete(self, name: str) -> None:
        with storage("SSM DeleteParameter"):
            try:
                self._ssm.delete_parameter(Name=self._path(name))
            except ClientError as error:
                if code(error) != "ParameterNotFound":
                    raise
        with self._lock:
            self._values[name] = (time.monotonic() + self._ttl, MISSING)
            self._lists.clear()

    def list(self, prefix: str) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            cached = self._lists.get(prefix)
        if cached is not None and cached[0] > now:
            return dict(cached[1])
        path = self._path(prefix).rstrip("/")
        found: dict[str, str] = {}
        paginator = self._ssm.get_paginator("get_parameters_by_path")
        with storage("SSM GetParametersByPath"):
            for page in paginator.paginate(Path=path, Recursive=True, WithDecryption=True):
                for parameter in page.get("Parameters", []):
                    name = parameter["Name"][len(self._prefix) :]
                    if name.startswith(prefix):
                        found[name] = parameter["Value"]
        result = dict(sorted(found.items()))
        with self._lock:
            self._lists[prefix] = (now + self._ttl, result)
        return dict(result)

    def invalidate(self) -> None:
        with self._lock:
            self._values.clear()
            self._lists.clear()
