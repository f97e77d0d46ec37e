"""The answer backends, behind one Protocol: each turns a retrieval into answer events
(`citeqa.events`). `ExtractiveBackend` cites the answer model's best units;
`citeqa.services.generated.GeneratedBackend` has an LLM write sentences that quote the
passages. `make_backend` chooses by the components: the LLM when one is configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Protocol

from citeqa.answering.extractive import VERIFIER_UNITS, ExtractiveAnswerer, Joint, Verification
from citeqa.answering.model import AnswerModel, Linear
from citeqa.citations import citation, verifies
from citeqa.components.container import Components
from citeqa.components.store import ChromaStore
from citeqa.components.verifier import PATCH_FILE as VERIFIER_PATCH
from citeqa.components.verifier import card as verifier_card
from citeqa.components.verifier import load_verifier
from citeqa.contract import ABSTAIN_TEXT, Answer, AnswerSentence, Citation, Timings
from citeqa.domain import Candidate, Retrieval
from citeqa.errors import ConfigurationError
from citeqa.events import CitationsReady, Delta, Done, Event
from citeqa.rendering import render_text, sentence_text
from citeqa.services.generated import GeneratedBackend
from citeqa.settings import Settings

log = logging.getLogger(__name__)


class Backend(Protocol):
    """An answer backend. `events` answers `question` from `retrieval` (made for
    `standalone`, a follow-up's standalone reading, when given): Delta events, then
    CitationsReady, then Done. `stream` asks for text as it is written."""

    name: str

    def events(
        self, question: str, standalone: str | None, retrieval: Retrieval, stream: bool
    ) -> Iterator[Event]: ...


def verification(settings: Settings, model: AnswerModel | None = None) -> Verification | None:
    """The verifier's check as configured (None: off). The shipped verifier at its
    shipped threshold decides with the joint gate fitted with it, when that gate was
    fitted for this answer model (`model`); a model or threshold of your own, or another
    answer model, gets the verifier as a second gate."""
    answer = settings.answer
    if not settings.verifier_enabled:
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


class ExtractiveBackend:
    """The answer is the answer model's best units, quoted as stored (each citation
    verified against the store at answer time), or an abstention."""

    def __init__(self, answerer: ExtractiveAnswerer, store: ChromaStore) -> None:
        self.answerer = answerer
        self.name = answerer.name
        self._store = store

    def events(
        self, question: str, standalone: str | None, retrieval: Retrieval, stream: bool
    ) -> Iterator[Event]:
        answer = self.answer(question, retrieval, standalone)
        answer.standalone_question = standalone
        for sentence in answer.sentences:
            yield Delta(sentence_text(sentence))
        yield CitationsReady(answer.citations)
        yield Done(answer)

    def answer(self, question: str, retrieval: Retrieval, searched: str | None = None) -> Answer:
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
        return Answer(
            question=question,
            answer=render_text(sentences) or ABSTAIN_TEXT,
            abstained=not citations,
            citations=citations,
            backend=self.name,
            timings_ms=Timings(retrieve=0, answer=0, total=0),
            sentences=sentences,
            confidence=round(confidence, 4),
            verification=round(verified, 4) if verified is not None else None,
            searched_documents=retrieval.scope,
        )

    def _verified_citations(self, chosen: list[Candidate]) -> list[Citation]:
        records = self._store.documents.get_many([c.passage.chunk.doc_id for c in chosen])
        citations: list[Citation] = []
        for cand in chosen:
            chunk = cand.passage.chunk
            record = records.get(chunk.doc_id)
            if record is None or not verifies(record, cand.text, cand.start, cand.end):
                # The document changed or vanished since retrieval: never cite it.
                log.info("dropped a citation that no longer verifies (doc %s)", chunk.doc_id)
                continue
            citations.append(
                citation(
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


def make_backend(components: Components, extractive: ExtractiveBackend) -> Backend:
    """The configured backend: the LLM's when the components have one, else `extractive`
    (which the query service also keeps, to fall back on and to score with)."""
    if components.llm is None:
        return extractive
    return GeneratedBackend(components, extractive.answerer)
