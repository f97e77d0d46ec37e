from __future__ import annotations

from pathlib import Path

import pytest

import prompts
from prompts import PromptError


def test_answer_prompts_render_with_their_declared_variables() -> None:
    system = prompts.load("answer_system")
    assert system.variables == {"passages", "boundary"}
    rendered = system.render(passages="<<<passage 1 b0>>>\nThe ferry.\n<<<end b0>>>", boundary="b0")
    assert rendered.endswith("<<<passage 1 b0>>>\nThe ferry.\n<<<end b0>>>\n")
    assert '"<<<passage N b0>>>"' in rendered and "{{" not in rendered
    condense = prompts.load("condense_question")
    assert condense.variables == {"history", "question"}
    assert prompts.load("answer_user").render(question="When?") == "Question: When?\n"


def test_missing_or_unexpected_variables_fail_loudly() -> None:
    template = prompts.load("answer_user")
    with pytest.raises(PromptError, match="missing"):
        template.render()
    with pytest.raises(PromptError, match="unexpected"):
        template.render(question="q", extra="x")


def test_values_are_not_expanded_as_templates() -> None:
    rendered = prompts.load("answer_user").render(question="{{question}}")
    assert rendered == "Question: {{question}}\n"


def test_templates_must_declare_exactly_what_they_use(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\nvariables: a\n---\n{{a}} {{b}}\n")
    (tmp_path / "bare.md").write_text("no front matter {{a}}\n")
    with pytest.raises(PromptError, match="declared"):
        prompts.load("bad", tmp_path)
    with pytest.raises(PromptError, match="declare"):
        prompts.load("bare", tmp_path)
    with pytest.raises(PromptError, match="invalid"):
        prompts.load("../etc", tmp_path)
