"""Follow-up questions: what retrieval should look for when a question leans on the
conversation before it ("What about near Kyiv?")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import prompts
from citeqa.contract import Turn
from citeqa.text import key_words
from citeqa.tokens import count_tokens

if TYPE_CHECKING:
    from citeqa.components.llm import ChatLLM

HISTORY_TOKENS = 1500  # the most recent turns that fit this budget are shown to the LLM
MAX_CONDENSED_TOKENS = 120


def carry_over(question: str, history: Sequence[Turn]) -> str:
    """Offline: the question plus the key words of the previous user question that it
    does not already have, so retrieval keeps the conversation's subject."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    have = set(key_words(question))
    carried = [w for w in key_words(previous) if w not in have]
    return f"{question} {' '.join(carried)}" if carried else question


def _transcript(history: Sequence[Turn]) -> str:
    lines: list[str] = []
    used = 0
    for turn in reversed(history):
        line = f"{turn.role}: {' '.join(turn.content.split())}"
        cost = count_tokens(line)
        if used + cost > HISTORY_TOKENS:
            break
        lines.append(line)
        used += cost
    return "\n".join(reversed(lines))


def condense(llm: ChatLLM, question: str, history: Sequence[Turn]) -> str:
    """With an LLM: the follow-up rewritten as a standalone question. A reply that is
    empty falls back to the offline carry-over."""
    prompt = prompts.load("condense_question").render(
        history=_transcript(history), question=question
    )
    reply = llm.complete([{"role": "user", "content": prompt}], max_tokens=MAX_CONDENSED_TOKENS)
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    condensed = lines[0].strip("\"'") if lines else ""
    if not condensed or count_tokens(condensed) > MAX_CONDENSED_TOKENS:
        return carry_over(question, history)
    return condensed
