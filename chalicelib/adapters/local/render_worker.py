"""A local render worker process: ``python -m chalicelib.adapters.local.render_worker``.

It reads jobs from stdin and writes results to stdout, one length-prefixed pickle frame each
(the parent is the only peer: both ends are this code). Each job renders in this process's
main thread under the CPU timer of ``domain.render_budget``; the pool in
``render_workers.py`` kills the process if it ever outlives the budget anyway. Every reply
(and the first, ``ready``) carries the CPU seconds this process has used so far: the pool
counts a job's CPU from there, without reading /proc for every job.
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
import time
from typing import IO, Any

from ...domain.render_budget import RenderBudget, RenderRefused, render_within

_LENGTH = struct.Struct("!I")
READY = "ready"


def write_frame(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> Any:
    """The next message; None at the end of the stream (the peer is gone)."""
    head = _read_exactly(stream, _LENGTH.size)
    if head is None:
        return None
    data = _read_exactly(stream, _LENGTH.unpack(head)[0])
    return None if data is None else pickle.loads(data)


def reply(message: Any) -> tuple[Any, float]:
    """What the worker sends: the message and its CPU seconds so far."""
    return message, time.process_time()


def handle(job: dict[str, Any]) -> tuple[str, Any]:
    budget = RenderBudget(**job["budget"])
    try:
        rendered = render_within(
            budget, job["body"], summary=job["summary"], front_matter=job["front_matter"]
        )
    except RenderRefused as refused:
        return ("refused", (refused.code, refused.detail))
    return ("rendered", rendered)


def main() -> None:
    from ...domain.rendering import warm

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    warm()
    write_frame(replies, reply(READY))
    while (job := read_frame(requests)) is not None:
        write_frame(replies, reply(handle(job)))


if __name__ == "__main__":
    main()
