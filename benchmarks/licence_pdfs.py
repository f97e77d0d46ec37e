"""How long `citeqa ingest` takes over the licence texts typeset as PDFs.

    python -m benchmarks.licence_pdfs [--maker enscript|libreoffice] [--out FILE]

Every regular file in /usr/share/common-licenses (14 on Debian 12: Apache-2.0 to
MPL-2.0, the links GPL, LGPL and GFDL left out) is typeset as a PDF, by GNU enscript and
Ghostscript (`enscript --no-header --word-wrap | ps2pdf`, the default) or by LibreOffice,
and the folder is ingested by `python -m cli ingest --json` in a subprocess, into a fresh
data dir, with the real embedding model. The figure is that command's wall-clock time,
model loading included; its JSON report must say every document was added. The MPL 2.0
PDF's boxed disclaimer (lines of 72 asterisks, the line that once hung ingest for minutes
in the rule-line pattern) must be in its stored text.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.pdf_text import LICENSES, enscript_pdf, libreoffice_pdf

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 120


def licence_texts() -> list[Path]:
    """The licence texts as files (links to another version left out)."""
    return sorted(p for p in LICENSES.iterdir() if p.is_file() and not p.is_symlink())


def make_pdfs(folder: Path, maker: str = "enscript") -> list[Path]:
    typeset = enscript_pdf if maker == "enscript" else libreoffice_pdf
    folder.mkdir(parents=True, exist_ok=True)
    return [typeset(text, folder / f"{text.name}.pdf") for text in licence_texts()]


def ingest(folder: Path, data_dir: Path) -> tuple[float, dict[str, object]]:
    """`python -m cli ingest --json FOLDER` into `data_dir`: its seconds and report."""
    env = {**os.environ, "CITEQA_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "ingest", "--json", str(folder)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"citeqa ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.licence_pdfs", description=__doc__)
    parser.add_argument("--maker", choices=("enscript", "libreoffice"), default="enscript")
    parser.add_argument("--out", type=Path, help="default: benchmarks/licence_pdfs_MAKER.json")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).with_name(f"licence_pdfs_{args.maker}.json")
    from ingest.readers.registry import load_bytes

    with tempfile.TemporaryDirectory(prefix="citeqa-licences-") as tmp:
        pdfs = make_pdfs(Path(tmp) / "pdfs", args.maker)
        mpl = next(p for p in pdfs if p.name == "MPL-2.0.pdf")
        stored = load_bytes(mpl.read_bytes(), mpl.name).text
        rules = stored.count("*" * 72)
        seconds, report = ingest(Path(tmp) / "pdfs", Path(tmp) / "data")
    added = report["added"]
    result = {
        "command": f"python -m benchmarks.licence_pdfs --maker {args.maker}",
        "maker": args.maker,
        "pdfs": len(pdfs),
        "ingest_seconds": round(seconds, 1),
        "report_seconds": report["seconds"],
        "added": added,
        "failed": report["failed"],
        "chunks": report["chunks"],
        "mpl_disclaimer_rules": rules,
        "target_seconds": TARGET_SECONDS,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=1))
    out.write_text(json.dumps(result, indent=1) + "\n")
    ok = added == len(pdfs) and rules > 0 and seconds < TARGET_SECONDS
    print(f"{'within' if ok else 'NOT within'} the target: {seconds:.1f} s < {TARGET_SECONDS} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
