"""A thread-safe least-recently-used cache bounded by the total size of its values."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLru(Generic[K, V]):
    """Values must be immutable (callers share them). A value larger than ``max_item`` is
    not kept; the least recently used go first once the sizes add up past ``max_total``."""

    def __init__(
        self, max_total: int, size: Callable[[V], int], *, max_item: int | None = None
    ) -> None:
        self._max_total = max_total
        self._max_item = max_total if max_item is None else max_item
        self._size = size
        self._used = 0
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        size = self._size(value)
        if size > self._max_item:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._used += size - (self._size(old) if old is not None else 0)
            self._items[key] = value
            while self._used > self._max_total:
                _, evicted = self._items.popitem(last=False)
                self._used -= self._size(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0

    @property
    def used(self) -> int:
        return self._used
