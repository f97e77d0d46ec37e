"""The engine: one object that the CLI, the API and the evals all run.

It owns the embedder, the store, the BM25 index, the retriever and the answerer, all
built from one Settings. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from citeqa import metrics, wordnet
from citeqa.answering.extractive import VERIFIER_UNITS, ExtractiveAnswerer, Joint, Verification
from citeqa.answering.model import MODEL_FILE, READER_MODEL_FILE, AnswerModel, Linear
from citeqa.answering.scorer import UnitScorer
from citeqa.citations import verifies
from citeqa.components.embedder import Embedder, make_embedder
from citeqa.components.llm import ChatLLM
from citeqa.components.reader import Reader, load_reader
from citeqa.components.store import ChromaStore
from citeqa.components.verifier import PATCH_FILE as VERIFIER_PATCH
from citeqa.components.verifier import card as verifier_card
from citeqa.components.verifier import load_verifier
from citeqa.contract import ABSTAIN_TEXT, Answer, AnswerSentence, Citation, Timings, Turn
from citeqa.conversation import carry_over, condense, with_subject
from citeqa.domain import STORE_FORMAT, Candidate, DocumentRecord, Passage, Retrieval
from citeqa.errors import (
    ConfigurationError,
    DocumentNotFound,
    InvalidInput,
    LLMUnavailable,
    QuestionTooLong,
)
from citeqa.filters import Filters
from citeqa.generate import (
    ANSWER_SCHEMA,
    Composer,
    Prompt,
    Quoted,
    Safety,
    SentenceScanner,
    build_prompt,
    parse_reply,
)
from citeqa.lexical import LexicalIndex
from citeqa.query import QueryPipeline, UnitRanking
from citeqa.rendering import render_text, sentence_text
from citeqa.retrieve import Retriever
from citeqa.segment import segment
from citeqa.settings import Settings
from citeqa.tokens import count_tokens
from ingest.pipeline import DocumentOutcome, IngestPipeline, IngestResult, Source

log = logging.getLogger(__name__)

# With the reader on, a generated sentence is kept only when the reader's logit for it
# against one of its quotes reaches this: on the seed article and the examples, a
# sentence restating its quote scores 5-9, one citing an unrelated quote -10 to -11.
READER_SUPPORT = 0.0


@dataclass
class Delta:
    """More answer text: one verified sentence and its markers."""

    text: str


@dataclass
class Pending:
    """The model is still writing: no text yet. Lets a consumer look up between LLM
    chunks (to stop when its client is gone) without waiting for a whole sentence."""


@dataclass
class CitationsReady:
    citations: list[Citation]


@dataclass
class Done:
    answer: Answer


Event = Delta | Pending | CitationsReady | Done


def load_answer_model(settings: Settings) -> AnswerModel:
    reader = settings.reader == "on"
    path = settings.answer.model_path or (READER_MODEL_FILE if reader else MODEL_FILE)
    try:
        model = AnswerModel.load(path)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(f"the answer model {path} cannot be used: {exc}") from exc
    if model.reader != reader:
        raise ConfigurationError(
            f"the answer model {path.name} was trained "
            + ("with" if model.reader else "without")
            + f" the reader's features, and CITEQA_READER is {settings.reader}"
        )
    return model


def verification(settings: Settings, model: AnswerModel | None = None) -> Verification | None:
    """The verifier's check as configured (None: off). The shipped verifier at its
    shipped threshold decides with the joint gate fitted with it, when that gate was
    fitted for this answer model (`model`); a model or threshold of your own, or another
    answer model, gets the verifier as a second gate."""
    answer = settings.answer
    if not answer.verifier:
        return None
    if answer.verifier_model is None and not VERIFIER_PATCH.is_file():
        raise ConfigurationError(
            f"no verifier is shipped at {VERIFIER_PATCH} (python -m evals.tune_reader --ship "
            "makes it): set CITEQA_ANSWER__VERIFIER=false or CITEQA_ANSWER__VERIFIER_MODEL"
        )
    shipped = verifier_card() if answer.verifier_model is None else {}
    threshold = answer.verifier_threshold
    if threshold is None:
        threshold = shipped.get("threshold")
    if threshold is None:
        raise ConfigurationError(
            "a verifier model of your own needs CITEQA_ANSWER__VERIFIER_THRESHOLD"
        )
    units = answer.verifier_units or int(shipped.get("units", VERIFIER_UNITS))
    fitted = shipped.get("joint") or {}
    joint = None
    if (
        fitted
        and model is not None
        and answer.verifier_threshold is None
        and fitted.get("answer_model") == model.version
        and answer.verifier_units in (None, fitted.get("units"))
    ):
        joint = Joint(Linear(**fitted["model"]), float(fitted["threshold"]))
    return Verification(load_verifier(answer.verifier_model), float(threshold), units, joint)


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


def _citation(
    n: int,
    record: DocumentRecord,
    passage: Passage,
    quote: str,
    start: int,
    end: int,
    score: float,
) -> Citation:
    return Citation(
        n=n,
        doc_id=record.doc_id,
        title=record.title,
        source=record.source,
        date=record.date,
        quote=quote,
        start=start,
        end=end,
        score=round(min(max(score, 0.0), 1.0), 4),
        page=passage.chunk.metadata.get("page"),
    )


class Engine:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        llm: ChatLLM | None = None,
        answer_model: AnswerModel | None = None,
        stop: threading.Event | None = None,
        reader: Reader | None = None,
    ) -> None:
        """`stop`, when set, makes an ingest in progress roll back its unfinished group
        of documents and raise ShuttingDown (a server that is stopping sets it)."""
        self.settings = settings
        self.embedder = embedder if embedder is not None else make_embedder(settings)
        self.store = ChromaStore(settings, self.embedder.name, self.embedder.dimension)
        self.lexical = LexicalIndex(self.store, settings.lexical_hold_chunks)
        model = answer_model if answer_model is not None else load_answer_model(settings)
        # a model trained with the reader's features needs the reader; one without, none
        if model.reader and reader is None:
            reader = load_reader(settings.reader_model)
        self.reader = reader if model.reader else None
        self.scorer = UnitScorer(self.embedder, model, self.reader)
        self.retriever = Retriever(
            self.store,
            self.embedder,
            self.lexical,
            settings.answer.rerank_depth,
            scope=settings.answer.document_scope,
        )
        self.query = QueryPipeline(self.retriever, [UnitRanking(self.scorer, self.retriever.depth)])
        self.answerer = ExtractiveAnswerer(model, settings.answer, verification(settings, model))
        self.pipeline = IngestPipeline(self.store, self.embedder, settings, stop)
        if llm is None and settings.llm_enabled:
            llm = ChatLLM(settings)
        self.llm = llm
        self._format_status: tuple[str, dict[str, Any]] | None = None

    # -- asking ---------------------------------------------------------------------------
    def validate_question(self, question: str, top_k: int | None) -> tuple[str, int]:
        question = (question or "").strip()
        if not question:
            raise InvalidInput("the question is empty")
        if count_tokens(question) > self.settings.max_question_tokens:
            raise QuestionTooLong(
                f"the question is longer than {self.settings.max_question_tokens} tokens"
            )
        k = self.settings.top_k if top_k is None else top_k
        if not 1 <= k <= self.settings.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}")
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
        retrieval = self.query.run(question, k, filters)
        retrieved = time.perf_counter()
        answer = self._extractive(question, retrieval)
        answer.timings_ms = _timings(started, retrieved)
        return answer, retrieval

    @property
    def backend(self) -> str:
        return self.llm.name if self.llm is not None else self.answerer.name

    # -- the answer, as events ------------------------------------------------------------
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
        if history and self.llm is None and self.reader is not None:
            standalone, retrieval = self._better_reading(question, history, k, filters)
        elif history:
            try:
                standalone = self._standalone(question, history)
            except LLMUnavailable as exc:
                fallback = self._fallback_or_raise(exc)
                standalone = carry_over(question, history)
        if retrieval is None:
            retrieval = self.query.run(standalone or question, k, filters)
        retrieved = time.perf_counter()
        if self.llm is not None and fallback is None:
            emitted = False
            try:
                for event in self._generated(question, standalone, retrieval, stream):
                    if isinstance(event, Done):
                        event.answer.timings_ms = _timings(started, retrieved)
                        self._record(event.answer)
                    emitted = emitted or isinstance(event, Delta)
                    yield event
                return
            except LLMUnavailable as exc:
                if emitted:
                    raise  # text was shown already: the stream ends with the error
                fallback = self._fallback_or_raise(exc)
        answer = self._extractive(question, retrieval, standalone)
        answer.fallback = fallback
        answer.standalone_question = standalone
        answer.timings_ms = _timings(started, retrieved)
        self._record(answer)
        for sentence in answer.sentences:
            yield Delta(sentence_text(sentence))
        yield CitationsReady(answer.citations)
        yield Done(answer)

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
            f" question={answer.question!r}" if self.settings.log_questions else "",
        )

    def _fallback_or_raise(self, exc: LLMUnavailable) -> str:
        if self.settings.llm_fallback != "extractive":
            raise exc
        log.warning("the LLM failed (%s); answering extractively", exc.code)
        return exc.code

    def _better_reading(
        self, question: str, history: Sequence[Turn], k: int, filters: Filters | None
    ) -> tuple[str | None, Retrieval]:
        """Offline, with the reader: both readings of a question asked in a conversation,
        alone and with the conversation's subject, retrieved and scored; the one the
        answer model (which weighs the reader) finds better supported is kept. No word
        list decides: "What does it mean when tar exits with status 2?" stands alone,
        "What about near Kyiv?" does not. Returns the standalone question when the
        subject was added."""
        alone = self.query.run(question, k, filters)
        joint_question = with_subject(question, history)
        if joint_question == question:
            return None, alone
        joint = self.query.run(joint_question, k, filters)
        if self.answerer.confidence(joint.candidates) > self.answerer.confidence(alone.candidates):
            return joint_question, joint
        return None, alone

    def _standalone(self, question: str, history: Sequence[Turn]) -> str:
        if self.llm is None:
            return carry_over(question, history)
        return condense(self.llm, question, history)

    def _about(self, sentence: str, quotes: list[str]) -> bool:
        """The reader finds the generated sentence about what at least one of its quotes
        says (READER_SUPPORT). It reads relevance, not entailment: it drops a sentence
        that cites an unrelated quote (logits near -10), not one that misstates its
        quote's number ("up to twenty items" against "up to twelve items": 9.2)."""
        assert self.reader is not None
        return bool(quotes) and float(max(self.reader.score(sentence, quotes))) >= READER_SUPPORT

    def _extractive(
        self, question: str, retrieval: Retrieval, searched: str | None = None
    ) -> Answer:
        """The extractive answer to `question` from the retrieval made for `searched` (a
        follow-up's standalone reading, which the verifier reads too)."""
        chosen, confidence, verified = self.answerer.select(
            retrieval.candidates, searched or question
        )
        citations = self._verified_citations(chosen)
        shown = {(c.start, c.end): c.display for c in chosen}
        sentences = [
            AnswerSentence(
                text=shown.get((c.start, c.end), c.quote), citations=[c.n], supported=True
            )
            for c in citations
        ]
        answer = Answer(
            question=question,
            answer=render_text(sentences) or ABSTAIN_TEXT,
            abstained=not citations,
            citations=citations,
            backend=self.answerer.name,
            timings_ms=Timings(retrieve=0, answer=0, total=0),
            sentences=sentences,
            confidence=round(confidence, 4),
            verification=round(verified, 4) if verified is not None else None,
            searched_documents=retrieval.scope,
        )
        return answer

    def _generated(
        self, question: str, standalone: str | None, retrieval: Retrieval, stream: bool
    ) -> Iterator[Event]:
        assert self.llm is not None
        settings = self.settings
        prompt = build_prompt(
            standalone or question,
            retrieval.passages,
            settings.llm_context_window,
            settings.llm_max_output_tokens,
        )
        records: dict[str, DocumentRecord | None] = {}

        def stored(quoted: Quoted) -> bool:
            doc_id = quoted.passage.chunk.doc_id
            if doc_id not in records:
                records[doc_id] = self.store.get_documents([doc_id]).get(doc_id)
            return verifies(records[doc_id], quoted.text, quoted.start, quoted.end)

        composer = Composer(
            prompt.passages,
            check=stored,
            safety=Safety.for_prompt(prompt),
            about=self._about if self.reader is not None else None,
        )
        if prompt.passages:
            for raw in self._raw_sentences(prompt, stream):
                if raw is None:
                    yield Pending()
                    continue
                sentence = composer.add(raw)
                if sentence is not None and sentence.supported:
                    yield Delta(sentence_text(sentence))
        top = max((p.score for p in prompt.passages), default=1.0) or 1.0
        citations = []
        for n, quoted in enumerate(composer.quotes, start=1):
            record = records[quoted.passage.chunk.doc_id]
            assert record is not None  # it verified
            citations.append(
                _citation(
                    n,
                    record,
                    quoted.passage,
                    quoted.text,
                    quoted.start,
                    quoted.end,
                    quoted.passage.score / top,
                )
            )
        supported = [s for s in composer.sentences if s.supported]
        kept = composer.sentences if settings.llm_unsupported == "mark" else supported
        yield CitationsReady(citations)
        yield Done(
            Answer(
                question=question,
                answer=render_text(supported) or ABSTAIN_TEXT,
                abstained=not supported,
                citations=citations,
                backend=self.llm.name,
                timings_ms=Timings(retrieve=0, answer=0, total=0),
                sentences=kept,
                dropped_sentences=composer.unsupported if settings.llm_unsupported == "drop" else 0,
                standalone_question=standalone,
                searched_documents=retrieval.scope,
                # the extractive model's P(right) for the passages the LLM read
                confidence=round(self.answerer.confidence(retrieval.candidates), 4)
                if retrieval.candidates
                else 0.0,
            )
        )

    def _raw_sentences(self, prompt: Prompt, stream: bool) -> Iterator[dict[str, Any] | None]:
        """The model's sentence objects as they complete; None for a chunk that
        completed none."""
        assert self.llm is not None
        if not stream:
            yield from parse_reply(self.llm.complete(prompt.messages, ANSWER_SCHEMA)).sentences
            return
        scanner = SentenceScanner()
        found = False
        deltas = self.llm.stream(prompt.messages, ANSWER_SCHEMA)
        try:
            for delta in deltas:
                completed: list[dict[str, Any] | None] = list(scanner.feed(delta))
                found = found or bool(completed)
                yield from completed or [None]
        finally:
            deltas.close()  # type: ignore[attr-defined]
        if not found:  # not the streamed shape we asked for: read the whole reply leniently
            yield from parse_reply(scanner.text).sentences

    def _verified_citations(self, chosen: list[Candidate]) -> list[Citation]:
        records = self.store.get_documents([c.passage.chunk.doc_id for c in chosen])
        citations: list[Citation] = []
        for cand in chosen:
            chunk = cand.passage.chunk
            record = records.get(chunk.doc_id)
            if record is None or not verifies(record, cand.text, cand.start, cand.end):
                # The document changed or vanished since retrieval: never cite it.
                log.info("dropped a citation that no longer verifies (doc %s)", chunk.doc_id)
                continue
            citations.append(
                _citation(
                    len(citations) + 1,
                    record,
                    cand.passage,
                    cand.text,
                    cand.start,
                    cand.end,
                    cand.probability,
                )
            )
        return citations

    # -- documents ------------------------------------------------------------------------
    def ingest(
        self,
        sources: Iterable[Source],
        on_document: Callable[[DocumentOutcome], None] | None = None,
        on_chunks: Callable[[int], None] | None = None,
        on_reading: Callable[[str], None] | None = None,
    ) -> IngestResult:
        return self.pipeline.run(
            sources, on_document=on_document, on_chunks=on_chunks, on_reading=on_reading
        )

    def get_document(self, doc_id: str) -> DocumentRecord:
        record = self.store.get_document(doc_id)
        if record is None or record.status != "complete":
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return record

    def list_documents(self, limit: int = 50, offset: int = 0) -> tuple[list[DocumentRecord], int]:
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidInput("limit must be 1-1000 and offset not negative")
        return self.store.list_documents(limit, offset)

    def reindex(
        self,
        limit: int | None = None,
        on_document: Callable[[DocumentOutcome], None] | None = None,
    ) -> tuple[IngestResult, int]:
        """Rebuild documents stored in an older format from their stored text (at most
        `limit`); returns what was done and how many remain."""
        if limit is not None and limit < 1:
            raise InvalidInput("limit must be at least 1")
        result, remaining = self.pipeline.reindex(limit, on_document)
        self._format_status = None
        return result, remaining

    def format_status(self) -> dict[str, Any]:
        """The store's format and whether documents await `citeqa reindex` (read again
        when the store changes)."""
        generation = self.store.changes.generation()
        cached = self._format_status
        if cached is None or cached[0] != generation:
            count = len(self.store.outdated_documents())
            cached = (
                generation,
                {"format": STORE_FORMAT, "documents_to_reindex": count, "reindex_due": count > 0},
            )
            self._format_status = cached
        return dict(cached[1])

    def update_document(self, doc_id: str, **fields: Any) -> DocumentRecord:
        """Change a document's title or date (IngestPipeline.update_fields): nothing is
        read or embedded again."""
        record = self.pipeline.update_fields(doc_id, **fields)
        if record is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return record

    def delete_document(self, doc_id: str) -> None:
        if not self.pipeline.delete(doc_id):
            raise DocumentNotFound(f"no document with id {doc_id!r}")

    def suggestions(self, n: int = 3) -> list[str]:
        """Example questions drawn from the stored documents, for an empty conversation:
        one for each of at most n documents spread over the store, short, about one of
        its section headings when it has any (one that does not repeat the title), else
        about the document by its title's leading words."""
        if not 1 <= n <= 20:
            raise InvalidInput("n must be 1-20")
        snapshot = self.lexical.snapshot()
        docs = sorted({d for d, cid in zip(snapshot.doc_ids, snapshot.ids, strict=True) if cid})
        chosen = sorted({round(i * len(docs) / n) for i in range(n)} & set(range(len(docs))))
        wanted = {docs[i] for i in chosen}
        if snapshot.held is not None:
            chunks = [c for c in snapshot.held.values() if c.doc_id in wanted]
        else:  # a store too large to hold: read the chosen documents' chunks only
            chunks = self.store.chunks_of(sorted(wanted))
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

    # -- health ---------------------------------------------------------------------------
    def verifier_name(self) -> str:
        """The verifier's name, or 'off'."""
        verified = self.answerer.verification
        return verified.verifier.name if verified is not None else "off"

    def readiness(self) -> dict[str, Any]:
        self.store.ping()
        return {
            "store": "chroma-server" if self.settings.chroma_url else "chroma-embedded",
            "embedder": self.embedder.name,
            "reader": self.reader.name if self.reader is not None else "off",
            "verifier": self.verifier_name(),
            "backend": self.backend,
            "chunks": self.store.count_chunks(),
            **self.format_status(),
        }

    def warm_up(self) -> None:
        """Load what the first query would otherwise pay for: the model, its batched
        path (sentence scoring encodes a batch), and the BM25 index; and what the first
        upload would: the sentence segmenter and the token counter (seconds to load)."""
        segment("Warm up. A second sentence, about 3.5 km long.")
        count_tokens("warm up")
        self.embedder.embed_query("warm up")
        self.embedder.embed_documents(
            ["A short sentence.", "Another, somewhat longer sentence here."]
        )
        if self.reader is not None:
            self.reader.score("warm up", ["A short passage to read.", "Another one."])
        if self.answerer.verification is not None:
            self.answerer.verification.verifier.score("warm up", ["A short passage to read."])
        self.lexical.snapshot()
        wordnet.related("warm")  # maps the WordNet files
