"""Prompt templates as data: Markdown files with declared variables.

Each file starts with a front-matter block naming its variables:

    ---
    variables: question, passages
    ---
    ... {{question}} ... {{passages}} ...

Loading checks that the placeholders and the declaration agree; rendering fails loudly
on a missing or an unexpected variable, so a template and its caller cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DIR = Path(__file__).parent
_FRONT = re.compile(r"\A---\nvariables:\s*(?P<vars>[^\n]*)\n---\n", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class PromptError(ValueError):
    """A template is malformed, or rendered with missing or unexpected variables."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    variables: frozenset[str]
    body: str

    def render(self, **values: str) -> str:
        missing = self.variables - values.keys()
        unexpected = values.keys() - self.variables
        if missing or unexpected:
            raise PromptError(
                f"prompt {self.name!r}: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
            )
        # One pass, so a value that itself contains "{{x}}" is never expanded.
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.body)


def load(name: str, directory: Path = _DIR) -> PromptTemplate:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise PromptError(f"invalid prompt name {name!r}")
    path = directory / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"no prompt named {name!r}") from exc
    front = _FRONT.match(text)
    if front is None:
        raise PromptError(f"prompt {name!r} does not declare its variables")
    declared = frozenset(v.strip() for v in front.group("vars").split(",") if v.strip())
    body = text[front.end() :]
    used = frozenset(_PLACEHOLDER.findall(body))
    if used != declared:
        raise PromptError(f"prompt {name!r}: declared {sorted(declared)} but uses {sorted(used)}")
    return PromptTemplate(name=name, variables=declared, body=body)
