"""The parts every service is built from, made once from one Settings.

A test or a tool replaces a part by passing it (`Components.build(settings,
embedder=...)`); the rest are made from the settings. The query, health and document
services all read the same parts, so an ingest is seen by the next question.
"""

from __future__ import annotations

from dataclasses import dataclass

from citeqa.answering.model import MODEL_FILE, READER_MODEL_FILE, AnswerModel
from citeqa.components.embedder import Embedder, make_embedder
from citeqa.components.llm import ChatLLM
from citeqa.components.reader import Reader, load_reader
from citeqa.components.store import ChromaStore
from citeqa.errors import ConfigurationError, InvalidInput
from citeqa.lexical import LexicalIndex
from citeqa.settings import Settings


def load_answer_model(settings: Settings) -> AnswerModel:
    """The answer model the settings name (or the shipped one for CITEQA_READER), checked
    to match the reader setting it was trained for."""
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


@dataclass
class Components:
    settings: Settings
    embedder: Embedder
    store: ChromaStore
    lexical: LexicalIndex
    answer_model: AnswerModel
    reader: Reader | None  # None: CITEQA_READER=off
    llm: ChatLLM | None  # None: extractive answers only

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        llm: ChatLLM | None = None,
        answer_model: AnswerModel | None = None,
        reader: Reader | None = None,
    ) -> Components:
        """The parts the settings describe; any given here is used instead. A reader is
        loaded only for an answer model trained with its features (one given for a model
        without them is not used)."""
        embedder = embedder if embedder is not None else make_embedder(settings)
        store = ChromaStore(settings, embedder.name, embedder.dimension)
        model = answer_model if answer_model is not None else load_answer_model(settings)
        if model.reader and reader is None:
            reader = load_reader(settings.reader_model)
        if llm is None and settings.llm_enabled:
            llm = ChatLLM(settings)
        return cls(
            settings=settings,
            embedder=embedder,
            store=store,
            lexical=LexicalIndex(store, settings.store.lexical_hold_chunks),
            answer_model=model,
            reader=reader if model.reader else None,
            llm=llm,
        )
