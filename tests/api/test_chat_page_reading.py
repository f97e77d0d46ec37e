"""The chat page follows the conversation (issue 21 item 3), in Debian's Chromium driven by
Playwright: a long answer streamed by a real `citeqa serve` stays in view unless the reader
scrolls up; a hard-wrapped document is shown reflowed with the cited quote highlighted at
its verbatim offsets; documents open at their top from the list; uploads report bytes sent
and then the server's ingest job file by file; errors look like errors; the icon; the
document list's order. The tests write the README's screenshots (docs/screenshots/)."""

from __future__ import annotations

import os
import re
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import LiveServer, ask, log_document, make_app, start_serve
from tests.conftest import REPO, LLMServer, free_port
from tests.fixtures.openai_server import Step

pytestmark = pytest.mark.slow

SCREENSHOTS = REPO / "docs" / "screenshots"

# A harbour's notice, hard-wrapped at 66 columns as plain-text files often are, with a
# list and a pre-formatted timetable that must keep their lines.
PARAGRAPHS = [
    "The Saltmarsh ferry crosses the estuary from the north quay to Gull Island every "
    "forty minutes between six in the morning and eleven at night. Tickets are sold on "
    "board and at the kiosk beside the harbour master's office, which opens at half "
    "past five. Bicycles travel free on the lower deck, but cargo bikes and trailers "
    "need a vehicle ticket because they take the space of a small car.",
    "During the spring tides the crossing takes longer, because the skipper has to steer "
    "around the sandbanks that surface near the channel markers east of the island. On "
    "those days the timetable below is replaced by the tide table posted at the quay, "
    "and the last sailing leaves Gull Island at ten instead of eleven.",
    "Dogs are welcome on the open deck when they are kept on a lead. The cafe on the "
    "upper deck serves soup, tea and the island's smoked mackerel rolls, and it closes "
    "fifteen minutes before the ferry docks so that the crew can secure the galley.",
    "Passengers who need help boarding should tell the deckhand at the gangway; the "
    "ramp can be lowered to the level of the quay at every state of the tide except the "
    "very lowest, when the steps on the inner pontoon have to be used instead.",
]
LIST = "- Lifejackets are stowed under every bench.\n- The muster point is the stern rail."
TIMETABLE = "    Departs    Arrives\n    06:00      06:25\n    06:40      07:05"
WRAPPED = [textwrap.fill(p, width=66) for p in PARAGRAPHS]
NOTICE = "Saltmarsh ferry notice\n\n" + "\n\n".join([*WRAPPED[:2], LIST, TIMETABLE, *WRAPPED[2:]])


def sentences() -> list[str]:
    """Every sentence of the notice's paragraphs, as stored: line breaks where it wraps."""
    found = []
    for wrapped in WRAPPED:
        found += [s for s in re.split(r"(?<=\.)\s", wrapped) if s]
    return found


# a quote that crosses one of the notice's line breaks
SPANNING = next(s for s in sentences() if "\n" in s and "tide table" in s)


@pytest.fixture(scope="module")
def llm_server_module() -> Iterator[LLMServer]:
    """The OpenAI-protocol test server, for the module's `citeqa serve`."""
    from tests.fixtures import openai_server

    port = free_port()
    with openai_server.serve(port) as state:
        yield LLMServer(f"http://127.0.0.1:{port}/v1", state)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, llm_server_module: LLMServer) -> Iterator[str]:
    """A real `citeqa serve` answering through the OpenAI-protocol test server, holding
    the notice."""
    env = {
        **os.environ,
        "CITEQA_DATA_DIR": str(tmp_path_factory.mktemp("serve-store")),
        "CITEQA_LLM_BASE_URL": llm_server_module.url,
        "CITEQA_LLM_API_KEY": "test-key",
        "CITEQA_LLM_MODEL": "test-model",
        "CITEQA_LLM_TIMEOUT": "5",
    }
    proc, url = start_serve(env, "--log-level", "warning")
    try:
        response = httpx.post(
            f"{url}/v1/documents",
            files=[("files", ("ferry-notice.txt", NOTICE.encode(), "text/plain"))],
            timeout=120,
        )
        assert response.status_code == 200, response.text
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def long_answer() -> Step:
    """Every sentence of the notice, each cited: an answer many times the page's height,
    streamed a sentence at a time."""
    return Step(
        cite=[(f"The notice says: {s.replace(chr(10), ' ')}", s) for s in sentences()],
        chunk_size=40,
        chunk_delay=0.03,
    )


