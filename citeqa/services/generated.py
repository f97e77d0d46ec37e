"""The LLM backend: the model writes sentences that quote the passages it was given; a
sentence is released once each of its quotes is found in a passage and verified against
the stored document (and, with the reader on, once the reader finds it about what it
quotes). Unsupported sentences are dropped or marked, as CITEQA_LLM_UNSUPPORTED says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from citeqa.answering.extractive import ExtractiveAnswerer
from citeqa.citations import citation, verifies
from citeqa.components.container import Components
from citeqa.components.reader import load_reader
from citeqa.contract import ABSTAIN_TEXT, Answer, Timings
from citeqa.domain import DocumentRecord, Retrieval
from citeqa.events import CitationsReady, Delta, Done, Event, Pending
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
from citeqa.rendering import render_text, sentence_text

# With the reader on, a generated sentence is kept only when the reader's logit for it
# against one of its quotes reaches this: on the seed article and the examples, a
# sentence restating its quote scores 5-9, one citing an unrelated quote -10 to -11.
READER_SUPPORT = 0.0


class GeneratedBackend:
    def __init__(self, components: Components, extractive: ExtractiveAnswerer) -> None:
        assert components.llm is not None
        self.llm = components.llm
        self.name = self.llm.name
        self._settings = components.settings
        self._store = components.store
        # the sentence check's cross-encoder: the reader, or by default (the verifier
        # reading extractive answers) the bundled one, loaded for this check alone
        reader = components.reader
        if reader is None and components.settings.reader == "verify":
            reader = load_reader(components.settings.reader_model)
        self._reader = reader
        self._extractive = extractive  # its confidence in the passages the LLM read

    def _about(self, sentence: str, quotes: list[str]) -> bool:
        """The reader finds the generated sentence about what at least one of its quotes
        says (READER_SUPPORT). It reads relevance, not entailment: it drops a sentence
        that cites an unrelated quote (logits near -10), not one that misstates its
        quote's number ("up to twenty items" against "up to twelve items": 9.2)."""
        assert self._reader is not None
        return bool(quotes) and float(max(self._reader.score(sentence, quotes))) >= READER_SUPPORT

    def events(
        self, question: str, standalone: str | None, retrieval: Retrieval, stream: bool
    ) -> Iterator[Event]:
        settings = self._settings
        prompt = build_prompt(
            standalone or question,
            retrieval.passages,
            settings.llm.context_window,
            settings.llm.max_output_tokens,
        )
        records: dict[str, DocumentRecord | None] = {}

        def stored(quoted: Quoted) -> bool:
            doc_id = quoted.passage.chunk.doc_id
            if doc_id not in records:
                records[doc_id] = self._store.documents.get_many([doc_id]).get(doc_id)
            return verifies(records[doc_id], quoted.text, quoted.start, quoted.end)

        composer = Composer(
            prompt.passages,
            check=stored,
            safety=Safety.for_prompt(prompt),
            about=self._about if self._reader is not None else None,
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
                citation(
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
        kept = composer.sentences if settings.llm.unsupported == "mark" else supported
        yield CitationsReady(citations)
        yield Done(
            Answer(
                question=question,
                answer=render_text(supported) or ABSTAIN_TEXT,
                abstained=not supported,
                citations=citations,
                backend=self.name,
                timings_ms=Timings(retrieve=0, answer=0, total=0),
                sentences=kept,
                dropped_sentences=composer.unsupported if settings.llm.unsupported == "drop" else 0,
                standalone_question=standalone,
                searched_documents=retrieval.scope,
                confidence=round(
                    self._extractive.judge(retrieval.candidates, standalone or question)[0], 4
                )
                if retrieval.candidates
                else 0.0,
            )
        )

    def _raw_sentences(self, prompt: Prompt, stream: bool) -> Iterator[dict[str, Any] | None]:
        """The model's sentence objects as they complete; None for a chunk that
        completed none."""
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
