"""The built-in chat page in a real headless Chromium (Debian's), driven by Playwright.

`make test` installs Debian's chromium when it is missing; set CITEQA_SKIP_BROWSER=1 to
skip these tests on a machine where it cannot be installed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import LiveServer
from tests.conftest import LLMServer
from tests.fixtures.openai_server import Step

pytestmark = pytest.mark.slow

BAN = (
    "Our policy regarding prohibiting the use of ATACMS systems or long-range strikes inside "
    "Russia has not changed"
)
KIEV = "Russia’s attacks in other areas – even near the capital, Kiev – cannot be responded to"


def ask(page: object, question: str) -> None:
    page.fill("#question", question)  # type: ignore[attr-defined]
    page.press("#question", "Enter")  # type: ignore[attr-defined]


def test_page_streams_the_answer_and_highlights_the_cited_quote(
    browser: object, live_llm: LiveServer, llm_server: LLMServer
) -> None:
    llm_server.state.push(
        Step(
            cite=[
                ("Long-range strikes inside Russia with ATACMS remain prohibited.", BAN),
                ("Attacks elsewhere, even near Kiev, cannot be answered with US weapons.", KIEV),
            ],
            chunk_size=24,
            chunk_delay=0.12,
        )
    )
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_llm.url)
    assert page.title() == "citeqa"
    ask(page, "What remains prohibited?")
    answer = page.locator("li.assistant").last
    # The first verified sentence shows while the model is still writing the second.
    page.wait_for_function(
        "() => { const li = [...document.querySelectorAll('li.assistant')].pop();"
        " return li && li.textContent.includes('ATACMS') && !li.dataset.done; }",
        timeout=30_000,
    )
    page.wait_for_selector("li.assistant[data-done='true']", timeout=30_000)
    text = answer.locator(".text").inner_text()
    assert "remain prohibited. [1]" in text and "US weapons. [2]" in text
    answer.locator("button.cite[data-n='1']").click()
    highlight = page.wait_for_selector("#highlight", timeout=10_000)
    assert highlight.inner_text() == BAN
    assert highlight.is_visible()
    shown = page.inner_text("#doc-text")
    stored = httpx.get(
        f"{live_llm.url}/v1/documents/us-allows-limited-strikes-in-russia.txt"
    ).json()
    assert shown.replace("\n", "") == stored["text"].replace("\n", "")
    answer.locator("button.cite[data-n='2']").click()
    page.wait_for_function(
        f"() => document.getElementById('highlight').textContent === {KIEV!r}", timeout=10_000
    )
    assert errors == []
    page.close()


def test_page_offline_answers_follow_ups_and_abstains_honestly(
    browser: object, live_offline: LiveServer
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(live_offline.url)
    page.wait_for_function("() => document.getElementById('backend').textContent !== ''")
    assert page.inner_text("#backend") == "answers: extractive"
    ask(page, "Who conveyed the decision to Ukraine?")
    page.wait_for_selector("li.assistant[data-done='true']", timeout=30_000)
    assert "General Cavoli" in page.locator("li.assistant").last.inner_text()
    ask(page, "Who is the mayor of Kharkiv?")
    page.wait_for_selector("li.assistant:nth-of-type(4)[data-done='true']", timeout=30_000)
    last = page.locator("li.assistant").last
    assert "do not answer" in last.inner_text()
    assert "abstained" in (last.get_attribute("class") or "")
    page.close()


def test_page_asks_for_an_api_key_when_the_server_needs_one(
    browser: object, data_dir: Path, minilm: object
) -> None:
    from citeqa.settings import Settings
    from tests.api.conftest import make_app

    settings = Settings(data_dir=data_dir, api_keys="page-key-123:admin")
    with LiveServer(make_app(settings, minilm)) as live:  # type: ignore[arg-type]
        httpx.post(
            f"{live.url}/v1/documents",
            json={"doc_id": "ferry.md", "text": "The ferry leaves at noon every day."},
            headers={"Authorization": "Bearer page-key-123"},
        ).raise_for_status()
        page = browser.new_page()  # type: ignore[attr-defined]
        prompts: list[str] = []

        def answer_dialog(dialog: object) -> None:
            prompts.append(dialog.message)  # type: ignore[attr-defined]
            dialog.accept("page-key-123")  # type: ignore[attr-defined]

        page.on("dialog", answer_dialog)
        page.goto(live.url)
        page.wait_for_function("() => document.getElementById('backend').textContent !== ''")
        ask(page, "When does the ferry leave?")
        page.wait_for_selector("li.assistant[data-done='true']", timeout=30_000)
        assert "noon" in page.locator("li.assistant").last.inner_text()
        assert prompts == ["This citeqa server needs an API key:"]  # asked once, then kept
        page.close()
