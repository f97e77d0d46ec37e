"""An optional LLM judge of answer correctness (`citeqa eval --judge`). The offline
metrics remain the CI gate; the judge adds a semantic check where string containment
is too strict (paraphrased answers) or too lenient."""

from __future__ import annotations

import re
from collections.abc import Sequence

import prompts
from citeqa.components.llm import ChatLLM

_JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"correct": {"type": "boolean"}},
    "required": ["correct"],
    "additionalProperties": False,
}
_VERDICT = re.compile(r'"correct"\s*:\s*(true|false)|^\s*(yes|no)\b', re.IGNORECASE)


class LLMJudge:
    def __init__(self, llm: ChatLLM) -> None:
        self._llm = llm
        self._template = prompts.load("judge_answer")

    def correct(self, question: str, gold: Sequence[str], answer: str) -> bool:
        """The judge's verdict; an unreadable reply counts as not correct."""
        prompt = self._template.render(
            question=question,
            gold="\n".join(f"- {g}" for g in gold) or "- (none given)",
            answer=answer,
        )
        reply = self._llm.complete(
            [{"role": "user", "content": prompt}], schema=_JUDGE_SCHEMA, max_tokens=20
        )
        found = _VERDICT.search(reply)
        if found is None:
            return False
        verdict = (found.group(1) or found.group(2)).lower()
        return verdict in ("true", "yes")
