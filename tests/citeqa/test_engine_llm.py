"""Generated answers end to end: retrieval → prompt → the OpenAI-protocol test server →
verification against the stored text. Whatever the model says, every citation returned
satisfies document_text[start:end] == quote."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from citeqa.components.embedder import Embedder
from citeqa.contract import ABSTAIN_TEXT, Turn
from citeqa.errors import LLMUnavailable
from citeqa.events import CitationsReady, Delta, Done, Pending
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import SEED_DIR, LLMServer, assert_citations_verify, require_shared
from tests.fixtures.openai_server import SECRET, Step

CAVOLI = "The officials said that it was General Cavoli who conveyed the decision to Ukraine."


def llm_engine(
    server: LLMServer, data_dir: Path, embedder: Embedder, **overrides: object
) -> Engine:
    require_shared()
    engine = Engine(server.settings(data_dir, **overrides), embedder=embedder)
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    return engine


def passage_number(server: LLMServer, needle: str) -> int:
    """The number the last prompt gave the passage containing `needle`."""
    system = server.state.chat_requests[-1]["body"]["messages"][0]["content"]
    for block in system.split("<<<passage ")[1:]:
        if needle in block:
            return int(block.split()[0])
    raise AssertionError(f"{needle!r} is in no passage of the prompt")


def passages_in(prompt: str) -> int:
    return len(re.findall(r"<<<passage \d+ ", prompt))


def answer_json(*sentences: tuple[str, int, str]) -> str:
    return json.dumps(
        {
            "sentences": [
                {"text": text, "citations": [{"passage": n, "quote": quote}]}
                for text, n, quote in sentences
            ],
            "abstain": not sentences,
        }
    )


@pytest.fixture
def engine_llm(llm_server: LLMServer, data_dir: Path, embedder: Embedder) -> Engine:
    return llm_engine(llm_server, data_dir, embedder)


def test_generated_answer_cites_verified_passages(
    engine_llm: Engine, llm_server: LLMServer
) -> None:
    answer = engine_llm.query.ask("Who conveyed the decision to Ukraine?")
    assert answer.backend == "llm:test-model" and not answer.abstained
    assert answer.citations[0].quote == CAVOLI
    assert answer.answer == f"{CAVOLI} [1]"
    assert_citations_verify(engine_llm, answer)
    messages = llm_server.state.chat_requests[0]["body"]["messages"]
    assert "untrusted" in messages[0]["content"] and "General Cavoli" in messages[0]["content"]
    assert messages[1]["content"] == "Question: Who conveyed the decision to Ukraine?\n"


def scripted(engine: Engine, server: LLMServer, question: str, build: object) -> object:
    """Ask once with the naive reader to learn the passage numbers, then again with the
    reply `build(number_of)` scripts."""
    engine.query.ask(question)
    reply = build(lambda needle: passage_number(server, needle))  # type: ignore[operator]
    server.state.push(Step(content=reply))
    return engine.query.ask(question)


def test_sentences_whose_quotes_do_not_verify_are_dropped(
    engine_llm: Engine, llm_server: LLMServer
) -> None:
    answer = scripted(
        engine_llm,
        llm_server,
        "Who conveyed the decision to Ukraine?",
        lambda num: answer_json(
            ("General Cavoli conveyed it.", num("General Cavoli"), CAVOLI),
            ("It was Blinken.", num("General Cavoli"), "it was Secretary Blinken who conveyed"),
            ("Invented passage.", 99, CAVOLI),
        ),
    )
    assert answer.answer == "General Cavoli conveyed it. [1]"  # type: ignore[attr-defined]
    assert answer.dropped_sentences == 2  # type: ignore[attr-defined]
    assert [s.supported for s in answer.sentences] == [True]  # type: ignore[attr-defined]
    assert_citations_verify(engine_llm, answer)


@pytest.mark.parametrize("reader", ["on", "verify"])
def test_with_the_reader_a_sentence_its_quote_is_not_about_is_dropped(
    llm_server: LLMServer, data_dir: Path, embedder: Embedder, reader: str
) -> None:
    """With the reader on, and by default (CITEQA_READER=verify: the bundled cross-encoder
    is loaded for this check), each generated sentence is read against its quotes."""

    def reply(num: Callable[[str], int]) -> str:
        return answer_json(
            ("General Cavoli told Ukraine about the decision.", num("General Cavoli"), CAVOLI),
            # a verbatim quote, but the sentence says something it does not
            ("The ferry to Gull Island leaves at nine.", num("General Cavoli"), CAVOLI),
        )

    question = "Who conveyed the decision to Ukraine?"
    engine = llm_engine(llm_server, data_dir, embedder, reader=reader)
    answer = scripted(engine, llm_server, question, reply)
    assert answer.answer == "General Cavoli told Ukraine about the decision. [1]"  # type: ignore[attr-defined]
    assert answer.dropped_sentences == 1  # type: ignore[attr-defined]
    assert_citations_verify(engine, answer)
    # without a cross-encoder (CITEQA_READER=off) the quote verifies, so both sentences stand
    plain = llm_engine(llm_server, data_dir.parent / "plain", embedder, reader="off")
    both = scripted(plain, llm_server, question, reply)
    assert both.dropped_sentences == 0  # type: ignore[attr-defined]


def test_mark_mode_keeps_unsupported_sentences_out_of_the_answer_text(
    llm_server: LLMServer, data_dir: Path, embedder: Embedder
) -> None:
    engine = llm_engine(llm_server, data_dir, embedder, llm_unsupported="mark")
    answer = scripted(
        engine,
        llm_server,
        "Who conveyed the decision to Ukraine?",
        lambda num: answer_json(
            ("Cavoli.", num("General Cavoli"), CAVOLI),
            ("Made up.", num("General Cavoli"), "words that are nowhere"),
        ),
    )
    assert [(s.text, s.supported) for s in answer.sentences] == [  # type: ignore[attr-defined]
        ("Cavoli.", True),
        ("Made up.", False),
    ]
    assert "Made up" not in answer.answer  # type: ignore[attr-defined]


def test_nothing_verified_means_abstain(engine_llm: Engine, llm_server: LLMServer) -> None:
    llm_server.state.push(Step(content=answer_json(("Paris is in France.", 1, "Paris is nice"))))
    answer = engine_llm.query.ask("Who conveyed the decision to Ukraine?")
    assert answer.abstained and answer.answer == ABSTAIN_TEXT and answer.citations == []
    llm_server.state.push(Step(content=answer_json()))
    assert engine_llm.query.ask("Who is the mayor of Kharkiv?").abstained
    llm_server.state.push(Step(content="I am not able to answer in JSON, sorry."))
    assert engine_llm.query.ask("Who is the mayor of Kharkiv?").abstained


def test_llm_answers_carry_the_extractive_model_s_confidence_in_the_evidence(
    engine_llm: Engine,
) -> None:
    for question in ("Who conveyed the decision to Ukraine?", "Who is the mayor of Kharkiv?"):
        generated = engine_llm.query.ask(question)
        extractive, _retrieval = engine_llm.query.ask_with_candidates(question)
        assert generated.backend.startswith("llm:") and extractive.backend == "extractive"
        assert generated.confidence == extractive.confidence
    # the evidence for the second question is weak
    assert extractive.confidence is not None and extractive.confidence < 0.5


def test_a_document_changed_after_retrieval_is_never_cited(
    engine_llm: Engine, llm_server: LLMServer
) -> None:
    # The model quotes a passage that the store no longer has as retrieved.
    original = engine_llm.components.store.documents.get_many
    engine_llm.components.store.documents.get_many = lambda ids: {}  # type: ignore[method-assign]
    try:
        answer = engine_llm.query.ask("Who conveyed the decision to Ukraine?")
    finally:
        engine_llm.components.store.documents.get_many = original  # type: ignore[method-assign]
    assert answer.abstained and answer.citations == []


def test_stream_releases_verified_sentences_then_citations_then_done(
    engine_llm: Engine, llm_server: LLMServer
) -> None:
    everything = list(engine_llm.query.ask_stream("Who conveyed the decision to Ukraine?"))
    events = [e for e in everything if not isinstance(e, Pending)]
    assert len(everything) > len(events)  # the model's chunks are seen as they arrive
    kinds = [type(e) for e in events]
    assert kinds == [Delta, CitationsReady, Done]
    done = events[-1]
    assert isinstance(done, Done) and isinstance(events[0], Delta)
    assert events[0].text == f"{CAVOLI} [1]" and done.answer.answer == f"{CAVOLI} [1]"
    assert llm_server.state.chat_requests[0]["body"]["stream"] is True


def test_llm_failure_is_an_error_or_a_flagged_extractive_fallback(
    llm_server: LLMServer, data_dir: Path, embedder: Embedder
) -> None:
    engine = llm_engine(llm_server, data_dir, embedder, llm_max_retries=1)
    llm_server.state.push(Step(status=500), Step(status=500))
    with pytest.raises(LLMUnavailable) as info:
        engine.query.ask("Who conveyed the decision to Ukraine?")
    assert SECRET not in info.value.message
    assert len(llm_server.state.chat_requests) == 2

    fallback = llm_engine(
        llm_server, data_dir, embedder, llm_max_retries=1, llm_fallback="extractive"
    )
    llm_server.state.push(Step(status=500), Step(status=500))
    answer = fallback.query.ask("Who conveyed the decision to Ukraine?")
    assert answer.fallback == "llm_unavailable" and answer.backend == "extractive"
    assert not answer.abstained and CAVOLI in answer.answer
    assert_citations_verify(fallback, answer)


def test_follow_up_is_condensed_before_retrieval(engine_llm: Engine, llm_server: LLMServer) -> None:
    history = [
        Turn(role="user", content="What remains prohibited?"),
        Turn(role="assistant", content="The use of ATACMS inside Russia. [1]"),
    ]
    llm_server.state.push(Step(content="What remains prohibited near Kyiv?"))
    # top_k 2 of the article's chunks: the passages the model sees are those retrieved for
    # the condensed question, not for the bare follow-up
    answer = engine_llm.query.ask("What about near Kyiv?", top_k=2, history=history)
    assert answer.standalone_question == "What remains prohibited near Kyiv?"
    condense = llm_server.state.chat_requests[0]["body"]["messages"][0]["content"]
    assert "user: What remains prohibited?" in condense and "What about near Kyiv?" in condense
    prompt = llm_server.state.chat_requests[1]["body"]["messages"][0]["content"]
    assert passages_in(prompt) == 2
    retrieved = engine_llm.query.pipeline.run("What remains prohibited near Kyiv?", 2).passages
    assert all(p.chunk.text[:200] in prompt for p in retrieved)
    assert_citations_verify(engine_llm, answer)


def test_the_prompt_fits_the_configured_window(
    llm_server: LLMServer, data_dir: Path, embedder: Embedder
) -> None:
    from citeqa.tokens import count_tokens

    engine = llm_engine(
        llm_server, data_dir, embedder, llm_context_window=1500, llm_max_output_tokens=300
    )
    engine.query.ask("Who conveyed the decision to Ukraine?", top_k=8)
    body = llm_server.state.chat_requests[-1]["body"]
    prompt_tokens = sum(count_tokens(m["content"]) for m in body["messages"])
    assert prompt_tokens + body["max_tokens"] <= 1500
    assert 1 <= passages_in(body["messages"][0]["content"]) < 8


def test_offline_follow_up_carries_the_previous_question_s_key_words(seed_engine: Engine) -> None:
    history = [Turn(role="user", content="What remains prohibited?")]
    answer = seed_engine.query.ask("What about near Kyiv?", history=history)
    assert answer.backend == "extractive"
    assert answer.standalone_question == "What about near Kyiv? remains prohibited"
    retrieved = seed_engine.query.pipeline.run(answer.standalone_question, 6).passages
    # what was searched finds the passage about the area near Kyiv (whether the answer
    # model then answers from it is measured by the gold sets)
    assert any("Kyiv" in p.chunk.text or "Kiev" in p.chunk.text for p in retrieved)
    cited = {(c.start, c.end) for c in answer.citations}
    assert all(
        any(p.chunk.start <= start and end <= p.chunk.end for p in retrieved)
        for start, end in cited
    )
    assert_citations_verify(seed_engine, answer)


def test_limits_are_checked_before_any_embedding_or_llm_call(
    llm_server: LLMServer, data_dir: Path, embedder: Embedder
) -> None:
    from citeqa.errors import InvalidInput, QuestionTooLong

    engine = llm_engine(llm_server, data_dir, embedder)
    counting = engine.components.embedder
    queries = counting.queries  # type: ignore[attr-defined]
    with pytest.raises(QuestionTooLong):
        engine.query.ask("why " * 400)
    with pytest.raises(InvalidInput):
        engine.query.ask("When?", top_k=0)
    with pytest.raises(QuestionTooLong):
        list(engine.query.ask_stream("why " * 400, history=[Turn(role="user", content="x")]))
    assert counting.queries == queries  # type: ignore[attr-defined]
    assert llm_server.state.chat_requests == []


def test_offline_a_question_that_stands_on_its_own_keeps_its_own_words() -> None:
    from citeqa.conversation import carry_over, leans_on_history

    history = [Turn(role="user", content="Who conveyed the decision to Ukraine?")]
    assert carry_over("Who is the mayor of Kharkiv?", history) == "Who is the mayor of Kharkiv?"
    assert leans_on_history("Why did they wait so long?")
    assert leans_on_history("And the Germans?")
    assert carry_over("When?", history) == "When? conveyed decision ukraine"