# Samples, every 40 ms while the newest answer streams, how far the message list's end
# is below its visible area.
RECORD = """() => {
  window.samples = [];
  const list = document.getElementById('messages');
  const before = document.querySelectorAll('li.assistant').length;
  const timer = setInterval(() => {
    const items = document.querySelectorAll('li.assistant');
    if (items.length <= before) return;  // the answer to come is not on the page yet
    const last = items[items.length - 1];
    if (last.dataset.done) { clearInterval(timer); return; }
    window.samples.push({below: list.scrollHeight - list.scrollTop - list.clientHeight,
                         top: list.scrollTop, grown: list.scrollHeight > list.clientHeight});
  }, 40);
}"""


def test_a_long_streamed_answer_stays_in_view_unless_the_reader_scrolls_up(
    browser: object, serve: str, llm_server_module: LLMServer
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 560})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(serve)
    page.wait_for_function("() => document.getElementById('backend').textContent !== ''")

    llm_server_module.state.push(long_answer())
    page.evaluate(RECORD)
    ask(page, "What does the ferry notice say?")
    page.wait_for_selector("li.assistant[data-done='true']", timeout=60_000)
    samples = page.evaluate("window.samples")
    grown = [s for s in samples if s["grown"]]
    # the stream grew past the visible area, and its end was in view at every sample
    assert len(grown) >= 5, samples
    assert max(s["below"] for s in grown) <= 2, grown
    assert (
        page.evaluate(
            "() => { const l = document.getElementById('messages');"
            " return l.scrollHeight - l.scrollTop - l.clientHeight; }"
        )
        <= 2
    )  # and after the sources and notes were added

    # The reader scrolls up while the next answer streams: the page leaves them there.
    # (a follow-up: the LLM condenses it first, here into both questions)
    llm_server_module.state.push(Step(), long_answer())
    ask(page, "And what else does it say?")
    page.wait_for_function(
        "() => document.querySelectorAll('li.assistant').length == 2 &&"
        " document.querySelectorAll('li.assistant')[1].textContent.length > 0",
        timeout=60_000,
    )
    box = page.locator("#messages").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -100_000)
    page.wait_for_function("() => document.getElementById('messages').scrollTop == 0")
    page.wait_for_selector("li.assistant:nth-of-type(4)[data-done='true']", timeout=60_000)
    assert page.evaluate("document.getElementById('messages').scrollTop") == 0
    second = page.locator("li.assistant").nth(1)
    assert second.locator(".searched").inner_text() == (
        "Searched for: \u201cWhat does the ferry notice say? And what else does it say?\u201d"
    )
    # asking again follows the conversation once more; a follow-up searched as asked
    # does not say what was searched
    llm_server_module.state.push(
        Step(content="How often does the ferry run?"),
        Step(cite=[("It runs every forty minutes.", sentences()[0])]),
    )
    ask(page, "How often does the ferry run?")
    page.wait_for_selector("li.assistant:nth-of-type(6)[data-done='true']", timeout=60_000)
    assert page.locator("li.assistant").last.locator(".searched").count() == 0
    assert (
        page.evaluate(
            "() => { const l = document.getElementById('messages');"
            " return l.scrollHeight - l.scrollTop - l.clientHeight; }"
        )
        <= 2
    )
    # one column (a phone): the page itself scrolls, and follows the stream the same way
    page.set_viewport_size({"width": 420, "height": 700})
    llm_server_module.state.push(Step(), long_answer())
    page.evaluate(
        RECORD.replace(
            "const list = document.getElementById('messages')",
            "const list = document.scrollingElement",
        )
    )
    ask(page, "What does it say once more?")
    page.wait_for_selector("li.assistant:nth-of-type(8)[data-done='true']", timeout=60_000)
    grown = [s for s in page.evaluate("window.samples") if s["grown"]]
    assert len(grown) >= 5 and max(s["below"] for s in grown) <= 2, grown
    assert errors == []
    page.close()


