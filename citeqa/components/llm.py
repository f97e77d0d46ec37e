"""The chat LLM, through the official `openai` client: OpenAI or any OpenAI-compatible
server (vLLM, llama.cpp server, Ollama, LM Studio).

This is the one retry layer: the client's own retries are off (`max_retries=0`), and
`_attempts` retries 429, 5xx, timeouts and dropped connections with capped exponential
backoff, honouring Retry-After. Upstream error text and keys never leave this module:
errors become `LLMUnavailable` / `LLMTimeout` with our own messages, and the log says only
the status code or the failure's kind.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletionChunk

from citeqa import metrics
from citeqa.errors import LLMTimeout, LLMUnavailable
from citeqa.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
BACKOFF_BASE = 0.5  # seconds before the first retry when the server names no Retry-After
_RETRYABLE_STATUS = frozenset({408, 409, 429})


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms, in seconds."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Failure(Exception):
    """One failed attempt, classified: retryable or not, and how long the server asked
    us to wait."""

    def __init__(self, kind: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


class _SchemaRejected(Exception):
    """The server refused the structured-output request (400): ask again without it."""


def _is_http_transport(exc: Exception) -> bool:
    """An httpx (or httpx2, which newer `openai` releases use) error raised while reading
    a stream, where the client does not wrap it."""
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2")


def _classify(exc: Exception, structured: bool) -> Exception:
    timeout = isinstance(exc, openai.APITimeoutError)
    if timeout or (_is_http_transport(exc) and "Timeout" in type(exc).__name__):
        return _Failure("timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError) or _is_http_transport(exc):
        return _Failure("connection error", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 400 and structured:
            return _SchemaRejected()
        retryable = status >= 500 or status in _RETRYABLE_STATUS
        return _Failure(f"status {status}", retryable, retry_after_seconds(exc.response.headers))
    if isinstance(exc, openai.APIError):  # e.g. a malformed stream
        return _Failure("protocol error", retryable=True)
    raise exc


def _final_error(failure: _Failure) -> LLMUnavailable:
    if failure.kind == "timeout":
        return LLMTimeout("the language model did not answer in time")
    status = failure.kind.removeprefix("status ")
    if status in ("401", "403"):
        return LLMUnavailable("the language model refused the configured API key")
    if status == "404":
        return LLMUnavailable("the configured language model or endpoint does not exist")
    if status == "400":
        return LLMUnavailable("the language model rejected the request")
    return LLMUnavailable("the language model is unavailable", retry_after=failure.retry_after)


class ChatLLM:
    """Chat completions with bounded retries; `complete` returns the text, `stream`
    yields text deltas and closes the upstream response when its consumer stops."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
        self.model = settings.llm.model
        self.name = f"llm:{settings.llm.model}"
        self._settings = settings
        self._sleep = sleep
        self._client = openai.OpenAI(
            base_url=settings.llm.base_url,
            # Local servers need no key, but the client insists on one.
            api_key=key or "not-needed",
            timeout=settings.llm.timeout,
            max_retries=0,
        )
        self._format = settings.llm.response_format
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    # -- requests -------------------------------------------------------------------------
    def _params(self, schema: dict[str, Any] | None, max_tokens: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "temperature": self._settings.llm.temperature,
            "max_tokens": max_tokens or self._settings.llm.max_output_tokens,
        }
        if schema is not None and self._format == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "cited_answer", "schema": schema, "strict": True},
            }
        elif schema is not None and self._format == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def _structured(self, schema: dict[str, Any] | None) -> bool:
        return schema is not None and self._format != "none"

    def _downgrade(self) -> None:
        with self._lock:
            if self._format != "none":
                log.warning("the LLM server refused structured output; asking in plain text")
                self._format = "none"

    def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> str:
        def once() -> str:
            response = self._client.chat.completions.create(
                messages=messages,  # type: ignore[arg-type]
                **self._params(schema, max_tokens),
            )
            if not response.choices:
                return ""
            return response.choices[0].message.content or ""

        return self._attempts(once, schema)

    def stream(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Text deltas. A failure before the first delta is retried like `complete`; one
        after it ends the stream with LLMUnavailable (the caller has already shown text)."""
        yielded = False
        failures = 0
        while True:
            opened = self._attempts(
                lambda: self._open_stream(messages, schema, max_tokens),
                schema,
                already_failed=failures,
            )
            try:
                for chunk in opened:
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta.content
                    if delta:
                        yielded = True
                        yield delta
                return
            except Exception as exc:  # noqa: BLE001 - classified, re-raised as ours
                failure = _classify(exc, structured=False)
                assert isinstance(failure, _Failure)
                failures += 1
                log.warning("LLM stream broke (%s, after %d failures)", failure.kind, failures)
                if yielded or not failure.retryable or failures > self._settings.llm.max_retries:
                    metrics.llm_requests.labels("failed").inc()
                    raise _final_error(failure) from None
                metrics.llm_requests.labels("retried").inc()
                self._wait(failure, failures)
            finally:
                # Closing the response tells the server to stop generating: this is how a
                # client that went away cancels the upstream request.
                opened.close()

    def _open_stream(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, max_tokens: int | None
    ) -> openai.Stream[ChatCompletionChunk]:
        opened = self._client.chat.completions.create(
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            **self._params(schema, max_tokens),
        )
        assert isinstance(opened, openai.Stream)
        return opened

    # -- the retry layer ------------------------------------------------------------------
    def _attempts(
        self, call: Callable[[], T], schema: dict[str, Any] | None, already_failed: int = 0
    ) -> T:
        failures = already_failed
        schema_retried = False
        while True:
            try:
                result = call()
                metrics.llm_requests.labels("ok").inc()
                return result
            except Exception as exc:  # noqa: BLE001 - classified, re-raised as ours
                failure = _classify(exc, self._structured(schema))
            if isinstance(failure, _SchemaRejected):
                if schema_retried or self._format == "none":
                    raise _final_error(_Failure("status 400", retryable=False))
                schema_retried = True
                self._downgrade()
                continue
            assert isinstance(failure, _Failure)
            failures += 1
            total = self._settings.llm.max_retries + 1
            log.warning("LLM request failed (%s, attempt %d of %d)", failure.kind, failures, total)
            if not failure.retryable or failures >= total:
                metrics.llm_requests.labels("failed").inc()
                raise _final_error(failure) from None
            metrics.llm_requests.labels("retried").inc()
            self._wait(failure, failures)

    def _wait(self, failure: _Failure, failures: int) -> None:
        cap = self._settings.llm.retry_max_wait
        if failure.retry_after is not None:
            if failure.retry_after > cap:
                # The server asks for longer than we may wait: give up now, and pass its
                # Retry-After on to our client.
                raise _final_error(failure) from None
            delay = failure.retry_after
        else:
            delay = min(cap, BACKOFF_BASE * 2 ** (failures - 1)) * random.uniform(0.8, 1.2)
        self._sleep(delay)
