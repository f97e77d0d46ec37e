"""Training questions made from the gold ones: near-misses (evals/nearmiss.py), trained
with their source's group and never reported, and answer-removed twins."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evals.training.dumps import QuestionDump
from evals.training.registry import REPO, GoldSet

NEAR_MISSES = REPO / "build" / "nearmiss"


def source_of(question_id: str) -> str:
    """The gold question a near-miss was made from (itself for a gold question)."""
    return question_id.split("-swap-", 1)[0]


def near_miss_sets(
    golds: list[GoldSet], built: Path, per_question: int = 2, skip: tuple[str, ...] = ()
) -> list[GoldSet]:
    """A near-miss set for every training set with answerable questions, over the same
    documents (a corpus built from evals/corpora is built once, into built/): up to
    per_question near-misses a question. Sets of the groups in `skip` have none."""
    from evals.nearmiss import near_misses, write
    from evals.sets import load_set

    found = []
    for gold in golds:
        if gold.group in skip:
            continue
        made = near_misses(load_set(gold.questions), per_question)
        if not made:
            continue
        docs = gold.documents(built)
        path = write(made, NEAR_MISSES / f"{gold.name}-{per_question}.jsonl")
        found.append(GoldSet(f"{gold.name}-nearmiss{per_question}", gold.group, path, docs))
    return found


def keep_near_miss(question: QuestionDump, gold_docs: list[str]) -> bool:
    """A near-miss is kept unless a unit of another document than its source's holds the
    source's answer."""
    from evals.sets import same_doc

    for i, holds in enumerate(question.contains):
        doc = question.passage_docs[int(question.passage[i])]
        if holds and not any(same_doc(g, doc) for g in gold_docs):
            return False
    return True


def answer_removed(question: QuestionDump) -> QuestionDump | None:
    """The answerable question's twin over documents that lack its answer: its pool
    without the passages that hold or overlap the gold answer, labelled unanswerable (None
    when nothing is left). The same question, its topic still in the documents and its
    answer gone: what a near-miss on a covered topic meets, with the question's own
    wording held fixed, so that how a question is phrased cannot stand in for whether it
    is answered. The features that rank a unit against the rest of the pool are ranked
    again among the units that remain."""
    from citeqa.answering.features import FEATURES

    if not question.answerable:
        return None
    answering = {int(question.passage[i]) for i in np.flatnonzero(question.labels)}
    answering |= {int(question.passage[i]) for i in np.flatnonzero(question.contains)}
    answering |= {i for i, hit in enumerate(question.passage_evidence) if hit}
    kept_passages = [i for i in range(len(question.passage_docs)) if i not in answering]
    keep = np.array([int(p) not in answering for p in question.passage], dtype=bool)
    if not keep.any() or not answering:
        return None
    new_index = {old: new for new, old in enumerate(kept_passages)}
    rows_kept = np.flatnonzero(keep)
    position = {int(old): new for new, old in enumerate(rows_kept)}
    table = question.rows[keep].copy()
    column = {name: i for i, name in enumerate(FEATURES)}
    cos = table[:, column["cos"]]
    table[:, column["cos_gap"]] = cos.max() - cos
    order = np.argsort(-cos, kind="stable")
    rank = np.empty(len(order))
    rank[order] = np.arange(len(order))
    table[:, column["cos_rank"]] = np.log1p(rank)
    # a passage's rank among those kept: one place up for each removed one ahead of it
    first_rows = [
        int(np.flatnonzero(question.passage == p)[0])
        for p in sorted(answering)
        if (question.passage == p).any()
    ]
    for name in ("fused_rank", "dense_rank", "lexical_rank"):
        values = np.expm1(question.rows[:, column[name]])
        removed = np.sort(values[first_rows])
        ahead = np.searchsorted(removed, values[keep], side="left")
        table[:, column[name]] = np.log1p(np.maximum(values[keep] - ahead, 1.0))
    best_bm25 = float(table[:, column["bm25_relative"]].max())
    if best_bm25 > 0:
        table[:, column["bm25_relative"]] /= best_bm25
    if table.shape[1] > len(FEATURES):  # the reader's gap to the best logit kept
        reader = table[:, len(FEATURES)]
        table[:, len(FEATURES) + 1] = reader.max() - reader
    return QuestionDump(
        id=f"{question.id}-absent",
        answerable=False,
        answers=question.answers,
        rows=table,
        labels=np.zeros(len(rows_kept), dtype=bool),
        contains=np.zeros(len(rows_kept), dtype=bool),
        overlaps=np.zeros(len(rows_kept), dtype=bool),
        displays=[question.displays[i] for i in rows_kept],
        starts=question.starts[keep],
        ends=question.ends[keep],
        previous=np.array(
            [
                position.get(int(question.previous[i]), -1) if question.previous[i] >= 0 else -1
                for i in rows_kept
            ]
        ),
        passage=np.array([new_index[int(question.passage[i])] for i in rows_kept], dtype=np.int32),
        passage_docs=[question.passage_docs[i] for i in kept_passages],
        passage_fused=[
            1 + sum(question.passage_fused[k] < question.passage_fused[i] for k in kept_passages)
            for i in kept_passages
        ],
        passage_evidence=[False for _ in kept_passages],
        evidence_known=False,
    )
