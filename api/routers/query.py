from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import Answer, ErrorBody, QueryRequest
from api.streaming import EventPump, sse
from citeqa.engine import CitationsReady, Delta, Done, Event, Pending

router = APIRouter(prefix="/v1", tags=["query"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _sse_frames(event: Event) -> list[str]:
    if isinstance(event, Pending):
        return []
    if isinstance(event, Delta):
        return [sse("delta", {"text": event.text})]
    if isinstance(event, CitationsReady):
        return [sse("citations", {"citations": [c.model_dump() for c in event.citations]})]
    assert isinstance(event, Done)
    return [sse("done", event.answer.model_dump())]


_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with `stream: true`, Server-Sent Events instead.",
        "content": {"text/event-stream": {"example": 'event: delta\ndata: {"text": "..."}\n\n'}},
    },
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
    504: {"model": ErrorBody},
}


@router.post("/query", response_model=Answer, responses=_STREAM_DOC)
async def query(body: QueryRequest, engine: EngineDep) -> Any:
    """Answer a question from the stored documents.

    Every claim in `answer` is followed by a marker [n]; `citations[n-1]` gives the
    document, the verbatim quote and its character offsets, verified against the stored
    text. When the documents do not answer, `abstained` is true.

    With `"stream": true` the reply is `text/event-stream`: `delta` events carry answer
    text (each sentence is released only after its quotes verified), then one
    `citations` event, then `done` with the same JSON as the non-streaming answer.
    """
    if not body.stream:
        return await run_in_threadpool(
            engine.ask, body.question, body.top_k, body.filters, body.history
        )
    events = await run_in_threadpool(
        engine.ask_stream, body.question, body.top_k, body.filters, body.history
    )
    pump = EventPump(events)
    first = await pump.first()
    frames = pump.frames(first, _sse_frames, on_error="event: error\ndata: {data}\n\n")
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
