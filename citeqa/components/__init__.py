"""Swappable parts of the engine: embedder and store (one real implementation each per backend)."""
