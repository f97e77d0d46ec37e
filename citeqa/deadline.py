"""A time budget for the work done on one document (reading, segmenting, chunking).

The ingest pipeline opens a budget around each document; the loops that read text check
it (`check()`) every so often, and raise ProcessingTimeout once it is spent, so that one
pathological document fails alone instead of holding a CPU (and, with it, the GIL of a
server) for as long as it takes. Outside a budget `check()` costs a context lookup and
never raises: the read path segments text without one.

The budget lives in a context variable: it follows the thread (or task) doing the work,
so concurrent ingests in one process each keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from citeqa.errors import ProcessingTimeout

_deadline: ContextVar[float | None] = ContextVar("citeqa_deadline", default=None)


def seconds_for(size_bytes: int, per_mb: float, floor: float) -> float | None:
    """The budget of a document of `size_bytes`: `per_mb` seconds a megabyte, at least
    `floor`; None (no limit) when `per_mb` is 0."""
    if per_mb <= 0:
        return None
    return max(floor, per_mb * size_bytes / 1_000_000)


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Work inside spends at most `seconds` (None: no limit) before `check()` raises."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise ProcessingTimeout when the current budget is spent."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise ProcessingTimeout("processing the document took longer than its time budget")
