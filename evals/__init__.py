"""Gold-answer evaluation: the sets, the runner, the metrics and the report."""
