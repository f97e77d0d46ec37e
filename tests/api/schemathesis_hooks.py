"""Loaded by schemathesis through the checkout's schemathesis.toml (`hooks`), whoever runs
it from the root: tests/api/test_schema_fuzz.py, or a user as the README says.

The one rule of a request that no JSON Schema keyword can state: a question's length in
cl100k tokens (CITEQA_MAX_QUESTION_TOKENS; the schema bounds its characters). Generated
bodies over it are left out; the refusal itself (422 question_too_long, 400 on the
OpenAI route) is tested in tests/api/test_query.py."""

from __future__ import annotations

from typing import Any

import schemathesis

from citeqa.settings import Settings
from citeqa.tokens import count_tokens

LIMIT = Settings().query.max_question_tokens


def question_of(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("question"), str):
        return body["question"]
    messages = body.get("messages")
    if isinstance(messages, list):
        asked = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        content = asked[-1].get("content") if asked else None
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return None


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    question = question_of(body)
    return question is None or count_tokens(question) <= LIMIT
