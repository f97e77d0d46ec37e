"""Follow-up questions: what retrieval should look for when a question leans on the
conversation before it ("What about near Kyiv?")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import prompts
from citeqa.contract import Turn
from citeqa.text import key_words, words
from citeqa.tokens import count_tokens

if TYPE_CHECKING:
    from citeqa.components.llm import ChatLLM

HISTORY_TOKENS = 1500  # the most recent turns that fit this budget are shown to the LLM
MAX_CONDENSED_TOKENS = 120


# Words by which a question points back at the conversation ("what about ...", "it").
_REFERRING = frozenset(
    "it its they them their theirs this that these those he him his she her there then".split()
)
_LEANING_START = ("what about", "how about", "and ", "also ", "what else", "why not")


def leans_on_history(question: str) -> bool:
    """Whether a question needs the conversation: it starts like a follow-up ("What
    about near Kyiv?"), refers back ("Why did they do it?"), or names at most one thing.
    A question that stands on its own ("Who is the mayor of Kharkiv?") does not."""
    lowered = " ".join(question.lower().split())
    if lowered.startswith(_LEANING_START):
        return True
    if any(word in _REFERRING for word in words(lowered)):
        return True
    return len(key_words(question)) <= 1


def carry_over(question: str, history: Sequence[Turn]) -> str:
    """Offline: a question that leans on the conversation, plus the key words of the
    previous user question that it does not already have, so retrieval keeps the
    conversation's subject; a question that stands on its own, unchanged."""
    if not leans_on_history(question):
        return question
    return with_subject(question, history)


def with_subject(question: str, history: Sequence[Turn]) -> str:
    """The question with the key words of the previous user question that it does not
    already have (the conversation's subject): the other reading of a follow-up."""
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