def test_a_hard_wrapped_document_reads_as_paragraphs_and_highlights_the_verbatim_quote(
    browser: object, serve: str, llm_server_module: LLMServer
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 640})  # type: ignore[attr-defined]
    bad: list[str] = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(serve)
    page.wait_for_function("() => document.getElementById('backend').textContent !== ''")
    # the icon: named by the page, served by the app; no request of the page fails
    icon = page.eval_on_selector("link[rel=icon]", "l => l.href")
    assert httpx.get(icon).headers["content-type"] == "image/svg+xml"
    favicon = httpx.get(f"{serve}/favicon.ico")
    assert favicon.status_code == 200 and favicon.text.startswith("<svg")

    llm_server_module.state.push(
        Step(cite=[("The tide table replaces the timetable on spring tides.", SPANNING)])
    )
    ask(page, "When is the timetable replaced?")
    page.wait_for_selector("li.assistant[data-done='true']", timeout=60_000)
    answer = page.locator("li.assistant").last
    # the Sources list shows the quote as a reader sees it: no line break inside
    source = answer.locator(".sources li").first.inner_text()
    assert "\n" not in source and " ".join(SPANNING.split()) in source
    answer.locator("button.cite[data-n='1']").click()
    page.wait_for_selector("#highlight")
    stored = httpx.get(f"{serve}/v1/documents/ferry-notice.txt").json()["text"]
    start = stored.index(SPANNING)
    assert page.inner_text("#doc-meta").endswith(f"characters {start}\u2013{start + len(SPANNING)}")
    # the viewer holds the stored text verbatim, and the highlight is exactly the quote
    assert page.eval_on_selector("#doc-text", "e => e.textContent") == stored
    marked = page.eval_on_selector_all("#doc-text mark", "ms => ms.map(m => m.textContent)")
    assert "".join(marked) == SPANNING == stored[start : start + len(SPANNING)]
    assert page.locator("#highlight").is_visible()
    # reflowed: a wrapped paragraph shows no line break of its own; the list keeps one
    # line per item, the timetable its lines
    paragraphs = page.locator("#doc-text .block.para").all_inner_texts()
    assert len(paragraphs) == len(PARAGRAPHS)
    for shown, source_text in zip(paragraphs, PARAGRAPHS, strict=True):
        assert "\n" not in shown.strip() and " ".join(shown.split()) == source_text
    items = page.locator("#doc-text .block.list .item").all_inner_texts()
    assert [i.strip() for i in items] == LIST.split("\n")
    assert page.locator("#doc-text pre.block").inner_text() == TIMETABLE
    # each paragraph is as tall as its text run together, and shorter than with the
    # file's line breaks kept (wrapped again by the narrow viewer: ragged lines)
    heights = page.locator("#doc-text .block.para").evaluate_all(
        """ps => ps.map(p => {
          const as = (text, space) => {
            const copy = p.cloneNode(false);
            copy.textContent = text;
            copy.style.whiteSpace = space;
            p.after(copy);
            const height = copy.offsetHeight;
            copy.remove();
            return height;
          };
          return [p.offsetHeight, as(p.textContent.replace(/\\n/g, ' '), 'normal'),
                  as(p.textContent, 'pre-wrap')];
        })"""
    )
    assert all(shown == flowed for shown, flowed, _ in heights), heights
    assert sum(h[0] for h in heights) < sum(h[2] for h in heights), heights
    page.screenshot(path=str(SCREENSHOTS / "citation.png"))

    # scrolled to the quote; the document opened from the list starts at its top
    page.set_viewport_size({"width": 1280, "height": 380})
    answer.locator("button.cite[data-n='1']").click()
    page.wait_for_function("() => document.getElementById('viewer').scrollTop > 0")
    page.locator("#doc-list li[data-doc-id='ferry-notice.txt'] button.doc-open").click()
    page.wait_for_function("() => !document.querySelector('#doc-text mark')")
    assert page.evaluate("document.getElementById('viewer').scrollTop") == 0
    assert page.eval_on_selector("#doc-text", "e => e.textContent") == stored
    assert bad == []
    page.close()


