"""Train the answer model: `python -m evals.train` (`make train-answerer`); `--help`
says how. The training itself is the evals.training package."""

from __future__ import annotations

import sys

from evals.calibration import THRESHOLDS
from evals.training.augment import answer_removed, keep_near_miss, near_miss_sets, source_of
from evals.training.command import main
from evals.training.dumps import QuestionDump, SetDump, dump_set
from evals.training.fitting import answerability_model, units_model
from evals.training.heldout import choose_threshold
from evals.training.registry import GoldSet, gold_sets
from evals.training.replay import Outcome, Replay, replays, set_confidence
from evals.training.report import summary

__all__ = [
    "THRESHOLDS",
    "GoldSet",
    "Outcome",
    "QuestionDump",
    "Replay",
    "SetDump",
    "answer_removed",
    "answerability_model",
    "choose_threshold",
    "dump_set",
    "gold_sets",
    "keep_near_miss",
    "main",
    "near_miss_sets",
    "replays",
    "set_confidence",
    "source_of",
    "summary",
    "units_model",
]

if __name__ == "__main__":
    sys.exit(main())
