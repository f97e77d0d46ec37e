"""The eval-set format: one JSON object a line.

    {"id", "question", "answers": [str...], "evidence": [{"doc", "text"}], "answerable": bool}

optionally with "gold_docs": [doc ids]; other fields are kept but ignored. The same format
as the public sets in ../shared/evalsets/*/qa.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citeqa.errors import InvalidInput, describe_validation


class Evidence(BaseModel):
    doc: str = Field(description="Document id (a file name, with or without its extension).")
    text: str = Field(description="Verbatim passage of that document supporting the answer.")


class EvalRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    question: str = Field(min_length=1)
    answers: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    answerable: bool
    gold_docs: list[str] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EvalRecord:
        if self.answerable and not self.answers:
            raise ValueError("an answerable question needs at least one gold answer")
        return self

    def target_docs(self) -> list[str]:
        return self.gold_docs if self.gold_docs else [e.doc for e in self.evidence]


def load_set(path: Path) -> list[EvalRecord]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read eval set {path}") from exc
    records: list[EvalRecord] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw: Any = json.loads(line)
            record = EvalRecord.model_validate(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name} line {number}: not valid JSON") from exc
        except ValidationError as exc:
            where = describe_validation(exc.errors(), "record")
            raise InvalidInput(f"{path.name} line {number}: {where}") from exc
        if record.id in seen:
            raise InvalidInput(f"{path.name} line {number}: duplicate id {record.id!r}")
        seen.add(record.id)
        records.append(record)
    if not records:
        raise InvalidInput(f"{path.name} holds no eval records")
    return records


def same_doc(gold: str, doc_id: str) -> bool:
    """Eval sets name documents by file name with or without extension."""
    if gold == doc_id:
        return True
    stem = doc_id.rsplit(".", 1)[0] if "." in doc_id.rsplit("/", 1)[-1] else doc_id
    return gold == stem
