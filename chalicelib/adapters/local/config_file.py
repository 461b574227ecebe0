"""The ConfigStore port on one JSON file (mode 0600), rewritten atomically under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonConfigStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> str | None:
        entry = self._read().get(name)
        return entry["value"] if entry is not None else None

    def put(self, name: str, value: str, *, secret: bool = False) -> None:
        with self._locked():
            data = self._read()
            data[name] = {"value": value, "secret": secret}
            self._write(data)

    def put_if_absent(self, name: str, value: str, *, secret: bool = False) -> str:
        with self._locked():
            data = self._read()
            if name in data:
                return str(data[name]["value"])
            data[name] = {"value": value, "secret": secret}
            self._write(data)
            return value

    def delete(self, name: str) -> None:
        with self._locked():
            data = self._read()
            if data.pop(name, None) is not None:
                self._write(data)

    def list(self, prefix: str) -> dict[str, str]:
        return {k: v["value"] for k, v in sorted(self._read().items()) if k.startswith(prefix)}

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data: dict[str, dict[str, Any]] = json.loads(text) if text.strip() else {}
        return data

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".config-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self._path.with_suffix(".lock")
        with self._lock, open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
