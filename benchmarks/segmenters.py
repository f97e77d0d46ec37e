"""Which sentence model citeqa's segmenter uses: accuracy and speed of the candidates.

    python -m benchmarks.segmenters [--cases tests/data/segmentation/test.jsonl] [--mb 4]

Each candidate is plugged into `citeqa.segment` as its sentence model (block structure,
abbreviation repairs and length caps stay the same), and the whole segmenter is scored
on hand-written cases: unit precision, recall and F1 against the gold units (whitespace
collapsed). Speed is measured on real hard-wrapped text from /usr/share (licences and
documentation, repeated to --mb megabytes). Candidates not installed are skipped:
`pip install pysbd syntok blingfire` to compare them all. The old splitter (a regex that
also ended a sentence at every line break) is the baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import citeqa  # noqa: F401  (offline paths)
from citeqa import segment

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "segmentation"
Spans = Callable[[str], Iterable[tuple[int, int]]]


def _pysbd() -> Spans:
    import pysbd

    model = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [(s.start, s.end) for s in model.segment(text)]


def _syntok() -> Spans:
    from syntok import segmenter

    def spans(text: str) -> list[tuple[int, int]]:
        found = []
        for paragraph in segmenter.analyze(text):
            for sentence in paragraph:
                first, last = sentence[0], sentence[-1]
                found.append((first.offset, last.offset + len(last.value)))
        return found

    return spans


def _blingfire() -> Spans:
    import blingfire

    return lambda text: blingfire.text_to_sentences_and_offsets(text)[1] if text.strip() else []


_OLD_END = re.compile(r"[.!?]+[\"”’')\]]*(?=\s)|\n+")


def _old_regex() -> Spans:
    """The splitter before part 5 (citeqa/text.py), line breaks included."""

    def spans(text: str) -> list[tuple[int, int]]:
        found, start = [], 0
        for match in _OLD_END.finditer(text):
            found.append((start, match.end()))
            start = match.end()
        return [*found, (start, len(text))]

    return spans


CANDIDATES: dict[str, Callable[[], Spans]] = {
    "punkt (nltk, llama-index-core's model)": lambda: segment.punkt_spans,
    "pysbd": _pysbd,
    "syntok": _syntok,
    "blingfire": _blingfire,
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def score(cases: list[dict], old: bool = False) -> dict[str, float]:
    """Unit precision/recall/F1 over all cases (fence lines are not units here)."""
    right = predicted = gold_total = 0
    for case in cases:
        kind = "markdown" if case["kind"] == "markdown" else "text"
        text = case["text"]
        if old:
            units = [_flat(text[a:b]) for a, b in _old_regex()(text) if text[a:b].strip()]
        else:
            units = [_flat(text[u.start : u.end]) for u in segment.segment(text, kind).units]
        gold = [_flat(u) for u in case["units"] if not u.startswith(("```", "~~~"))]
        hits = Counter(units) & Counter(gold)
        right += sum(hits.values())
        predicted += len(units)
        gold_total += len(gold)
    precision, recall = right / max(predicted, 1), right / max(gold_total, 1)
    f1 = 2 * precision * recall / (precision + recall) if right else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def speed_corpus(megabytes: float) -> str:
    sources = sorted(Path("/usr/share/common-licenses").glob("*-*")) + sorted(
        Path("/usr/share/doc/man-db").glob("FAQ")
    )
    text = "\n\n".join(p.read_text(errors="replace") for p in sources if p.is_file())
    if not text:
        text = "A plain sentence of prose, wrapped at\nseventy characters. " * 2000
    repeat = max(1, int(megabytes * 1_000_000 / len(text)))
    return "\n\n".join([text] * repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=Path, default=CASES / "test.jsonl")
    parser.add_argument("--mb", type=float, default=2.0)
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    corpus = speed_corpus(args.mb)
    units = sum(len(c["units"]) for c in cases)
    size = len(corpus) / 1e6
    print(f"{len(cases)} cases, {units} gold units ({args.cases.name}); speed on {size:.1f} MB")
    print(f"{'sentence model':40} {'precision':>9} {'recall':>7} {'F1':>6} {'s/MB':>6}")
    old = score(cases, old=True)
    name = "old regex splitter (before part 5)"
    print(f"{name:40} {old['precision']:9.3f} {old['recall']:7.3f} {old['f1']:6.3f}")
    chosen = segment.sentence_splitter
    try:
        for name, make in CANDIDATES.items():
            try:
                segment.sentence_splitter = make()
            except ImportError:
                print(f"{name:40} (not installed)")
                continue
            result = score(cases)
            started = time.perf_counter()
            segment.segment(corpus, "text")
            per_mb = (time.perf_counter() - started) / (len(corpus) / 1e6)
            print(
                f"{name:40} {result['precision']:9.3f} {result['recall']:7.3f} "
                f"{result['f1']:6.3f} {per_mb:6.2f}"
            )
    finally:
        segment.sentence_splitter = chosen


if __name__ == "__main__":
    main()
