"""Offline follow-ups with a cross-encoder, by default (the verifier and its joint gate)
and with the reader on: both readings of a question asked in a conversation (alone, and
with the conversation's subject) are retrieved and scored, and the better-supported one
is kept; no pronoun list decides."""

from __future__ import annotations

import pytest

from citeqa.components.embedder import Embedder
from citeqa.contract import Turn
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import EXAMPLES

# these judge answers, which need the real embedding model (not in make test-fast)
pytestmark = pytest.mark.model


@pytest.fixture(params=["verify", "on"])
def follow_up_engine(
    request: pytest.FixtureRequest, settings: Settings, embedder: Embedder
) -> Engine:
    """The default engine (CITEQA_READER=verify), and one with the reader on."""
    return Engine(settings.replace(reader=request.param), embedder=embedder)


def _conversation(question: str, answer: str) -> list[Turn]:
    return [Turn(role="user", content=question), Turn(role="assistant", content=answer)]


def test_a_question_that_stands_alone_is_searched_alone_whatever_its_pronouns(
    follow_up_engine: Engine,
) -> None:
    engine = follow_up_engine
    engine.documents.ingest(sources_from_paths([EXAMPLES]))
    history = _conversation(
        "How many items can a member borrow at a time?", "Up to twelve items. [1]"
    )
    # "it" would have marked this as a follow-up and carried "items member borrow" along
    answer = engine.query.ask("Is it allowed to grow mint outside a container?", history=history)
    assert answer.standalone_question is None
    assert not answer.abstained
    assert any(c.doc_id == "riverside-community-garden.html" for c in answer.citations)


def test_a_question_that_leans_on_the_conversation_carries_its_subject(
    follow_up_engine: Engine,
) -> None:
    engine = follow_up_engine
    engine.documents.ingest(sources_from_paths([EXAMPLES]))
    history = _conversation("When is the library closed?", "On Sundays and public holidays. [1]")
    answer = engine.query.ask("And the reading room?", history=history)
    assert answer.standalone_question is not None
    assert answer.standalone_question.startswith("And the reading room?")
    assert "library" in answer.standalone_question.lower()
    assert not answer.abstained
    assert any("reading room" in c.quote for c in answer.citations)
