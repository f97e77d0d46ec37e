"""Running the engine's blocking event iterator under asyncio, for SSE and for OpenAI-style
chunked streams.

Each event is pulled in a worker thread. When the client goes away, Starlette cancels
the response; the iterator is then closed as soon as the pull in flight returns, which
closes the upstream LLM response, so a dropped client does not keep a model generating.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.errors import error_body
from citeqa.errors import CiteqaError
from citeqa.events import Event

log = logging.getLogger("citeqa.api")

_END = object()


class EventPump:
    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self._lock = threading.Lock()  # a generator must not be closed while it runs

    def pull(self) -> Event | None:
        with self._lock:
            event = next(self._events, _END)
        return None if event is _END else event  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()

    def close_soon(self) -> None:
        threading.Thread(target=self.close, daemon=True, name="citeqa-stream-close").start()

    async def first(self) -> Event | None:
        """The first event, pulled before the response starts, so errors that happen
        before any output (bad store, LLM down) still get their own HTTP status."""
        try:
            return await run_in_threadpool(self.pull)
        except BaseException:
            self.close_soon()
            raise

    async def frames(
        self,
        first: Event | None,
        render: Callable[[Event], list[str]],
        on_error: str,
        body: Callable[[str, str], dict[str, Any]] = error_body,
    ) -> AsyncIterator[str]:
        """`render` turns each event into wire frames; a failure midway becomes one
        `on_error` frame (the error JSON, `body(code, message)`) and ends the stream."""
        finished = False
        try:
            event = first
            while event is not None:
                for frame in render(event):
                    yield frame
                event = await run_in_threadpool(self.pull)
            finished = True
        except CiteqaError as exc:
            finished = True
            yield on_error.format(data=json.dumps(body(exc.code, exc.message)))
        except Exception:
            finished = True
            log.exception("stream failed")
            yield on_error.format(data=json.dumps(body("internal_error", "internal error")))
        finally:
            if not finished:  # the client went away: stop the upstream request
                self.close_soon()


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
