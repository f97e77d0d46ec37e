"""Compressed files (.gz, .bz2, .xz around any supported format) and archives (.zip,
.tar and compressed tars): unpacked in memory, never onto disk, within limits checked
while they unpack, not after (settings: archive_max_bytes, archive_max_members,
archive_max_ratio; each member also within max_document_bytes).

An archive is refused whole (ArchiveRefused, ArchiveTooLarge), before anything of it is
stored, when it unpacks to too much, holds too many members, unpacks to too large a
multiple of its own size (a bomb), or names a member with an absolute path or `..`
(path traversal). Links, devices, archives inside archives and members over the document
size limit are refused one by one: nothing is read through them."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from citeqa.errors import (
    ArchiveRefused,
    ArchiveTooLarge,
    CiteqaError,
    DocumentTooLarge,
    DocumentUnreadable,
    UnsupportedDocumentType,
)
from citeqa.settings import IngestSettings

# A file that unpacks to no more than this is never refused for its ratio: text of a
# few repeated lines compresses far better than 100 to 1, and is no threat.
RATIO_GRACE = 1 << 20

_OPENERS: dict[str, Callable[[IO[bytes]], io.BufferedIOBase]] = {
    ".gz": lambda raw: gzip.GzipFile(fileobj=raw),
    ".bz2": lambda raw: bz2.BZ2File(raw),
    ".xz": lambda raw: lzma.LZMAFile(raw),
}
COMPRESSED_SUFFIXES = frozenset(_OPENERS)
_TAR_SUFFIXES = {
    ".tar": None,
    ".tar.gz": ".gz",
    ".tgz": ".gz",
    ".tar.bz2": ".bz2",
    ".tbz2": ".bz2",
    ".tbz": ".bz2",
    ".tar.xz": ".xz",
    ".txz": ".xz",
}
ARCHIVE_SUFFIXES = frozenset({".zip", *_TAR_SUFFIXES})
_UNPACK_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True)
class Limits:
    """What one archive or compressed file may unpack to."""

    max_bytes: int = 256 * 1024 * 1024
    max_members: int = 10_000
    max_ratio: float = 100.0
    max_member_bytes: int = 20 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Limits:
        return cls(
            max_bytes=settings.archive_max_bytes,
            max_members=settings.archive_max_members,
            max_ratio=settings.archive_max_ratio,
            max_member_bytes=settings.max_document_bytes,
        )

    def cap(self, packed: int, largest: int) -> tuple[int, str]:
        """The most bytes a file of `packed` bytes may unpack to, and the limit that
        sets it (for the refusal's message); `largest` is the caller's own limit."""
        by_ratio = max(RATIO_GRACE, int(self.max_ratio * packed))
        limits = [
            (largest, f"more than {largest} bytes"),
            (by_ratio, f"more than {self.max_ratio:g} times its size of {packed} bytes"),
        ]
        return min(limits)


def _lower(name: str) -> str:
    return name.lower().rsplit("/", 1)[-1]


def archive_kind(name: str) -> str | None:
    """"zip" or "tar" for an archive's name, else None."""
    lowered = _lower(name)
    if lowered.endswith(".zip"):
        return "zip"
    return "tar" if any(lowered.endswith(s) for s in _TAR_SUFFIXES) else None


def compression_of(name: str) -> str | None:
    """The compression suffix (.gz, .bz2, .xz) of a compressed single file (not of a
    compressed tar), else None."""
    if archive_kind(name):
        return None
    lowered = _lower(name)
    return next((s for s in COMPRESSED_SUFFIXES if lowered.endswith(s)), None)


def inner_name(name: str) -> str:
    """The name of what a compressed file holds ("README.md.gz" -> "README.md")."""
    suffix = compression_of(name)
    return name[: -len(suffix)] if suffix else name


def _read_capped(stream: io.BufferedIOBase, cap: int, too_much: str, name: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ArchiveTooLarge(f"{name} unpacks to {too_much}; it was refused")
    return data


def decompress(data: bytes, name: str, limits: Limits) -> bytes:
    """A compressed file's content, unpacked at most to its cap (the document size
    limit, the archive limit, its ratio); more is a refusal, not a truncation."""
    suffix = compression_of(name)
    if suffix is None:
        return data
    cap, too_much = limits.cap(len(data), min(limits.max_member_bytes, limits.max_bytes))
    try:
        with _OPENERS[suffix](io.BytesIO(data)) as stream:
            return _read_capped(stream, cap, too_much, name)
    except CiteqaError:
        raise
    except _UNPACK_ERRORS as exc:
        raise DocumentUnreadable(f"{name} could not be decompressed") from exc


@dataclass
class Member:
    """One file of an archive: its path inside the archive, and either how to read its
    bytes or why it is refused (a link, a device, an archive, over the size limit)."""

    path: str
    read: Callable[[], bytes] | None = None
    refusal: CiteqaError | None = None


def _member_path(raw: str, archive: str) -> str:
    """A member's path, relative and normalised; a hostile one refuses the archive."""
    path = raw.replace("\\", "/")
    parts = path.split("/")
    if path.startswith("/") or _DRIVE.match(path) or ".." in parts:
        raise ArchiveRefused(
            f"{archive} names a member outside itself ({raw[:100]!r}: an absolute path or "
            "'..'); the archive was refused and nothing of it was stored"
        )
    if not all(ch.isprintable() for ch in path):
        raise ArchiveRefused(
            f"{archive} names a member with control characters; the archive was refused"
        )
    return "/".join(p for p in parts if p not in ("", "."))


def _skipped(path: str) -> bool:
    """Hidden entries and macOS resource forks, as a folder's hidden files are."""
    return not path or any(p.startswith(".") or p == "__MACOSX" for p in path.split("/"))


def _refusal_of(path: str, size: int, limits: Limits) -> CiteqaError | None:
    if archive_kind(path):
        return UnsupportedDocumentType(f"{path} is an archive inside an archive; not opened")
    if size > limits.max_member_bytes:
        return DocumentTooLarge(f"{path} is larger than {limits.max_member_bytes} bytes")
    return None


def members(data: bytes, name: str, limits: Limits) -> list[Member]:
    """The files of a zip or tar archive (folders and hidden entries left out), once the
    whole archive has passed its limits."""
    if len(data) > limits.max_bytes:
        raise ArchiveTooLarge(f"{name} is larger than {limits.max_bytes} bytes; it was refused")
    if archive_kind(name) == "zip":
        return _zip_members(data, name, limits)
    return _tar_members(data, name, limits)


def _zip_members(data: bytes, name: str, limits: Limits) -> list[Member]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, *_UNPACK_ERRORS) as exc:
        raise DocumentUnreadable(f"{name} could not be read as a zip archive") from exc
    if len(infos) > limits.max_members:
        raise ArchiveTooLarge(
            f"{name} holds {len(infos)} members, more than {limits.max_members}; it was refused"
        )
    # zipfile never unpacks a member beyond the size its entry declares, so the sizes
    # declared bound what reading can produce
    total = sum(info.file_size for info in infos)
    cap, too_much = limits.cap(len(data), limits.max_bytes)
    if total > cap:
        raise ArchiveTooLarge(f"{name} unpacks to {too_much}; it was refused")
    found: list[Member] = []
    for info in infos:
        path = _member_path(info.filename, name)
        if info.is_dir() or _skipped(path):
            continue
        mode = info.external_attr >> 16
        if mode and (mode & 0o170000) not in (0, 0o100000):  # a link or a device
            found.append(Member(path, refusal=_special(path)))
            continue
        refusal = _refusal_of(path, info.file_size, limits)
        if refusal:
            found.append(Member(path, refusal=refusal))
        else:
            found.append(Member(path, _zip_reader(archive, info, path)))
    return found


def _special(path: str) -> CiteqaError:
    return UnsupportedDocumentType(f"{path} is a link or a special file; not followed")


def _zip_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, *_UNPACK_ERRORS) as exc:
            # damaged, encrypted, or in a compression zipfile does not read
            raise DocumentUnreadable(f"{path} could not be unpacked") from exc

    return read


