"""What the engine answers on a gold set, question by question, as a fingerprint: whether
it abstained, which spans it cited, and a hash of its answer text (no document text, so
a fingerprint of a set over ../shared copies none of it).

    python -m tests.answers write SET.jsonl DOCS OUT.json   # before a change
    python -m tests.answers check SET.jsonl DOCS OUT.json   # after: exit 1 on a difference

`write` also records the digest of DOCS in corpora.json beside OUT.json: a set whose
documents are built from the machine's files (evals/corpora.py) is compared only where
they build to the same bytes.

A refactor must leave every fingerprint as it was on the machine that wrote them (`check`
is exact); tests/evals/test_same_answers.py checks every gold set on any machine (the
real-formatted ones where their documents build to the same bytes), up to what floating
point can move (`drifts`); a change meant to alter answers writes them anew in the same
commit, where the diff shows which questions moved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from citeqa.settings import Settings
from evals.corpora import folder_files
from evals.run import fresh_engine
from evals.sets import load_set


def fingerprints(questions: Path, docs: Path) -> dict[str, Any]:
    records = load_set(questions)
    found: dict[str, Any] = {}
    with fresh_engine(Settings(), docs) as engine:
        for record in records:
            answer = engine.query.ask(record.question)
            found[record.id] = {
                "abstained": answer.abstained,
                "citations": [[c.doc_id, c.start, c.end] for c in answer.citations],
                "answer": hashlib.sha256(answer.answer.encode()).hexdigest()[:16],
            }
    return found


def recorded_digests(snapshot: Path) -> dict[str, str]:
    """The corpus digests recorded beside a fingerprint file (corpora.json), by set."""
    path = snapshot.parent / "corpora.json"
    return json.loads(path.read_text()) if path.is_file() else {}  # type: ignore[no-any-return]


def corpus_digest(docs: Path) -> str:
    """A digest of a folder of documents: every file's name and bytes."""
    digest = hashlib.sha256()
    for name, content in folder_files(docs):
        digest.update(name + b"\0" + content)
    return digest.hexdigest()


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return [
        f"{key}: expected {expected.get(key)}, got {got.get(key)}"
        for key in sorted(set(expected) | set(got))
        if expected.get(key) != got.get(key)
    ]


def drifts(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The differences another machine's floating point cannot explain: a question
    missing or added, an abstention flipped, or an answer that keeps under half of the
    spans it cited. (Scores that tie to the last bits can swap one unit of an answer for
    its neighbour on another CPU: CI's machine answered four of 46 seed questions with
    one span more or one other, each keeping most of its recorded spans.)"""
    moved = []
    for key in sorted(set(expected) | set(got)):
        was, now = expected.get(key), got.get(key)
        if was is None or now is None or was["abstained"] != now["abstained"]:
            moved.append(f"{key}: expected {was}, got {now}")
            continue
        cited = {tuple(span) for span in was["citations"]}
        kept = cited & {tuple(span) for span in now["citations"]}
        if cited and 2 * len(kept) < len(cited):
            moved.append(
                f"{key}: kept {len(kept)} of {len(cited)} spans: expected {was}, got {now}"
            )
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("questions", type=Path)
    parser.add_argument("docs", type=Path)
    parser.add_argument("snapshot", type=Path)
    args = parser.parse_args()
    got = fingerprints(args.questions, args.docs)
    if args.action == "write":
        args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        args.snapshot.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        known = recorded_digests(args.snapshot)
        known[args.snapshot.stem] = corpus_digest(args.docs)
        (args.snapshot.parent / "corpora.json").write_text(
            json.dumps(known, indent=1, sort_keys=True) + "\n"
        )
        print(f"{len(got)} answers written to {args.snapshot}")
        return 0
    recorded = recorded_digests(args.snapshot).get(args.snapshot.stem)
    if recorded not in (None, corpus_digest(args.docs)):
        print(f"note: {args.docs} is not the corpus these fingerprints were written over")
    moved = differences(json.loads(args.snapshot.read_text()), got)
    for line in moved:
        print(line)
    print(f"{len(got)} answers, {len(moved)} different")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
