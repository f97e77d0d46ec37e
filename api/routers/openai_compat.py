"""OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`, so chat
front ends and the official `openai` client can use citeqa as if it were a model.

The last user message is the question and the turns before it are the history. The
reply's content is the answer followed by a readable "Sources" list; the verified
citations also travel as data, in the extra fields `citations` and `citeqa` (the whole
answer contract).

What OpenAI's API offers and citeqa cannot honour is refused with a 400 rather than
ignored when it would change what the reply means (n > 1, tools and functions, JSON
output formats, log probabilities); sampling options only tune a model's wording and are
accepted and ignored. Errors here take OpenAI's shape (api/errors.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.errors import ModelNotFound, UnsupportedOption, openai_error_body
from api.routers.query import SSE_HEADERS
from api.schemas import MAX_HISTORY_TURNS, WHOLE, OpenAIErrorBody
from api.streaming import EventPump
from citeqa import __version__
from citeqa.contract import Answer, Citation, Turn
from citeqa.errors import InvalidInput
from citeqa.events import CitationsReady, Delta, Done, Event
from citeqa.filters import Filters
from citeqa.tokens import count_tokens
from ingest.engine import Engine

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

MODEL_ID = "citeqa"
SOURCES_HEADING = "Sources:"
_STARTED = int(time.time())


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    # only text parts are read; others are refused with a 400 `unsupported_option`
    type: str = Field(json_schema_extra={"const": "text"})
    text: str | None = None


class QuestionPart(ContentPart):
    """A part of a user message: its text is (part of) a question, so not blank."""

    text: str = Field(pattern=r"\S")  # type: ignore[assignment]


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class SystemMessage(_Message):
    """Instructions for a model: read by no part of citeqa (they cannot steer it)."""

    role: Literal["system", "developer"]


class UserMessage(_Message):
    """A question: the last of them is the one answered, the earlier ones are history."""

    role: Literal["user"]
    content: (
        Annotated[str, Field(pattern=r"\S")] | Annotated[list[QuestionPart], Field(min_length=1)]
    ) = Field(  # type: ignore[assignment]
        description="The question's text (not blank), or its text parts."
    )


class AssistantMessage(_Message):
    """An earlier reply: history (its Sources list left out)."""

    role: Literal["assistant"]


class ToolMessage(_Message):
    role: Literal["tool"]


ChatMessage = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]

# What OpenAI's request may carry and citeqa answers only in its plainest form: the
# schema gives the values accepted, anything else is refused with a 400 naming the option.
_PLAIN_OPTIONS: dict[str, Any] = {
    "tools": {
        "anyOf": [{"type": "array", "maxItems": 0, "items": {"type": "object"}}, {"type": "null"}]
    },
    "functions": {
        "anyOf": [{"type": "array", "maxItems": 0, "items": {"type": "object"}}, {"type": "null"}]
    },
    "tool_choice": {"anyOf": [{"const": "none"}, {"type": "null"}]},
    "function_call": {"anyOf": [{"const": "none"}, {"type": "null"}]},
    "response_format": {
        "anyOf": [
            {
                "type": "object",
                "properties": {"type": {"const": "text"}},
                "required": ["type"],
            },
            {"type": "null"},
        ],
        "description": "Only text replies.",
    },
    "logprobs": {"anyOf": [{"const": False}, {"type": "null"}]},
    "top_logprobs": {"anyOf": [{"const": 0}, {"type": "null"}]},
}


def _document_options(schema: dict[str, Any]) -> None:
    schema["properties"].update(_PLAIN_OPTIONS)
    schema["properties"]["n"]["anyOf"][0]["maximum"] = 1


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    """OpenAI's request body. Sampling options (temperature, max_tokens, ...) are accepted
    and ignored: citeqa's own settings govern generation. The question is the last message
    with the role 'user' (one is required); the user and assistant messages before it are
    the history, and the messages after it are not read."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_document_options)
    model: str = Field(MODEL_ID, description="The one model served: 'citeqa'.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_HISTORY_TURNS + 10,
        json_schema_extra={"contains": {"$ref": "#/components/schemas/UserMessage"}},
        description="The conversation: at least one message with the role 'user'.",
    )
    stream: StrictBool = False
    stream_options: StreamOptions | None = Field(
        None, description="`include_usage`: a last chunk with the token usage."
    )
    n: Annotated[StrictInt, Field(ge=1), WHOLE] | None = Field(
        None, description="Only 1 is supported."
    )
    top_k: Annotated[StrictInt, Field(ge=1, le=200), WHOLE] | None = Field(
        None, description="citeqa extension."
    )
    filters: Filters | None = Field(None, description="citeqa extension.")

    def refuse_unsupported(self) -> None:
        """A 400 for what would change the reply's meaning if silently ignored."""
        if self.model != MODEL_ID:
            raise ModelNotFound(f"the model '{self.model[:100]}' does not exist; use '{MODEL_ID}'")
        if self.n is not None and self.n != 1:
            raise UnsupportedOption("only one choice is returned: 'n' must be 1", "n")
        extra = self.model_extra or {}
        for name in ("tools", "functions"):
            if extra.get(name, []) not in ([], None):
                raise UnsupportedOption(f"'{name}' are not supported: citeqa calls no tools", name)
        if extra.get("tool_choice") not in (None, "none"):
            raise UnsupportedOption("'tool_choice' is not supported", "tool_choice")
        if extra.get("function_call") not in (None, "none"):
            raise UnsupportedOption("'function_call' is not supported", "function_call")
        response_format = extra.get("response_format")
        if response_format is not None and (
            not isinstance(response_format, dict) or response_format.get("type") != "text"
        ):
            raise UnsupportedOption(
                "only text replies are supported ('response_format' type 'text')",
                "response_format",
            )
        logprobs, top = extra.get("logprobs"), extra.get("top_logprobs")
        if not (logprobs is None or logprobs is False):
            raise UnsupportedOption("log probabilities are not supported", "logprobs")
        if top is not None and (isinstance(top, bool) or top != 0):
            raise UnsupportedOption("log probabilities are not supported", "top_logprobs")
        for message in self.messages:
            if isinstance(message.content, list):
                for part in message.content:
                    if part.type != "text":
                        raise UnsupportedOption(
                            f"only text message parts are supported, not '{part.type[:40]}'",
                            "messages",
                        )


