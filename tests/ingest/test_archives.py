"""Compressed files and archives, made by real tools (Python's gzip, bz2, lzma, zipfile
and tarfile modules, and the zip and tar programs): each supported member becomes a
document named by its path in the archive; bombs, traversing names and too many members
refuse the whole archive before anything of it is stored; links and nested archives are
refused one by one."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import IngestResult, sources_from_paths
from ingest.readers.archive import Limits, members
from tests.conftest import REPO, CountingEmbedder

FERRY = b"# Ferry times\n\nThe night ferry to Gull Island leaves Pier 4 at 23:15.\n"
MUSEUM = b"The harbour museum is closed on Mondays and open late on Thursdays.\n"
GARDEN = (
    b"<html><head><title>Garden rules</title></head>"
    b"<body><p>Plots are watered at dawn.</p></body></html>"
)


def _outcomes(result: IngestResult) -> dict[str, tuple[str, str | None]]:
    return {o.doc_id: (o.status, o.code) for o in result.documents}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("suffix", "compress"), [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)]
)
def test_a_compressed_file_is_read_as_the_format_inside(
    engine: Engine, tmp_path: Path, suffix: str, compress: object
) -> None:
    path = tmp_path / f"ferry.md{suffix}"
    path.write_bytes(compress(FERRY))  # type: ignore[operator]
    result = engine.documents.ingest(sources_from_paths([path]))
    assert _outcomes(result) == {path.name: ("added", None)}
    record = engine.documents.get_document(path.name)
    assert record.kind == "markdown" and record.title == "Ferry times"
    assert "23:15" in (record.text or "") and "# Ferry times" in (record.text or "")
    answer = engine.query.ask("When does the night ferry to Gull Island leave?")
    assert answer.citations and answer.citations[0].doc_id == path.name


def test_a_folder_of_archives_made_by_zip_and_tar_stores_each_supported_member(
    engine: Engine, tmp_path: Path
) -> None:
    for tool in ("zip", "tar", "xz"):
        assert shutil.which(tool), f"{tool} is missing: `make eval-tools` installs it"
    tree = tmp_path / "tree"
    (tree / "guide").mkdir(parents=True)
    (tree / "guide" / "ferry.md").write_bytes(FERRY)
    (tree / "museum.txt").write_bytes(MUSEUM)
    (tree / "garden.html").write_bytes(GARDEN)
    (tree / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tree / ".hidden.txt").write_bytes(b"never read")
    folder = tmp_path / "folder"
    folder.mkdir()
    subprocess.run(["zip", "-qr", str(folder / "docs.zip"), "."], cwd=tree, check=True)
    for command in (
        ["tar", "czf", str(folder / "docs.tar.gz"), "guide", "museum.txt"],
        ["tar", "cJf", str(folder / "docs.tar.xz"), "garden.html"],
    ):
        subprocess.run(command, cwd=tree, check=True)

    result = engine.documents.ingest(sources_from_paths([folder]))
    assert _outcomes(result) == {
        "docs.tar.gz/guide/ferry.md": ("added", None),
        "docs.tar.gz/museum.txt": ("added", None),
        "docs.tar.xz/garden.html": ("added", None),
        "docs.zip/garden.html": ("added", None),
        "docs.zip/guide/ferry.md": ("added", None),
        "docs.zip/logo.png": ("unsupported", "unsupported_type"),
        "docs.zip/museum.txt": ("added", None),
    }
    ferry = engine.documents.get_document("docs.zip/guide/ferry.md")
    assert ferry.source == f"{folder / 'docs.zip'}/guide/ferry.md" and ferry.title == "Ferry times"
    assert engine.documents.get_document("docs.tar.xz/garden.html").title == "Garden rules"
    again = engine.documents.ingest(sources_from_paths([folder]))  # unchanged: nothing embedded
    assert again.count("skipped") == 6 and again.chunks == 0


def _refused_whole(engine: Engine, path: Path, code: str) -> str:
    result = engine.documents.ingest(sources_from_paths([path]))
    assert _outcomes(result) == {path.name: ("failed", code)}
    assert engine.documents.list_documents()[1] == 0 and engine.components.store.chunks.count() == 0
    return result.documents[0].message or ""


def test_a_gzip_bomb_is_refused_while_it_unpacks(engine: Engine, tmp_path: Path) -> None:
    # 128 MiB of zeros in about 130 KB: refused once it has unpacked 100 times its size
    # (about 13 MB, under the 20 MB document limit), never all of it
    bomb = tmp_path / "zeros.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        block = bytes(1 << 20)
        for _ in range(128):
            out.write(block)
    assert bomb.stat().st_size < 150_000
    started = time.perf_counter()
    message = _refused_whole(engine, bomb, "archive_too_large")
    assert "times its size" in message, message
    assert time.perf_counter() - started < 10


def test_a_zip_bomb_is_refused_before_any_member_is_read(engine: Engine, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(10):
            with archive.open(f"part{i}.txt", "w") as member:
                for _ in range(15):
                    member.write(bytes(1 << 20))
    assert bomb.stat().st_size < 500_000  # 150 MiB of zeros
    _refused_whole(engine, bomb, "archive_too_large")


def test_a_tar_bomb_is_refused_by_its_total_size(settings: Settings, tmp_path: Path) -> None:
    bomb = _tar(tmp_path / "big.tar.gz", {f"n{i}.txt": b"a" * 400_000 for i in range(8)})
    limits = Limits(max_bytes=3_000_000, max_ratio=1e9)
    with pytest.raises(Exception, match="more than 3000000 bytes") as refused:
        members(bomb.read_bytes(), bomb.name, limits)
    assert getattr(refused.value, "code", None) == "archive_too_large"


@pytest.mark.parametrize(
    "hostile", ["../escape.txt", "/etc/cron.d/evil.txt", "notes/../../escape.txt", "C:/evil.txt"]
)
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_traversing_member_name_refuses_the_whole_archive(
    engine: Engine, tmp_path: Path, hostile: str, kind: str
) -> None:
    files = {"ok.txt": MUSEUM, hostile: b"should never be stored"}
    if kind == "zip":
        path = _zip(tmp_path / "hostile.zip", files)
    else:
        path = _tar(tmp_path / "hostile.tar", files, "w")
    message = _refused_whole(engine, path, "archive_refused")
    assert "outside itself" in message


def test_too_many_members_refuse_the_archive(
    settings: Settings, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    engine = Engine(settings.replace(archive_max_members=5), embedder=embedder)
    path = _zip(tmp_path / "many.zip", {f"n{i}.txt": b"note %d" % i for i in range(6)})
    message = _refused_whole(engine, path, "archive_too_large")
    assert "more than 5" in message and embedder.calls == 0


def test_links_and_nested_archives_are_refused_alone(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {"museum.txt": MUSEUM, "inner.zip": b"PK\x05\x06" + bytes(18)}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("passwd.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    result = engine.documents.ingest(sources_from_paths([path]))
    assert _outcomes(result) == {
        "mixed.tar.gz/museum.txt": ("added", None),
        "mixed.tar.gz/inner.zip": ("unsupported", "unsupported_type"),
        "mixed.tar.gz/passwd.txt": ("unsupported", "unsupported_type"),
    }
    assert engine.documents.list_documents()[1] == 1


def test_a_damaged_archive_fails_alone(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = _zip(folder / "good.zip", {"museum.txt": MUSEUM})
    (folder / "cut.zip").write_bytes(good.read_bytes()[:40])
    (folder / "cut.tar.gz").write_bytes(gzip.compress(b"not a tar at all" * 100))
    result = engine.documents.ingest(sources_from_paths([folder]))
    assert _outcomes(result) == {
        "cut.tar.gz": ("failed", "document_unreadable"),
        "cut.zip": ("failed", "document_unreadable"),
        "good.zip/museum.txt": ("added", None),
    }


def test_the_cli_says_why_an_archive_was_refused(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _zip(folder / "hostile.zip", {"../escape.txt": b"x"})
    (folder / "museum.txt.gz").write_bytes(gzip.compress(MUSEUM))
    done = subprocess.run(
        [sys.executable, "-m", "cli", "ingest", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "failed  hostile.zip:" in done.stdout and "[archive_refused]" in done.stdout
    assert "added 1, updated 0, skipped 0, failed 1" in done.stdout