# Each status line the page shows, in order.
STATUSES = """() => {
  window.statuses = [];
  const status = document.getElementById('upload-status');
  const bar = document.getElementById('upload-progress');
  new MutationObserver(() => {
    window.statuses.push({text: status.textContent, progress: bar.value});
  }).observe(status, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture
def live(settings: Settings, minilm: LocalMiniLMEmbedder) -> Iterator[LiveServer]:
    with LiveServer(make_app(settings, minilm)) as server:
        yield server


def test_an_upload_reports_bytes_sent_then_each_file_indexed_and_errors_as_errors(
    browser: object, live: LiveServer
) -> None:
    # stored a second apart: newest first and by title are different orders
    for name in ("zeta-notes.txt", "alpha-notes.txt"):
        title = name.removesuffix(".txt").replace("-", " ").capitalize()
        httpx.post(
            f"{live.url}/v1/documents",
            json={"doc_id": name, "title": title, "text": f"Notes filed as {name}."},
            timeout=60,
        ).raise_for_status()
        time.sleep(1.1)
    page = browser.new_page(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_selector("button.suggestion")
    page.evaluate(STATUSES)
    logs = {f"log-{n}.txt": log_document(n, 450) for n in (1, 2, 3)}
    page.set_input_files(
        "#file-input",
        files=[
            {"name": name, "mimeType": "text/plain", "buffer": text.encode()}
            for name, text in logs.items()
        ],
    )
    page.wait_for_function(  # the job under way (or, on a fast machine, done)
        "() => /chunks embedded|^3 added/.test("
        "document.getElementById('upload-status').textContent)",
        timeout=120_000,
    )
    page.screenshot(path=str(SCREENSHOTS / "upload.png"))
    page.wait_for_function(
        "() => document.getElementById('upload-status').textContent.startsWith('3 added')",
        timeout=120_000,
    )
    seen = page.evaluate("window.statuses")
    texts = [s["text"] for s in seen]
    total = sum(len(t) for t in logs.values())
    # bytes sent, from the upload's progress events
    sent = [t for t in texts if t.startswith("Uploading\u2026 ")]
    assert sent and sent[-1] == f"Uploading\u2026 100% of {total / 1e6:.1f} MB sent", texts
    # then the server's ingest job, file by file, before the report
    # ("Indexing: reading log-2.txt (2 of 3); 0 of 3 files done…": the file being read,
    # then the files stored, a group at a time)
    indexing = [s for s in seen if s["text"].startswith("Indexing: ")]
    parsed = [
        re.match(r"Indexing: (?:reading (\S+) \((\d) of 3\); )?(\d) of 3 files", s["text"])
        for s in indexing
    ]
    assert all(parsed), texts
    done_counts = [int(m.group(3)) for m in parsed if m]
    assert done_counts == sorted(done_counts) and done_counts[-1] == 3, texts
    assert any(n < 3 for n in done_counts), texts
    reading = [(m.group(1), int(m.group(2)), int(m.group(3))) for m in parsed if m and m.group(1)]
    assert reading and all(name in logs for name, _read, _done in reading), texts
    # the bar: half a step as a file is read, half as it is stored
    for status, m in zip(indexing, parsed, strict=True):
        if m and m.group(1):
            assert abs(status["progress"] - (int(m.group(2)) + int(m.group(3))) / 6) < 1e-6
    assert texts[-1].startswith("3 added, 0 updated, 0 unchanged"), texts
    page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 5")

    # the list: newest first by default, by title when chosen (kept for the next visit)
    listed = "items => items.map(i => i.dataset.docId)"
    newest = page.locator("#doc-list li.doc").evaluate_all(listed)
    assert sorted(newest[:3]) == sorted(logs) and newest[3:] == [
        "alpha-notes.txt",
        "zeta-notes.txt",
    ]
    page.select_option("#doc-sort", "title")
    stored = httpx.get(f"{live.url}/v1/documents").json()["documents"]
    by_title = [d["doc_id"] for d in sorted(stored, key=lambda d: d["title"].lower())]
    assert by_title[0] == "alpha-notes.txt" and by_title[-1] == "zeta-notes.txt"
    assert page.locator("#doc-list li.doc").evaluate_all(listed) == by_title
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#doc-list li.doc').length == 5")
    assert page.input_value("#doc-sort") == "title"
    assert page.locator("#doc-list li.doc").first.get_attribute("data-doc-id") == "alpha-notes.txt"

    # an error looks like one: its own colours, announced as an alert
    plain_colour = page.eval_on_selector("#upload-status", "e => getComputedStyle(e).color")
    page.set_input_files(
        "#file-input", files=[{"name": "photo.bmp", "mimeType": "image/bmp", "buffer": b"BM"}]
    )
    page.wait_for_selector("#upload-status.error[role=alert]")
    assert "unsupported file type" in page.inner_text("#upload-status")
    style = page.eval_on_selector(
        "#upload-status", "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert style[0] != plain_colour and style[1] != "rgba(0, 0, 0, 0)"
    # and the next upload is plain status again
    page.set_input_files(
        "#file-input",
        files=[{"name": "beta-notes.txt", "mimeType": "text/plain", "buffer": b"Beta notes."}],
    )
    page.wait_for_function(
        "() => document.getElementById('upload-status').textContent.startsWith('1 added')",
        timeout=60_000,
    )
    assert page.get_attribute("#upload-status", "role") == "status"
    assert "error" not in (page.get_attribute("#upload-status", "class") or "")
    assert errors == []
    page.close()


def test_screenshots_are_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("answer", "weak-match", "citation", "upload"):
        assert f"docs/screenshots/{name}.png" in readme
        assert (SCREENSHOTS / f"{name}.png").is_file()
