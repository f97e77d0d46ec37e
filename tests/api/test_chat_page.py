"""The built-in chat page in a real headless Chromium (Debian's), driven by Playwright.

`make test` installs Debian's chromium when it is missing; set CITEQA_SKIP_BROWSER=1 to
skip these tests on a machine where it cannot be installed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import LiveServer, ask
from tests.conftest import LLMServer
from tests.fixtures.openai_server import Step

pytestmark = pytest.mark.slow

BAN = (
    "Our policy regarding prohibiting the use of ATACMS systems or long-range strikes inside "
    "Russia has not changed"
)
KIEV = "Russia’s attacks in other areas – even near the capital, Kiev – cannot be responded to"


def serving(data_dir: Path, minilm: object, api_keys: str | None = None) -> LiveServer:
    """A live server over a fresh store, with these API keys."""
    from citeqa.settings import Settings
    from tests.api.conftest import make_app

    settings = Settings(data_dir=data_dir, api_keys=api_keys)
    return LiveServer(make_app(settings, minilm))  # type: ignore[arg-type]


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
    assert highlight.text_content() == BAN
    assert highlight.is_visible()
    # the viewer holds the stored text verbatim (reflowed by CSS only)
    shown = page.eval_on_selector("#doc-text", "e => e.textContent")
    stored = httpx.get(
        f"{live_llm.url}/v1/documents/us-allows-limited-strikes-in-russia.txt"
    ).json()
    assert shown == stored["text"]
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
    # a follow-up that leans on the conversation: the page says what was searched
    ask(page, "And when?")
    page.wait_for_selector("li.assistant:nth-of-type(4)[data-done='true']", timeout=30_000)
    searched = page.locator("li.assistant").last.locator(".searched")
    assert searched.count() == 1 and "And when?" in searched.inner_text()
    assert "conveyed" in searched.inner_text().lower()
    ask(page, "Who is the mayor of Kharkiv?")
    page.wait_for_selector("li.assistant:nth-of-type(6)[data-done='true']", timeout=30_000)
    last = page.locator("li.assistant").last
    assert "do not answer" in last.inner_text()
    assert "abstained" in (last.get_attribute("class") or "")
    page.close()


def test_page_asks_for_an_api_key_when_the_server_needs_one(
    browser: object, data_dir: Path, minilm: object
) -> None:
    with serving(data_dir, minilm, "page-key-123:admin") as live:
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


def test_page_says_which_documents_a_question_named_by_version(
    browser: object, data_dir: Path, minilm: object
) -> None:
    guide = "Refunds of the widget are accepted within {} days of purchase."
    with serving(data_dir, minilm) as live:
        for v, days in ((1, 14), (2, 30)):
            httpx.post(
                f"{live.url}/v1/documents",
                json={
                    "doc_id": f"widget-guide-{v}.txt",
                    "text": f"Widget guide, version {v}\n\n" + guide.format(days),
                },
            ).raise_for_status()
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(live.url)
        page.wait_for_function("() => document.getElementById('backend').textContent !== ''")
        ask(page, "Under the widget guide version 1, within how many days are refunds accepted?")
        page.wait_for_selector("li.assistant[data-done='true']", timeout=30_000)
        last = page.locator("li.assistant").last
        assert "14 days" in last.inner_text()
        assert last.locator(".scoped").inner_text() == "Searched only: widget-guide-1.txt"
        ask(page, "Within how many days are refunds of the widget accepted?")
        page.wait_for_selector("li.assistant:nth-of-type(4)[data-done='true']", timeout=30_000)
        assert page.locator("li.assistant").last.locator(".scoped").count() == 0
        page.close()


MUSEUM = (
    "The Tidewater Museum opens at nine on weekdays. It is closed on Mondays, and the "
    "whaling gallery reopened in March after its roof was repaired."
)


def wait_for_status(page: object, text: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "t => document.getElementById('upload-status').textContent.includes(t)",
        arg=text,
        timeout=60_000,
    )


def listed(page: object) -> list[str]:
    return page.locator("#doc-list li.doc").evaluate_all(  # type: ignore[attr-defined]
        "items => items.map(i => i.dataset.docId)"
    )


def test_page_adds_lists_asks_opens_and_deletes_documents(
    browser: object, data_dir: Path, minilm: object
) -> None:
    with serving(data_dir, minilm) as live:
        page = browser.new_page()  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs: list[str] = []

        def accept(dialog: object) -> None:
            dialogs.append(dialog.message)  # type: ignore[attr-defined]
            dialog.accept()  # type: ignore[attr-defined]

        page.on("dialog", accept)
        page.goto(live.url)
        page.wait_for_selector("#suggestions p")
        assert "No documents yet" in page.inner_text("#suggestions")
        assert page.inner_text("#doc-count") == "0"

        # the file picker, with the upload's report
        page.set_input_files(
            "#file-input",
            files=[{"name": "museum.txt", "mimeType": "text/plain", "buffer": MUSEUM.encode()}],
        )
        wait_for_status(page, "1 added")
        page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 1")
        assert listed(page) == ["museum.txt"]
        assert "characters" in page.inner_text("#doc-list") and "1 chunk" in page.inner_text(
            "#doc-list"
        )
        # drag and drop: a file dropped on the zone
        page.evaluate(
            """() => {
              const data = new DataTransfer();
              data.items.add(new File(["The night ferry to Marrow leaves at ten."], "ferry.md",
                                      {type: "text/markdown"}));
              const zone = document.getElementById('dropzone');
              zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true,
                                                        cancelable: true}));
            }"""
        )
        page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 2")
        assert sorted(listed(page)) == ["ferry.md", "museum.txt"]
        # search
        page.fill("#doc-search", "ferry")
        page.wait_for_function("() => document.getElementById('doc-count').textContent == '1 of 2'")
        assert listed(page) == ["ferry.md"]
        page.fill("#doc-search", "")
        # example questions drawn from the stored documents, on an empty conversation
        page.click("#new")
        page.wait_for_selector("button.suggestion")
        asked = page.locator("button.suggestion").all_inner_texts()
        assert asked and all(q.endswith("?") and len(q) < 60 for q in asked)

        ask(page, "On which day is the museum closed?")
        page.wait_for_selector("li.assistant[data-done='true']", timeout=30_000)
        answer = page.locator("li.assistant").last
        assert "Mondays" in answer.inner_text()
        assert page.locator("#suggestions").is_hidden()
        answer.locator("button.cite").first.click()
        page.wait_for_selector("#highlight")
        assert "closed on Mondays" in page.inner_text("#highlight")
        assert page.inner_text("#doc-title") == "Museum"  # the title made from the file name
        # a document opened from the list shows its whole text
        page.locator("#doc-list li.doc", has_text="ferry").locator("button.doc-open").click()
        page.wait_for_function(
            "() => document.getElementById('doc-text').textContent.includes('leaves at ten')"
        )

        page.locator("#doc-list li[data-doc-id='museum.txt'] button.doc-delete").click()
        wait_for_status(page, "Deleted museum.txt")
        page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 1")
        assert listed(page) == ["ferry.md"]
        assert httpx.get(f"{live.url}/v1/documents/museum.txt").status_code == 404
        assert any(d.startswith("Delete \u201c") for d in dialogs)
        assert errors == []
        page.close()


def test_page_asks_for_an_admin_key_to_add_and_delete(
    browser: object, data_dir: Path, minilm: object
) -> None:
    with serving(data_dir, minilm, "reader-key-1:read,admin-key-22:admin") as live:
        page = browser.new_page()  # type: ignore[attr-defined]
        prompts: list[str] = []
        keys = iter(["reader-key-1", "admin-key-22"])

        def answer_dialog(dialog: object) -> None:
            prompts.append(dialog.message)  # type: ignore[attr-defined]
            if dialog.type == "confirm":  # type: ignore[attr-defined]
                dialog.accept()  # type: ignore[attr-defined]
            else:
                dialog.accept(next(keys))  # type: ignore[attr-defined]

        page.on("dialog", answer_dialog)
        page.goto(live.url)
        page.wait_for_selector("#suggestions p")
        assert prompts == ["This citeqa server needs an API key:"]  # the read key, once
        page.set_input_files(
            "#file-input",
            files=[{"name": "museum.txt", "mimeType": "text/plain", "buffer": MUSEUM.encode()}],
        )
        wait_for_status(page, "1 added")  # after a 403, with the admin key asked for
        assert prompts[1] == "This needs an admin API key:"
        page.locator("#doc-list li[data-doc-id='museum.txt'] button.doc-delete").click()
        wait_for_status(page, "Deleted museum.txt")
        assert len(prompts) == 3 and prompts[2].startswith("Delete")
        page.close()


ERROR_RED = "rgb(161, 38, 34)"


def outcomes(page: object) -> list[tuple[str, str, str]]:
    """Each line of the upload's results: doc_id, status, and its class."""
    return page.locator("#upload-results li").evaluate_all(  # type: ignore[attr-defined]
        "items => items.map(i => [i.dataset.docId, i.dataset.status, i.className])"
    )