def split_conversation(
    messages: Sequence[SystemMessage | UserMessage | AssistantMessage | ToolMessage],
) -> tuple[str, list[Turn]]:
    """The question (the last message with the role 'user') and the history (the user
    and assistant turns before it; system prompts cannot steer citeqa)."""
    asked = [i for i, message in enumerate(messages) if isinstance(message, UserMessage)]
    if not asked:
        raise InvalidInput("the question is the last message with the role 'user': send one")
    last = asked[-1]
    history = []
    for message in messages[:last]:
        if isinstance(message, UserMessage | AssistantMessage):
            text = message.text().split(f"\n\n{SOURCES_HEADING}\n")[0].strip()
            if text:
                history.append(Turn(role=message.role, content=text[:16000]))
    return messages[last].text(), history[-MAX_HISTORY_TURNS:]


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


def _stream_error(code: str, message: str) -> dict[str, Any]:
    """A failure midway through a stream, in OpenAI's shape (its clients raise it): a
    server error, whatever its cause, since the 200 was sent already."""
    return openai_error_body(500, code, message)


def _usage(answer: Answer) -> dict[str, int]:
    prompt = count_tokens(answer.question)
    completion = count_tokens(answer.answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _model(engine: Engine) -> dict[str, Any]:
    return {
        "id": MODEL_ID,
        "object": "model",
        "created": _STARTED,
        "owned_by": f"citeqa {__version__}",
        # what it runs: extra fields, which OpenAI clients keep or ignore
        "components": engine.health.models(),
    }


@router.get("/models")
def list_models(engine: EngineDep) -> dict[str, Any]:
    """The one model citeqa serves (with the models it runs in `components`)."""
    return {"object": "list", "data": [_model(engine)]}


@router.get("/models/{model_id}", responses={404: {"model": OpenAIErrorBody}})
def retrieve_model(model_id: str, engine: EngineDep) -> dict[str, Any]:
    """The model, if it is the one citeqa serves; otherwise a 404 `model_not_found`."""
    if model_id != MODEL_ID:
        raise ModelNotFound(f"the model '{model_id[:100]}' does not exist; use '{MODEL_ID}'")
    return _model(engine)


@router.post(
    "/chat/completions",
    responses={
        200: {
            "description": 'A chat.completion object; with `"stream": true`, '
            "chat.completion.chunk objects as Server-Sent Events (`data: {...}`), ending with "
            "`data: [DONE]`.",
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "type": "object",
                        "properties": {"data": {"type": "string"}},
                        "required": ["data"],
                    }
                }
            },
        },
        400: {"model": OpenAIErrorBody},
        404: {"model": OpenAIErrorBody},
        503: {"model": OpenAIErrorBody},
        504: {"model": OpenAIErrorBody},
    },
)
async def chat_completions(body: ChatRequest, engine: EngineDep) -> Any:
    """OpenAI's chat completions, answered from the stored documents with citations
    (with every backend, the offline extractive one included). Errors, streamed requests'
    included, come before any stream as OpenAI-shaped JSON: 400 for an invalid or
    unsupported request, 404 for another model."""
    body.refuse_unsupported()
    question, history = split_conversation(body.messages)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        answer = await run_in_threadpool(
            engine.query.ask, question, body.top_k, body.filters, history
        )
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

    events = await run_in_threadpool(
        engine.query.ask_stream, question, body.top_k, body.filters, history
    )
    pump = EventPump(events)
    first = await pump.first()
    state = {"started": False, "sentences": 0}
    usage = body.stream_options is not None and body.stream_options.include_usage

    def frame(payload: dict[str, Any]) -> str:
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        if usage:
            payload["usage"] = None  # as OpenAI: null on every chunk but the last
        return frame(payload)

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
            if usage:
                frames.append(
                    frame(
                        {
                            "id": completion_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": MODEL_ID,
                            "choices": [],
                            "usage": _usage(event.answer),
                        }
                    )
                )
            frames.append("data: [DONE]\n\n")
        return frames

    frames = pump.frames(first, render, on_error="data: {data}\n\n", body=_stream_error)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
