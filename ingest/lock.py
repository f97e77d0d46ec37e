"""One writer per embedded store.

Chroma's embedded store (`PersistentClient`) belongs to one process. Two processes
ingesting into the same data dir at once would interleave their writes, so a writer
takes an exclusive lock on `<data_dir>/ingest.lock` first; a second process fails fast
with IngestInProgress instead of waiting or corrupting. Writers inside one process (API
threads) queue on a thread lock. A Chroma server serialises writes itself, so server mode
takes no file lock.

The lock is `flock`, which the kernel drops when its holder dies, so a killed ingest
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from citeqa.errors import IngestInProgress

_THREADS = threading.Lock()  # writers of this process, one at a time


@contextmanager
def store_write_lock(data_dir: Path | None) -> Iterator[None]:
    """Hold the store's write lock for the block (no file lock when data_dir is None)."""
    with _THREADS:
        if data_dir is None:
            yield
            return
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / "ingest.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IngestInProgress(
                    "another process is writing to this store (ingest in progress); "
                    "try again when it has finished"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # releases the flock
