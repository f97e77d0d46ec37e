"""The OpenAPI document as this app runs: what FastAPI derives from the routes, then what
it cannot see, read from the routes' dependencies and the app's settings.

- Security is declared only when API keys are configured; without keys no operation asks
  for one (a generated client then needs no token, and a fuzzer expects none).
- Every error a route can answer is declared with the body it has: 401 and 403 where a
  key and its scope are checked, 429 where the rate limit applies, 503 where the store
  (or the bound on heavy requests) can refuse, 422 (400 on the OpenAI-compatible routes)
  where anything of the request is validated; the routes declare their own others.
- Links say which response feeds which request (an upload's document and job, the listed
  model), for stateful testing and generated SDKs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.deps import get_engine
from api.errors import is_openai_path
from api.security import Guard, require_admin, require_read
from citeqa.settings import Settings

_REASONS = {
    400: "Invalid or unsupported request",
    401: "No API key, or one that is not valid",
    403: "The API key's scope does not allow this route",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported type",
    422: "Invalid request",
    429: "Rate limited (see Retry-After)",
    503: "Unavailable: the store is down, the server is busy or stopping (see Retry-After)",
    504: "The language model did not answer in time",
}

# FastAPI's own validation-error models: never sent (api/errors.py answers in the
# project's shapes), so they leave the document.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")

# link name, (route path, method, status) -> (operation path, method), parameter, value
_LINKS: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    (
        "GetDocument",
        "/v1/documents",
        "post",
        "200",
        "/v1/documents/{doc_id}",
        "get",
        "doc_id",
        "$response.body#/documents/0/doc_id",
    ),
    (
        "DeleteDocument",
        "/v1/documents",
        "post",
        "200",
        "/v1/documents/{doc_id}",
        "delete",
        "doc_id",
        "$response.body#/documents/0/doc_id",
    ),
    (
        "GetIngestJob",
        "/v1/documents",
        "post",
        "202",
        "/v1/ingest-jobs/{job_id}",
        "get",
        "job_id",
        "$response.body#/job_id",
    ),
    (
        "GetModel",
        "/v1/models",
        "get",
        "200",
        "/v1/models/{model_id}",
        "get",
        "model_id",
        "$response.body#/data/0/id",
    ),
)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _validates(dependant: Dependant) -> bool:
    """Whether anything of the request is parsed and so can be refused as invalid."""
    if dependant.body_params or dependant.query_params or dependant.header_params:
        return True
    return any(_validates(sub) for sub in dependant.dependencies)


def _error(status: int, openai: bool) -> dict[str, Any]:
    body = "OpenAIErrorBody" if openai else "ErrorBody"
    return {
        "description": _REASONS[status],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
    }


def _statuses(
    route: RouteContext, guard: Guard, settings: Settings, heavy: tuple[str, ...]
) -> set[int]:
    calls = set(_calls(route.dependant))
    keyed = bool(calls & {require_read, require_admin})
    found: set[int] = set()
    if route.openapi_extra and "requestBody" in route.openapi_extra:
        found.add(422)  # a body the route parses by hand
    if _validates(route.dependant):
        found.add(422)
    if keyed and guard.enabled:
        found.add(401)
        if require_admin in calls:
            found.add(403)
    if keyed and settings.access.rate_limit_per_minute > 0:
        found.add(429)
    if get_engine in calls or route.path_format in heavy and "POST" in (route.methods or ()):
        found.add(503)
    if is_openai_path(route.path_format or "") and 422 in found:
        found.discard(422)
        found.add(400)  # OpenAI's clients expect a 400 for an invalid request
    return found


def _narrow_top_k(schemas: dict[str, Any], settings: Settings) -> None:
    """top_k's largest value is the configured CITEQA_MAX_TOP_K, not the models' bound."""
    for name in ("QueryRequest", "ChatRequest"):
        prop = schemas.get(name, {}).get("properties", {}).get("top_k")
        for option in (prop or {}).get("anyOf", [prop] if prop else []):
            if option.get("type") == "integer":
                option["maximum"] = settings.query.max_top_k


def complete(
    app: FastAPI, spec: dict[str, Any], settings: Settings, guard: Guard, heavy: tuple[str, ...]
) -> dict[str, Any]:
    """The document FastAPI made, made true to how this app answers (changed in place)."""
    paths: dict[str, dict[str, Any]] = spec.get("paths", {})
    # each route as included (its prefix and the router's dependencies applied)
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        assert route.path_format is not None and route.methods is not None
        openai = is_openai_path(route.path_format)
        for method in route.methods:
            path = route.path_format
            operation = paths.get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if openai:
                responses.pop("422", None)
            for status in _statuses(route, guard, settings, heavy):
                responses.setdefault(str(status), _error(status, openai))
            for status, response in responses.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] in _FASTAPI_ERRORS:
                    response.update(_error(int(status), openai))
            if not guard.enabled:
                operation.pop("security", None)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    if not guard.enabled:
        spec["components"].pop("securitySchemes", None)
    _narrow_top_k(schemas, settings)
    _add_links(paths)
    return spec


def _add_links(paths: dict[str, dict[str, Any]]) -> None:
    for name, source, method, status, target, target_method, param, expression in _LINKS:
        response = paths.get(source, {}).get(method, {}).get("responses", {}).get(status)
        target_op = paths.get(target, {}).get(target_method)
        if response is None or target_op is None:
            continue
        response.setdefault("links", {})[name] = {
            "operationId": target_op["operationId"],
            "parameters": {param: expression},
        }
