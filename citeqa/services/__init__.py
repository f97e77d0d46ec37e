"""The engine's services, each built from one `citeqa.components.container.Components`:

- query.py: `QueryService`, questions in, cited answers out (and suggested questions);
- backend.py: the answer backends behind one Protocol, the extractive one and
  generated.py's LLM one, chosen by `make_backend`;
- health.py: `HealthService`, readiness, the store's format, warming up.

The document service, which owns the ingest pipeline, lives on the write side
(`ingest/service.py`). The package imports none of its modules.
"""
