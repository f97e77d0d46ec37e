"""Access control and request limits.

- API keys with two scopes, `read` (ask, chat, list and show documents) and `admin`
  (also ingest and delete), sent as `Authorization: Bearer KEY`. Keys are compared in
  constant time against every configured key, and never logged: a key is named in logs
  only by a short hash.
- A per-key (or, without keys, per-client-address) token-bucket rate limit → 429.
- A bound on the heavy requests in flight (questions, chats, ingests) → 503 with
  Retry-After, so an overloaded process says so at once instead of queueing forever.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import Busy, Forbidden, RateLimited, Unauthorized, error_response, is_openai_path
from citeqa.errors import ConfigurationError
from citeqa.settings import Settings

Scope_ = Literal["read", "admin"]
_SCOPES = ("read", "admin")


@dataclass(frozen=True)
class Principal:
    name: str  # "key:<hash prefix>" or "client:<address>"; safe to log
    scope: Scope_


def parse_keys(text: str, where: str) -> list[tuple[bytes, Scope_]]:
    keys: list[tuple[bytes, Scope_]] = []
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0]
        for item in line.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, scope = item.rpartition(":")
            if not sep or not key or scope not in _SCOPES:
                raise ConfigurationError(
                    f"{where}: each entry must be KEY:read or KEY:admin (entry {len(keys) + 1})"
                )
            if len(key) < 8:
                raise ConfigurationError(f"{where}: keys must be at least 8 characters")
            keys.append((key.encode(), scope))  # type: ignore[arg-type]
    return keys


def load_keys(settings: Settings) -> list[tuple[bytes, Scope_]]:
    keys = []
    if settings.access.api_keys is not None:
        keys += parse_keys(settings.access.api_keys.get_secret_value(), "CITEQA_API_KEYS")
    if settings.access.api_keys_file is not None:
        try:
            text = settings.access.api_keys_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError("CITEQA_API_KEYS_FILE cannot be read") from exc
        keys += parse_keys(text, "CITEQA_API_KEYS_FILE")
    return keys


def key_name(key: bytes) -> str:
    return "key:" + hashlib.sha256(key).hexdigest()[:8]


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class Guard:
    """The configured keys and the rate limiter of one app."""

    keys: list[tuple[bytes, Scope_]]
    per_minute: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        return cls(load_keys(settings), settings.access.rate_limit_per_minute)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def authenticate(self, token: str | None, client: str) -> Principal:
        if not self.keys:
            return Principal(f"client:{client}", "admin")
        if not token:
            raise Unauthorized("an API key is required: send 'Authorization: Bearer KEY'")
        given = token.encode()
        found: Scope_ | None = None
        name = ""
        for key, scope in self.keys:  # every key is compared, match or not
            if hmac.compare_digest(given, key) and found is None:
                found, name = scope, key_name(key)
        if found is None:
            raise Unauthorized("the API key is not valid")
        return Principal(name, found)

    def take(self, principal: Principal) -> None:
        """One request from this principal's bucket, or RateLimited."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(principal.name)
            if bucket is None:
                bucket = self._buckets[principal.name] = _Bucket(float(self.per_minute), now)
            bucket.tokens = min(self.per_minute, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / rate
        raise RateLimited("too many requests for this key; slow down", retry_after=wait)


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from CITEQA_API_KEYS, scope 'read' or 'admin'.",
)


def _principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None, needed: Scope_
) -> Principal:
    guard: Guard = request.app.state.guard
    client = request.client.host if request.client else "unknown"
    principal = guard.authenticate(credentials.credentials if credentials else None, client)
    if needed == "admin" and principal.scope != "admin":
        raise Forbidden("this API key may only read; this route needs an admin key")
    guard.take(principal)
    request.state.principal = principal
    return principal


def require_read(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return _principal(request, credentials, "read")


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return _principal(request, credentials, "admin")


ReadAccess = Depends(require_read)
AdminAccess = Depends(require_admin)


class ConcurrencyLimit:
    """ASGI middleware: at most `limit` heavy requests in flight (the whole response,
    streams included); one more is answered 503 at once."""

    def __init__(self, app: ASGIApp, limit: int, paths: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths
        self.in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        heavy = (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path", "") in self.paths
        )
        if not heavy:
            await self.app(scope, receive, send)
            return
        with self._lock:
            admitted = self.in_flight < self.limit
            if admitted:
                self.in_flight += 1
        if not admitted:

            response = error_response(
                503,
                Busy.code,
                "the server is busy; try again shortly",
                retry_after=1,
                openai=is_openai_path(scope.get("path", "")),
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
