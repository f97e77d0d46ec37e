"""The query service: a question in, a cited answer (or an abstention) out.

It composes the query pipeline (retrieval, then the answer model's unit ranking,
`citeqa.query`) with the configured answer backend (`citeqa.services.backend`), reads
follow-up questions in their conversation, falls back to extractive answers when the
LLM fails (CITEQA_LLM_FALLBACK), and suggests questions about the stored documents.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence

from citeqa import metrics
from citeqa.answering.extractive import ExtractiveAnswerer
from citeqa.answering.scorer import UnitScorer
from citeqa.components.container import Components
from citeqa.contract import Answer, Timings, Turn
from citeqa.conversation import carry_over, condense, with_subject
from citeqa.domain import Retrieval
from citeqa.errors import InvalidInput, LLMUnavailable, QuestionTooLong
from citeqa.events import Delta, Done, Event
from citeqa.filters import Filters
from citeqa.query import QueryPipeline, UnitRanking
from citeqa.retrieve import Retriever
from citeqa.services.backend import Backend, ExtractiveBackend, make_backend, verification
from citeqa.tokens import count_tokens

log = logging.getLogger(__name__)


def _suggested_heading(path: str, title: str) -> str | None:
    """The innermost heading of a passage's heading path, as words to ask about: marks
    and numbering off, lower-cased unless it is a name; None when it is no good subject
    (too short, too long) or says again what the title says."""
    heading = path.split(" > ")[-1].strip().lstrip("#").strip()
    heading = re.sub(  # noqa: DUO138 (each repetition starts with ".": one way to match)
        r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|\([a-z0-9]+\))\s+", "", heading
    ).rstrip(".:")
    words = heading.split()
    if not 1 <= len(words) <= 8 or not any(c.isalpha() for c in heading):
        return None
    # "The JPEG software (README)" under the heading "The JPEG software": nothing new
    title_words = set(re.findall(r"\w+", title.lower()))
    if set(re.findall(r"\w+", heading.lower())) <= title_words:
        return None
    if heading.isupper():
        return heading.lower()
    if words[0][:1].isupper() and (len(words[0]) == 1 or words[0][1:].islower()):
        return heading[0].lower() + heading[1:]
    return heading


_ASKING = re.compile(
    r"^(?:how|why|what|when|where|who|which|can|should|do|does|is|are)\b", re.IGNORECASE
)
_NO_ARTICLE = re.compile(r"^(?:the|a|an|my|your|our|its|their|this|these|that|those)\b")


def _question_about(heading: str) -> str:
    """A short question a reader would ask about a section heading: a heading that is
    already a question keeps its words; another is asked about as a subject."""
    if _ASKING.match(heading):
        return heading[0].upper() + heading[1:].rstrip("?") + "?"
    first = heading.split()[0]
    # "the winter timetable", but "troubleshooting" and names as they are
    if heading[0].islower() and not first.endswith("ing") and not _NO_ARTICLE.match(heading):
        heading = f"the {heading}"
    return f"What should I know about {heading}?"


def _question_about_document(title: str) -> str | None:
    """A question about a document with no usable heading, by its title's leading words
    (what parentheses or a subtitle add left out); None when that is still long."""
    short = re.split(r"\s+[-\u2013\u2014:|]\s+|:\s|\s*\(", title, maxsplit=1)[0].strip()
    if not 1 <= len(short.split()) <= 6:
        return None
    return f"What is {short} about?"


def _timings(started: float, retrieved: float) -> Timings:
    done = time.perf_counter()
    return Timings(
        retrieve=round((retrieved - started) * 1000, 2),
        answer=round((done - retrieved) * 1000, 2),
        total=round((done - started) * 1000, 2),
    )


class QueryService:
    def __init__(self, components: Components) -> None:
        settings = components.settings
        self.settings = settings
        self.components = components
        self.scorer = UnitScorer(components.embedder, components.answer_model, components.reader)
        self.retriever = Retriever(
            components.store,
            components.embedder,
            components.lexical,
            settings.answer.rerank_depth,
            scope=settings.answer.document_scope,
        )
        self.pipeline = QueryPipeline(
            self.retriever, [UnitRanking(self.scorer, self.retriever.depth)]
        )
        self.answerer = ExtractiveAnswerer(
            components.answer_model,
            settings.answer,
            verification(settings, components.answer_model),
        )
        self.extractive = ExtractiveBackend(self.answerer, components.store)
        self.backend: Backend = make_backend(components, self.extractive)

    def validate_question(self, question: str, top_k: int | None) -> tuple[str, int]:
        question = (question or "").strip()
        if not question:
            raise InvalidInput("the question is empty")
        if count_tokens(question) > self.settings.query.max_question_tokens:
            raise QuestionTooLong(
                f"the question is longer than {self.settings.query.max_question_tokens} tokens"
            )
        k = self.settings.query.top_k if top_k is None else top_k
        if not 1 <= k <= self.settings.query.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.settings.query.max_top_k}")
        return question, k

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        question, k = self.validate_question(question, top_k)
        for event in self._answer(question, k, filters, history, stream=False):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("an answer stream always ends with Done")

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> Iterator[Event]:
        """Delta events (answer text, each sentence released only once verified), then
        the citations, then Done with the whole answer. Validation errors are raised
        before the first event; closing the iterator cancels the LLM request."""
        question, k = self.validate_question(question, top_k)
        return self._answer(question, k, filters, history, stream=True)

    def ask_with_candidates(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> tuple[Answer, Retrieval]:
        """The extractive answer plus the retrieval it came from, with every scored
        candidate unit (the evals read them), whatever the configured backend."""
        question, k = self.validate_question(question, top_k)
        started = time.perf_counter()
        retrieval = self.pipeline.run(question, k, filters)
        retrieved = time.perf_counter()
        answer = self.extractive.answer(question, retrieval)
        answer.timings_ms = _timings(started, retrieved)
        return answer, retrieval

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def _answer(
        self,
        question: str,
        k: int,
        filters: Filters | None,
        history: Sequence[Turn],
        stream: bool,
    ) -> Iterator[Event]:
        """The answer as events, for a question `validate_question` has accepted."""
        started = time.perf_counter()
        fallback: str | None = None
        standalone: str | None = None
        retrieval: Retrieval | None = None
        llm = self.components.llm
        reads = self.components.reader is not None or self.answerer.joint is not None
        if history and llm is None and reads:
            standalone, retrieval = self._better_reading(question, history, k, filters)
        elif history:
            try:
                standalone = self._standalone(question, history)
            except LLMUnavailable as exc:
                fallback = self._fallback_or_raise(exc)
                standalone = carry_over(question, history)
        if retrieval is None:
            retrieval = self.pipeline.run(standalone or question, k, filters)
        retrieved = time.perf_counter()
        backend: Backend = self.backend if fallback is None else self.extractive
        while True:
            emitted = False
            try:
                for event in backend.events(question, standalone, retrieval, stream):
                    if isinstance(event, Done):
                        event.answer.fallback = fallback
                        event.answer.timings_ms = _timings(started, retrieved)
                        self._record(event.answer)
                    emitted = emitted or isinstance(event, Delta)
                    yield event
                return
            except LLMUnavailable as exc:
                if emitted or backend is self.extractive:
                    raise  # text was shown already: the stream ends with the error
                fallback = self._fallback_or_raise(exc)
                backend = self.extractive

    def _record(self, answer: Answer) -> None:
        """Metrics and the log line of an answer given (the question's text only with
        CITEQA_LOG_QUESTIONS=1)."""
        timings = answer.timings_ms
        metrics.answers.labels(answer.backend, "true" if answer.abstained else "false").inc()
        metrics.retrieve_seconds.observe(timings.retrieve / 1000)
        metrics.answer_seconds.observe(timings.answer / 1000)
        log.info(
            "answer: backend=%s abstained=%s citations=%d total_ms=%s%s",
            answer.backend,
            answer.abstained,
            len(answer.citations),
            timings.total,
            f" question={answer.question!r}" if self.settings.logging.questions else "",
        )

    def _fallback_or_raise(self, exc: LLMUnavailable) -> str:
        if self.settings.llm.fallback != "extractive":
            raise exc
        log.warning("the LLM failed (%s); answering extractively", exc.code)
        return exc.code

    def _better_reading(
        self, question: str, history: Sequence[Turn], k: int, filters: Filters | None
    ) -> tuple[str | None, Retrieval]:
        """Offline, with a cross-encoder (the reader, or the verifier with its joint gate):
        both readings of a question asked in a conversation, alone and with the
        conversation's subject, retrieved and scored; the one better supported is kept,
        by the answer model that weighs the reader, or by the joint gate, the verifier
        reading each reading with its own best units. No word list decides: "What does it
        mean when tar exits with status 2?" stands alone, "What about near Kyiv?" does
        not. Returns the standalone question when the subject was added."""
        alone = self.pipeline.run(question, k, filters)
        joint_question = with_subject(question, history)
        if joint_question == question:
            return None, alone
        joint = self.pipeline.run(joint_question, k, filters)
        if self._support(joint, joint_question) > self._support(alone, question):
            return joint_question, joint
        return None, alone

    def _support(self, retrieval: Retrieval, reading: str) -> float:
        """How well the retrieval supports an answer to this reading: the confidence the
        abstention threshold is compared with (0 where the joint gate finds no unit to
        read)."""
        if not retrieval.candidates:
            return 0.0
        confidence, verified = self.answerer.judge(retrieval.candidates, reading)
        if self.answerer.joint is not None and verified is None:
            return 0.0
        return confidence

    def _standalone(self, question: str, history: Sequence[Turn]) -> str:
        llm = self.components.llm
        if llm is None:
            return carry_over(question, history)
        return condense(llm, question, history)

    def suggestions(self, n: int = 3) -> list[str]:
        """Example questions drawn from the stored documents, for an empty conversation:
        one for each of at most n documents spread over the store, short, about one of
        its section headings when it has any (one that does not repeat the title), else
        about the document by its title's leading words."""
        if not 1 <= n <= 20:
            raise InvalidInput("n must be 1-20")
        snapshot = self.components.lexical.snapshot()
        docs = sorted({d for d, cid in zip(snapshot.doc_ids, snapshot.ids, strict=True) if cid})
        chosen = sorted({round(i * len(docs) / n) for i in range(n)} & set(range(len(docs))))
        wanted = {docs[i] for i in chosen}
        if snapshot.held is not None:
            chunks = [c for c in snapshot.held.values() if c.doc_id in wanted]
        else:  # a store too large to hold: read the chosen documents' chunks only
            chunks = self.components.store.chunks.of_documents(sorted(wanted))
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in sorted(chunks, key=lambda c: (c.doc_id, c.index)):
            title = str(chunk.metadata.get("title") or chunk.doc_id)
            heading = _suggested_heading(str(chunk.metadata.get("headings") or ""), title)
            if chunk.doc_id not in found or (heading and found[chunk.doc_id][1] is None):
                found[chunk.doc_id] = (title, heading)
        questions = []
        for i in chosen:
            if docs[i] not in found:  # deleted since the snapshot
                continue
            title, heading = found[docs[i]]
            question = _question_about(heading) if heading else _question_about_document(title)
            if question and question not in questions:
                questions.append(question)
        if not questions and docs:
            questions.append("What are these documents about?")
        return questions
