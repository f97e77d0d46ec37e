from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import (
    Answer,
    ErrorBody,
    QueryRequest,
    StreamCitations,
    StreamDelta,
    Suggestions,
)
from api.streaming import EventPump, sse
from citeqa.events import CitationsReady, Delta, Done, Event, Pending

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


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
    504: {"model": ErrorBody},
}

# The models of the events' data, added to the OpenAPI components by the app.
EVENT_MODELS = (StreamDelta, StreamCitations)

_EVENTS_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `delta` events (StreamDelta: answer text, one "
        "verified sentence at a time), one `citations` event (StreamCitations), then `done` "
        "with the whole answer (Answer, the JSON of POST /v1/query); `error` (ErrorBody) if "
        "it fails midway. The schema is that of each event's data.",
        "content": {
            "text/event-stream": {
                # Open API 3.2's way to describe each event (what tools that read 3.1 do
                # not know, they skip: the body is then plain text to them)
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "event": {
                            "type": "string",
                            "enum": ["delta", "citations", "done", "error"],
                        },
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {
                                "anyOf": [
                                    {"$ref": f"#/components/schemas/{model}"}
                                    for model in (
                                        "StreamDelta",
                                        "StreamCitations",
                                        "Answer",
                                        "ErrorBody",
                                    )
                                ]
                            },
                        },
                    },
                    "required": ["event", "data"],
                },
                "example": 'event: delta\ndata: {"text": "..."}\n\n',
            }
        },
    },
    **_ERRORS,
}


@router.post(
    "/query",
    response_model=Answer,
    responses={
        200: {
            "description": 'The answer (JSON); with `"stream": true`, its events, as '
            "POST /v1/query/stream sends them.",
            "content": {"text/event-stream": _EVENTS_DOC[200]["content"]["text/event-stream"]},
        },
        **_ERRORS,
    },
)
async def query(body: QueryRequest, engine: EngineDep) -> Any:
    """Answer a question from the stored documents.

    Every claim in `answer` is followed by a marker [n]; `citations[n-1]` gives the
    document, the verbatim quote and its character offsets, verified against the stored
    text. When the documents do not answer, `abstained` is true.

    `"stream": true` still makes this route reply with Server-Sent Events, as
    POST /v1/query/stream does (the route described for streaming).
    """
    if not body.stream:
        return await run_in_threadpool(
            engine.query.ask, body.question, body.top_k, body.filters, body.history
        )
    return await _events(body, engine)


@router.post(
    "/query/stream",
    response_class=StreamingResponse,
    responses=_EVENTS_DOC,
    operation_id="query_stream",
)
async def query_stream(body: QueryRequest, engine: EngineDep) -> StreamingResponse:
    """Answer a question as Server-Sent Events: the answer's text as it is verified, then
    its citations, then the whole answer. Errors before the first event are JSON with
    their HTTP status, as on POST /v1/query."""
    return await _events(body, engine)


async def _events(body: QueryRequest, engine: EngineDep) -> StreamingResponse:
    events = await run_in_threadpool(
        engine.query.ask_stream, body.question, body.top_k, body.filters, body.history
    )
    pump = EventPump(events)
    first = await pump.first()
    frames = pump.frames(first, _sse_frames, on_error="event: error\ndata: {data}\n\n")
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/suggestions", response_model=Suggestions, responses={422: {"model": ErrorBody}})
async def suggestions(engine: EngineDep, n: int = Query(3, ge=1, le=20)) -> Suggestions:
    """Example questions drawn from the stored documents (the chat page shows them on an
    empty conversation): about a section heading of each of up to `n` documents."""
    return Suggestions(questions=await run_in_threadpool(engine.query.suggestions, n))
