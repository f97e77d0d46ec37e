"""OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`, so chat
front ends and the official `openai` client can use citeqa as if it were a model.

The last user message is the question and the turns before it are the history. The
reply's content is the answer followed by a readable "Sources" list; the verified
citations also travel as data, in the extra fields `citations` and `citeqa` (the whole
answer contract).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.routers.query import SSE_HEADERS
from api.schemas import MAX_HISTORY_TURNS, ErrorBody
from api.streaming import EventPump
from citeqa import __version__
from citeqa.contract import Answer, Citation, Turn
from citeqa.engine import CitationsReady, Delta, Done, Event
from citeqa.errors import InvalidInput
from citeqa.filters import Filters
from citeqa.tokens import count_tokens

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

MODEL_ID = "citeqa"
SOURCES_HEADING = "Sources:"
_STARTED = int(time.time())


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's request body. Sampling options (temperature, max_tokens, ...) are accepted
    and ignored: citeqa's own settings govern generation."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(MODEL_ID, description="Any name is accepted; replies say 'citeqa'.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_HISTORY_TURNS + 10)
    stream: StrictBool = False
    top_k: StrictInt | None = Field(None, ge=1, le=200, description="citeqa extension.")
    filters: Filters | None = Field(None, description="citeqa extension.")


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, which must be the user's) and the history
    (earlier user and assistant turns; system prompts cannot steer citeqa)."""
    if messages[-1].role != "user":
        raise InvalidInput("the last message must have the role 'user'")
    history = []
    for message in messages[:-1]:
        if message.role in ("user", "assistant"):
            text = message.text().split(f"\n\n{SOURCES_HEADING}\n")[0].strip()
            if text:
                history.append(Turn(role=message.role, content=text[:16000]))
    return messages[-1].text(), history[-MAX_HISTORY_TURNS:]


def sources_text(citations: list[Citation]) -> str:
    if not citations:
        return ""
    lines = [f"\n\n{SOURCES_HEADING}"]
    for c in citations:
        where = f", p. {c.page}" if c.page else ""
        lines.append(f'[{c.n}] {c.title}{where} (chars {c.start}-{c.end}): "{c.quote}"')
    return "\n".join(lines)


def _extra(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.model_dump() for c in answer.citations],
        "citeqa": answer.model_dump(),
    }


def _usage(answer: Answer) -> dict[str, int]:
    prompt = count_tokens(answer.question)
    completion = count_tokens(answer.answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


@router.get("/models")
def list_models() -> dict[str, Any]:
    """The one model citeqa serves."""
    return {
        "object": "list",
        "data": [
            {
                "id": MODEL_ID,
                "object": "model",
                "created": _STARTED,
                "owned_by": f"citeqa {__version__}",
            }
        ],
    }


@router.post(
    "/chat/completions",
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}, 504: {"model": ErrorBody}},
)
async def chat_completions(body: ChatRequest, engine: EngineDep) -> Any:
    """OpenAI's chat completions, answered from the stored documents with citations
    (with every backend, the offline extractive one included)."""
    question, history = split_conversation(body.messages)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        answer = await run_in_threadpool(engine.ask, question, body.top_k, body.filters, history)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": answer.answer + sources_text(answer.citations),
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            **_extra(answer),
        }

    events = await run_in_threadpool(engine.ask_stream, question, body.top_k, body.filters, history)
    pump = EventPump(events)
    first = await pump.first()
    state = {"started": False, "sentences": 0}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def render(event: Event) -> list[str]:
        frames = []
        if not state["started"]:
            state["started"] = True
            frames.append(chunk({"role": "assistant", "content": ""}))
        if isinstance(event, Delta):
            text = event.text if state["sentences"] == 0 else " " + event.text
            state["sentences"] += 1
            frames.append(chunk({"content": text}))
        elif isinstance(event, CitationsReady):
            if event.citations:
                frames.append(chunk({"content": sources_text(event.citations)}))
        elif isinstance(event, Done):
            if event.answer.abstained:
                frames.append(chunk({"content": event.answer.answer}))
            frames.append(chunk({}, "stop", **_extra(event.answer)))
            frames.append("data: [DONE]\n\n")
        return frames

    frames = pump.frames(first, render, on_error="data: {data}\n\n")
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
