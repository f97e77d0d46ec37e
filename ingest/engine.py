"""The whole engine, composed: one `Components` container and the services built from
it, which the CLI, the API, the evals and the benchmarks run.

- `engine.query`: questions and answers (`citeqa.services.query.QueryService`);
- `engine.documents`: adding and managing documents (`ingest.service.DocumentService`);
- `engine.health`: readiness, the store's format, warming up
  (`citeqa.services.health.HealthService`);
- `engine.components`: the parts they share (embedder, store, lexical index, answer
  model, reader, LLM).

It lives on the write side because it is the lowest layer that sees both paths; the
read path (`citeqa/`) imports nothing of it.
"""

from __future__ import annotations

import threading

from citeqa.answering.model import AnswerModel
from citeqa.components.container import Components
from citeqa.components.embedder import Embedder
from citeqa.components.llm import ChatLLM
from citeqa.components.reader import Reader
from citeqa.services.health import HealthService
from citeqa.services.query import QueryService
from citeqa.settings import Settings
from ingest.service import DocumentService


class Engine:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        llm: ChatLLM | None = None,
        answer_model: AnswerModel | None = None,
        stop: threading.Event | None = None,
        reader: Reader | None = None,
        components: Components | None = None,
    ) -> None:
        """Parts given here replace those the settings describe (`components` replaces
        them all, with the settings they were built from). `stop`, when set, makes an
        ingest in progress roll back its unfinished group of documents and raise
        ShuttingDown."""
        if components is None:
            components = Components.build(
                settings, embedder=embedder, llm=llm, answer_model=answer_model, reader=reader
            )
        self.settings = components.settings  # those it was built from
        self.components = components
        self.query = QueryService(components)
        self.documents = DocumentService(components, stop)
        self.health = HealthService(components, self.query)
