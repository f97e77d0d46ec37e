"""The REST API: thin FastAPI routes over the citeqa engine."""
