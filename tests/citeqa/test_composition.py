"""What an extractive answer cites, over real corpora (the examples and the seed article,
with their gold questions): every unit once, no heading alone, no introduction ("... you
can run:") without what it introduces, and no padding: each unit is one the answer model
rates within the relative cutoff of the best, what an introduction carries, the unit
before a lead too short to stand alone, or (by default, with the verifier) the unit after
the lead when the verifier reads it as answering as well as the lead: never
unconditionally. With the verifier, the units it reads further than the margin
(CITEQA_ANSWER__VERIFIER_MARGIN) under the best of them are dropped: the margin only
trims. Both the default (CITEQA_READER=verify) and the reader's path (on) are checked."""

from __future__ import annotations

import pytest

from citeqa.answering.extractive import SHORT_UNIT_WORDS, carried, citable, dangling
from citeqa.components.embedder import Embedder
from citeqa.domain import Candidate
from citeqa.segment import HEADING
from citeqa.settings import Settings
from evals.sets import load_set
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import EXAMPLES, REPO, SEED_DIR, require_shared

# these judge answers, which need the real embedding model (not in make test-fast)
pytestmark = pytest.mark.model

SETS = REPO / "evals" / "sets"


def _key(unit: Candidate) -> tuple[str, int, int]:
    return unit.passage.chunk.doc_id, unit.start, unit.end


def _check(engine: Engine, set_name: str) -> int:
    cutoff = engine.settings.answer.relative_cutoff
    verification = engine.query.answerer.verification
    cited = 0
    for record in load_set(SETS / f"{set_name}.jsonl"):
        answer, retrieval = engine.query.ask_with_candidates(record.question)
        if answer.abstained:
            continue
        keys = [(c.doc_id, c.start, c.end) for c in answer.citations]
        assert len(keys) == len(set(keys)), (record.id, keys)  # each unit once
        units = {_key(c): c for c in retrieval.candidates}
        chosen = [units[k] for k in keys]
        lead = next(c for c in retrieval.candidates if citable(c))
        allowed = {_key(u) for c in chosen if dangling(c) for u in carried(c)}
        if len(lead.display.split()) <= SHORT_UNIT_WORDS and lead.previous is not None:
            allowed.add(_key(lead.previous))
        following = lead.following
        if (
            following is not None
            and _key(following) in keys
            and _key(following) not in allowed
            and following.probability < cutoff * lead.probability - 1e-6
        ):  # the unit after the lead, under the cutoff: only as the verifier reads it
            assert verification is not None, (record.id, following.text)
            assert verification.follows(record.question, lead, following), (
                record.id,
                following.text,
            )
            allowed.add(_key(following))
        for unit in chosen:
            assert unit.kind != HEADING, (record.id, unit.text)  # no heading alone
            if dangling(unit):  # an introduction comes with what it introduces
                assert unit.following is not None and _key(unit.following) in keys
            if _key(unit) not in allowed:  # no padding
                assert unit.probability >= cutoff * lead.probability - 1e-6, (
                    record.id,
                    unit.text,
                )
        cited += len(chosen)
    return cited


@pytest.fixture(params=["verify", "on"])
def composing_engine(
    request: pytest.FixtureRequest, settings: Settings, embedder: Embedder
) -> Engine:
    """The default engine (the verifier reads) and the reader's."""
    return Engine(settings.replace(reader=request.param), embedder=embedder)


def test_examples_answers_cite_each_unit_once_without_padding(composing_engine: Engine) -> None:
    engine = composing_engine
    engine.documents.ingest(sources_from_paths([EXAMPLES]))
    assert _check(engine, "examples") > 0


@pytest.mark.parametrize("name", ["seed", "seed-paraphrase"])
def test_seed_answers_cite_each_unit_once_without_padding(
    composing_engine: Engine, name: str
) -> None:
    require_shared()
    engine = composing_engine
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    assert _check(engine, name) > 0


@pytest.mark.parametrize("name", ["examples", "seed"])
def test_the_verifier_margin_only_trims_what_is_cited(
    settings: Settings, embedder: Embedder, name: str
) -> None:
    """At the default margin an answer cites some of what it cites with every unit kept
    (margin 100), at margin 0 one unit of those (none here is an introduction or too short
    to stand alone); no abstention changes."""
    docs = EXAMPLES if name == "examples" else SEED_DIR
    if name != "examples":
        require_shared()
    engines = {
        margin: Engine(settings.replace(answer={"verifier_margin": margin}), embedder=embedder)
        for margin in (100.0, settings.answer.verifier_margin, 0.0)
    }
    engines[100.0].documents.ingest(sources_from_paths([docs]))  # one store for all three
    everything = trimmed = alone = 0
    for record in load_set(SETS / f"{name}.jsonl"):
        answers = {m: e.query.ask(record.question) for m, e in engines.items()}
        assert len({a.abstained for a in answers.values()}) == 1, record.id
        if answers[100.0].abstained:
            continue
        cited = {m: {(c.doc_id, c.start, c.end) for c in a.citations} for m, a in answers.items()}
        assert cited[settings.answer.verifier_margin] <= cited[100.0], record.id
        assert len(cited[0.0]) == 1 and cited[0.0] <= cited[100.0], (record.id, cited[0.0])
        everything += len(cited[100.0])
        trimmed += len(cited[settings.answer.verifier_margin])
        alone += 1
    assert 0 < alone <= trimmed <= everything and alone < everything  # something to trim


def test_an_introduction_is_cited_with_the_steps_it_introduces(reading_engine: Engine) -> None:
    from ingest.pipeline import Source

    text = (
        "# Router manual\n\n"
        "The router keeps its settings when the power fails.\n\n"
        "To reset the router to its factory settings, do the following:\n\n"
        "1. Hold the reset button on the back for ten seconds.\n"
        "2. Wait until the status light blinks green.\n\n"
        "The router then restarts with its default password.\n"
    )
    engine = reading_engine
    engine.documents.ingest(
        [Source(doc_id="router.md", source="test", name="router.md", text=text)]
    )
    answer = engine.query.ask("How do I reset the router to its factory settings?")
    assert not answer.abstained
    quotes = [c.quote for c in answer.citations]
    for i, quote in enumerate(quotes):
        if quote.rstrip().endswith(":"):
            assert i + 1 < len(quotes) and "Hold the reset button" in quotes[i + 1], quotes
    assert any("Hold the reset button" in q for q in quotes), quotes
