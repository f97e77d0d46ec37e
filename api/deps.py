"""Dependencies as Annotated aliases, so routes read like sentences and tests can swap
them with app.dependency_overrides."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from citeqa.components.embedder import Embedder, make_embedder
from citeqa.settings import Settings
from ingest.engine import Engine


class EngineProvider:
    """Loads the embedder once; opens the store on first use and again after a failure,
    so the API starts (and reports not-ready) while Chroma is down, then recovers."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # an embedder given here (a test's already-loaded model) is used instead of one
        # made from the settings
        self._embedder: Embedder | None = embedder
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        # set when the server is stopping: ingests in progress roll back and end
        self.stopping = threading.Event()

    def use_embedder(self, embedder: Embedder) -> None:
        """Use this embedder (a test's already-loaded model) for the engines opened from
        now on, instead of one made from the settings."""
        with self._lock:
            self._embedder = embedder

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    def get(self) -> Engine:
        engine = self._engine
        if engine is not None:
            return engine
        embedder = self.embedder()
        with self._lock:
            if self._engine is None:
                self._engine = Engine(self.settings, embedder=embedder, stop=self.stopping)
            return self._engine


def get_engine(request: Request) -> Engine:
    provider: EngineProvider = request.app.state.engines
    return provider.get()


def get_settings(request: Request) -> Settings:
    provider: EngineProvider = request.app.state.engines
    return provider.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