class _Capped(io.RawIOBase):
    """A stream that refuses to give more than `cap` bytes (a compressed tar's bomb)."""

    def __init__(self, stream: IO[bytes] | io.BufferedIOBase, cap: int, refusal: str) -> None:
        self._stream, self._left, self._refusal = stream, cap, refusal

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        self._left -= len(data)
        if self._left < 0:
            raise ArchiveTooLarge(self._refusal)
        buffer[: len(data)] = data
        return len(data)


def _tar_members(data: bytes, name: str, limits: Limits) -> list[Member]:
    """A tar read in one pass (a compressed tar has no cheap random access): the files
    to ingest are kept in memory, at most archive_max_bytes of them."""
    lowered = _lower(name)
    suffix = next(c for s, c in _TAR_SUFFIXES.items() if lowered.endswith(s))
    cap, too_much = limits.cap(len(data), limits.max_bytes + limits.max_bytes // 8 + (1 << 20))
    raw: IO[bytes] | io.BufferedIOBase = io.BytesIO(data)
    if suffix:
        raw = _OPENERS[suffix](io.BytesIO(data))
    stream = io.BufferedReader(_Capped(raw, cap, f"{name} unpacks to {too_much}; it was refused"))
    found: list[Member] = []
    count = total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for info in archive:
                count += 1
                total += max(info.size, 0)
                if count > limits.max_members:
                    raise ArchiveTooLarge(
                        f"{name} holds more than {limits.max_members} members; it was refused"
                    )
                if total > limits.max_bytes:
                    raise ArchiveTooLarge(
                        f"{name} unpacks to more than {limits.max_bytes} bytes; it was refused"
                    )
                path = _member_path(info.name, name)
                if info.isdir() or _skipped(path):
                    continue
                if not info.isfile():
                    found.append(Member(path, refusal=_special(path)))
                    continue
                refusal = _refusal_of(path, info.size, limits)
                if refusal:
                    found.append(Member(path, refusal=refusal))
                    continue
                extracted = archive.extractfile(info)
                content = extracted.read() if extracted is not None else b""
                found.append(Member(path, read=_bytes_reader(content)))
    except CiteqaError:
        raise
    except (tarfile.TarError, *_UNPACK_ERRORS) as exc:
        raise DocumentUnreadable(f"{name} could not be read as a tar archive") from exc
    return found


def _bytes_reader(content: bytes) -> Callable[[], bytes]:
    return lambda: content
