"""Prometheus metrics of this process (served at /metrics by the API). They live in a
registry of their own, not the client library's global one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

http_requests = Counter(
    "citeqa_http_requests",
    "HTTP requests by route (the path template), method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
http_seconds = Histogram(
    "citeqa_http_request_seconds",
    "HTTP request latency by route, until the response (or its stream) ends.",
    ["route"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
answers = Counter(
    "citeqa_answers",
    "Answers given, by backend and whether they abstained.",
    ["backend", "abstained"],
    registry=REGISTRY,
)
retrieve_seconds = Histogram(
    "citeqa_retrieve_seconds", "Retrieval time per answer.", buckets=_SECONDS, registry=REGISTRY
)
answer_seconds = Histogram(
    "citeqa_answer_seconds",
    "Answer composition time per answer (after retrieval: scoring or generation).",
    buckets=_SECONDS,
    registry=REGISTRY,
)
ingest_documents = Counter(
    "citeqa_ingest_documents",
    "Documents through ingest, by outcome (added, updated, unchanged, failed, ...).",
    ["status"],
    registry=REGISTRY,
)
ingest_chunks = Counter("citeqa_ingest_chunks", "Chunks written by ingest.", registry=REGISTRY)
llm_requests = Counter(
    "citeqa_llm_requests",
    "Requests to the LLM server by outcome: ok, retried (a failed attempt that was retried) "
    "or failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)
store_errors = Counter(
    "citeqa_store_errors",
    "Failed calls to the Chroma store, by call.",
    ["call"],
    registry=REGISTRY,
)