def test_page_shows_each_files_outcome_with_errors_styled_as_errors(
    browser: object, data_dir: Path, minilm: object
) -> None:
    import io
    import random
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as made:
        made.writestr("guide/ferry.md", "# Ferry\n\nThe night ferry to Marrow leaves at ten.")
        made.writestr("logo.png", b"\x89PNG")
    noise = random.Random(5).randbytes(200_000)
    with serving(data_dir, minilm) as live:
        page = browser.new_page()  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live.url)
        page.wait_for_selector("#suggestions p")
        page.set_input_files(
            "#file-input",
            files=[
                {"name": "museum.txt", "mimeType": "text/plain", "buffer": MUSEUM.encode()},
                {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
                {"name": "noise.txt", "mimeType": "text/plain", "buffer": noise},
                {"name": "docs.zip", "mimeType": "application/zip", "buffer": archive.getvalue()},
            ],
        )
        wait_for_status(page, "2 added")
        assert "3 not added" in page.inner_text("#upload-status")
        assert outcomes(page) == [
            ["museum.txt", "added", "stored"],
            ["tool.exe", "unsupported", "error"],
            ["noise.txt", "unsupported", "error"],
            ["docs.zip/guide/ferry.md", "added", "stored"],
            ["docs.zip/logo.png", "unsupported", "error"],
        ]
        refused = page.locator("#upload-results li[data-doc-id='noise.txt']")
        assert "not supported" in refused.inner_text() and "not text" in refused.inner_text()
        assert refused.evaluate("e => getComputedStyle(e).color") == ERROR_RED
        stored = page.locator("#upload-results li[data-doc-id='museum.txt']")
        assert stored.evaluate("e => getComputedStyle(e).color") != ERROR_RED
        page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 2")
        assert sorted(listed(page)) == ["docs.zip/guide/ferry.md", "museum.txt"]

        # an upload of which nothing is stored: the error, styled as one, and each file
        page.set_input_files(
            "#file-input",
            files=[
                {"name": "a.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
                {"name": "b.bin", "mimeType": "application/octet-stream", "buffer": b"\x00"},
            ],
        )
        wait_for_status(page, "No file was added")
        status = page.locator("#upload-status")
        assert status.evaluate("e => getComputedStyle(e).color") == ERROR_RED
        assert [line[:2] for line in outcomes(page)] == [
            ["a.exe", "unsupported"],
            ["b.bin", "unsupported"],
        ]
        assert errors == []
        page.close()
