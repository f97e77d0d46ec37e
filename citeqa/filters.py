"""Retrieval filters, applied identically to dense (Chroma `where`) and BM25 (a mask)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from citeqa.dates import date_as_int, exact_iso_date

DocId = Annotated[str, Field(min_length=1, max_length=512)]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: DocId | Annotated[list[DocId], Field(min_length=1, max_length=1000)] | None = Field(
        None, description="Only these documents (one id or a list).", examples=["report.md"]
    )
    source: str | None = Field(None, description="Only chunks from this source path or URL.")
    # format "date" (RFC 3339's full-date, YYYY-MM-DD) is what the validator accepts
    date_from: str | None = Field(
        None,
        description="Only documents dated on or after this ISO date.",
        examples=["2024-01-01"],
        json_schema_extra={"format": "date"},
    )
    date_to: str | None = Field(
        None,
        description="Only documents dated on or before this ISO date (before date_from: "
        "a range no document is in).",
        examples=["2024-12-31"],
        json_schema_extra={"format": "date"},
    )

    @field_validator("date_from", "date_to")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        return exact_iso_date(value, "dates must be ISO dates such as 2024-05-30")

    def doc_ids(self) -> list[str] | None:
        if self.doc_id is None:
            return None
        return [self.doc_id] if isinstance(self.doc_id, str) else list(self.doc_id)

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        ids = self.doc_ids()
        if ids is not None:
            clauses.append({"doc_id": {"$in": ids}})
        if self.source:
            clauses.append({"source": self.source})
        if self.date_from:
            clauses.append({"date_int": {"$gte": date_as_int(self.date_from)}})
        if self.date_to:
            clauses.append({"date_int": {"$lte": date_as_int(self.date_to)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def is_empty(self) -> bool:
        return self.chroma_where() is None
