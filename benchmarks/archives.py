"""How fast archive bombs are refused, and at what memory: `python -m benchmarks.archives`.

Each bomb is made in memory by Python's gzip, zipfile and tarfile modules (zeros, the
best case for a compressor), then handed to the archive reader with the default limits
(CITEQA_ARCHIVE_MAX_BYTES 256 MiB, _MAX_RATIO 100, a 20 MiB document); the figures are
the seconds until the refusal and the process's peak RSS after all of them (which
includes making the bombs)."""

from __future__ import annotations

import gzip
import io
import json
import resource
import tarfile
import time
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any

from ingest.readers.archive import Limits, compression_of, decompress, members

MIB = 1 << 20


def _gzip(mib: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as stream:
        for _ in range(mib):
            stream.write(bytes(MIB))
    return out.getvalue()


def _zip(members_: int, mib_each: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(members_):
            with archive.open(f"part{i}.txt", "w") as member:
                for _ in range(mib_each):
                    member.write(bytes(MIB))
    return out.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _tar_gz(members_: int, mib_each: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for i in range(members_):
            info = tarfile.TarInfo(f"zeros{i}.txt")
            info.size = mib_each * MIB
            archive.addfile(info, io.BufferedReader(_Zeros(info.size)))
    return out.getvalue()


def _refusal(run: Callable[[], object]) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        run()
        outcome = "accepted"
    except Exception as exc:  # noqa: BLE001 - the refusal is the figure
        outcome = f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"
    return time.perf_counter() - started, outcome


def main() -> None:
    limits = Limits()
    cases: list[tuple[str, str, bytes, int]] = [
        ("gzip, 1 GiB of zeros", "zeros.txt.gz", _gzip(1024), 1024),
        ("zip, 10 members of 100 MiB", "bomb.zip", _zip(10, 100), 1000),
        ("tar.gz, one 1 GiB member", "one.tar.gz", _tar_gz(1, 1024), 1024),
        ("tar.gz, 40 members of 10 MiB", "many.tar.gz", _tar_gz(40, 10), 400),
    ]
    rows = []
    for label, name, data, unpacked_mib in cases:
        unpack = decompress if compression_of(name) else members
        seconds, outcome = _refusal(partial(unpack, data, name, limits))
        rows.append(
            {
                "bomb": label,
                "packed_bytes": len(data),
                "unpacks_to_mib": unpacked_mib,
                "seconds_to_refuse": round(seconds, 3),
                "outcome": outcome,
            }
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bombs": rows, "peak_rss_mib": round(peak, 1)}, indent=2))


if __name__ == "__main__":
    main()
