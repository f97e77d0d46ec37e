"""Feature dumps: every gold question's candidate units, with their feature rows and
labels, computed once and cached.

For a gold set, a dump ingests the set's documents into a fresh store, retrieves each
question's candidate passages (the fused pool, before any reranking) and keeps one
feature row per unit with its label: the unit overlaps the gold evidence, or holds a
gold answer inside a gold document. Unanswerable questions have no positive unit.

Dumps are cached in build/answerer/, keyed by the set's questions and documents, the
feature list and the source of every project module a dump runs: this module and all
it imports, directly or not, read from the import graph (imports inside functions
count), so that no module can be left off the key by hand.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evals.training.registry import REPO, GoldSet

CACHE = REPO / "build" / "answerer"
TOP_K = 6
# the project's packages: any of their modules a dump imports is part of its key
PACKAGES = ("citeqa", "ingest", "api", "evals", "prompts", "cli")


@dataclass
class QuestionDump:
    id: str
    answerable: bool
    answers: list[str]
    rows: np.ndarray  # features of every unit of the pool
    labels: np.ndarray  # bool per row
    contains: np.ndarray  # bool per row: the unit holds a gold answer
    overlaps: np.ndarray  # bool per row: the unit overlaps gold evidence
    displays: list[str]
    starts: np.ndarray
    ends: np.ndarray
    previous: np.ndarray  # index of the unit before it in its passage, or -1
    passage: np.ndarray  # per row: index into the passage lists below
    passage_docs: list[str]
    passage_fused: list[int]
    passage_evidence: list[bool]  # the passage overlaps gold evidence
    evidence_known: bool
    # per passage: its document context and heading path, as the reader reads it
    passage_contexts: list[str] = field(default_factory=list)


@dataclass
class SetDump:
    name: str
    group: str
    questions: list[QuestionDump] = field(default_factory=list)


def imported_modules(roots: Iterable[str], packages: Iterable[str]) -> list[str]:
    """The roots and every module of `packages` they import, directly or not, imports
    inside functions included, sorted."""
    import grimp

    # no cache: the graph must be today's sources, whatever their timestamps
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    names = set(roots)
    for root in roots:
        names |= set(graph.find_upstream_modules(root))
    return sorted(names)


def source_key(roots: Iterable[str], packages: Iterable[str] = PACKAGES) -> str:
    """A digest of the source of the roots and of every module they import."""
    roots = tuple(roots)
    digest = hashlib.sha256()
    for name in imported_modules(roots, packages):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            digest.update(name.encode())
            digest.update(hashlib.sha256(Path(spec.origin).read_bytes()).digest())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)  # one import graph and one read of the sources a run
def dump_code_key() -> str:
    """The source a dump runs: this module and every module it imports."""
    return source_key([__name__])


def fingerprint(gold: GoldSet, docs: Path, reader: bool) -> str:
    from citeqa.answering.features import unit_features
    from evals.corpora import folder_files

    digest = hashlib.sha256()
    digest.update(json.dumps(unit_features(reader)).encode())
    digest.update(gold.questions.read_bytes())
    for name, content in folder_files(docs):
        digest.update(name)
        digest.update(content)
    digest.update(dump_code_key().encode())
    return digest.hexdigest()[:16]


def dump_set(gold: GoldSet, cache: Path = CACHE, reader: bool = False) -> SetDump:
    """The set's dump, from the cache when its key matches (an older one is removed)."""
    with tempfile.TemporaryDirectory(prefix="citeqa-train-") as tmp:
        docs = gold.documents(Path(tmp))
        key = fingerprint(gold, docs, reader)
        stem = f"{gold.name}{'-reader' if reader else ''}"
        cached = cache / f"{stem}-{key}.pkl"
        if cached.is_file():
            with cached.open("rb") as handle:
                return pickle.load(handle)  # type: ignore[no-any-return]
        dump = _dump(gold, docs, reader)
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{stem}-[0-9a-f]*.pkl"):
        old.unlink()
    with cached.open("wb") as handle:
        pickle.dump(dump, handle)
    return dump


def _dump(gold: GoldSet, docs: Path, reader: bool) -> SetDump:
    from citeqa.answering.model import placeholder
    from citeqa.lexical import context_line
    from citeqa.settings import Settings
    from evals.metrics import contains_answer
    from evals.run import EvidenceLocator, _overlaps, fresh_engine
    from evals.sets import load_set

    records = load_set(gold.questions)
    result = SetDump(gold.name, gold.group)
    settings = Settings(reader="on" if reader else "off")
    with fresh_engine(settings, docs, placeholder(reader)) as engine:
        locator = EvidenceLocator(engine)
        retriever = engine.query.retriever
        for record in records:
            found = retriever.retrieve(record.question, TOP_K)
            pool = found.passages
            _asked, candidates, table = engine.query.scorer.units(
                record.question, found.query_vector, pool, found.lexical, retriever.depth(TOP_K)
            )
            spans = locator.spans(record) if record.answerable else []
            targets = {d for d in (locator.resolve(g) for g in record.target_docs()) if d}
            index = {id(p): i for i, p in enumerate(pool)}
            position = {id(c): i for i, c in enumerate(candidates)}
            contains = np.array(
                [
                    bool(record.answers) and contains_answer(c.display, record.answers)
                    for c in candidates
                ],
                dtype=bool,
            )
            overlaps = np.array(
                [
                    bool(spans) and _overlaps(c.passage.chunk.doc_id, c.start, c.end, spans)
                    for c in candidates
                ],
                dtype=bool,
            )
            in_target = np.array(
                [c.passage.chunk.doc_id in targets for c in candidates], dtype=bool
            )
            known = any(start is not None for _doc, start, _end in spans)
            labels = (overlaps if known else np.zeros_like(overlaps)) | (contains & in_target)
            if not record.answerable:
                labels = np.zeros_like(labels)
            result.questions.append(
                QuestionDump(
                    id=record.id,
                    answerable=record.answerable,
                    answers=list(record.answers),
                    rows=table,
                    labels=labels,
                    contains=contains,
                    overlaps=overlaps if known else (contains & in_target),
                    displays=[c.display for c in candidates],
                    starts=np.array([c.start for c in candidates]),
                    ends=np.array([c.end for c in candidates]),
                    previous=np.array(
                        [
                            position[id(c.previous)] if c.previous is not None else -1
                            for c in candidates
                        ]
                    ),
                    passage=np.array([index[id(c.passage)] for c in candidates], dtype=np.int32),
                    passage_docs=[p.chunk.doc_id for p in pool],
                    passage_fused=[p.fused_rank for p in pool],
                    passage_evidence=[
                        bool(spans) and _overlaps(p.chunk.doc_id, p.chunk.start, p.chunk.end, spans)
                        for p in pool
                    ],
                    evidence_known=bool(spans),
                    passage_contexts=[context_line(p.chunk) for p in pool],
                )
            )
    return result
