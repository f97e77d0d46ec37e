"""The answer threshold sweep shared by `citeqa calibrate`, `citeqa eval --calibrate`
and the answer model's training: every threshold 0.01 ... 0.99 scored, best first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

THRESHOLDS = tuple(t / 100 for t in range(1, 100))


def sweep(
    accuracy: Callable[[float], float], thresholds: Sequence[float] = THRESHOLDS
) -> list[tuple[float, float]]:
    """(accuracy, threshold) for every threshold, the most accurate first; ties go to
    the lower threshold (it abstains less)."""
    return sorted(((accuracy(t), t) for t in thresholds), key=lambda item: (-item[0], item[1]))
