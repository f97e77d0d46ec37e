"""What an operator sees of the API: the X-Request-ID of every request (kept when the
client sends a sane one, else made) on the response and in every log line, and the
Prometheus metrics at /metrics (citeqa.metrics)."""

from __future__ import annotations

import re
import time
import uuid

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.security import ReadAccess
from citeqa import logs, metrics

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

router = APIRouter()


@router.get("/metrics", include_in_schema=False, dependencies=[ReadAccess])
def prometheus_metrics() -> Response:
    """This process's metrics in Prometheus' text format (a read key when keys are set)."""
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE.fullmatch(text) else None
    return None


class RequestContext:
    """The outermost middleware: the request id (a context variable the log filter reads),
    then, when the response is over, its count and latency by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        token = logs.request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.http_requests.labels(route, scope.get("method", ""), str(status)).inc()
            metrics.http_seconds.labels(route).observe(time.perf_counter() - started)
            logs.request_id.reset(token)
