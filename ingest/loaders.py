"""Turn files (txt, md, html, pdf, and the office formats) into plain text, never
crashing on odd input: the write path's one entry to the readers (ingest.readers)."""

from __future__ import annotations

from ingest.readers.base import (
    LoadedDocument,
    clean_text,
    decode,
    refuse_binary,
    refuse_garbled,
)
from ingest.readers.html import load_html
from ingest.readers.registry import (
    READERS,
    SUPPORTED_SUFFIXES,
    TEXTUAL_SUFFIXES,
    is_supported,
    is_textual,
    load_bytes,
    load_path,
)

__all__ = [
    "READERS",
    "SUPPORTED_SUFFIXES",
    "TEXTUAL_SUFFIXES",
    "LoadedDocument",
    "clean_text",
    "decode",
    "is_supported",
    "is_textual",
    "load_bytes",
    "load_html",
    "load_path",
    "refuse_binary",
    "refuse_garbled",
]
