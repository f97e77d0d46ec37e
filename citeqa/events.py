"""What an answer stream yields: verified text as it is released, the citations, then
the whole answer. Both backends yield these, and the API streams them."""

from __future__ import annotations

from dataclasses import dataclass

from citeqa.contract import Answer, Citation


@dataclass
class Delta:
    """More answer text: one verified sentence and its markers."""

    text: str


@dataclass
class Pending:
    """The model is still writing: no text yet. Lets a consumer look up between LLM
    chunks (to stop when its client is gone) without waiting for a whole sentence."""


@dataclass
class CitationsReady:
    citations: list[Citation]


@dataclass
class Done:
    answer: Answer


Event = Delta | Pending | CitationsReady | Done
