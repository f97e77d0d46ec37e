"""The API docs pages (Swagger UI at /docs, ReDoc at /redoc) in a real headless Chromium
with every request off the server refused: they must render from the app's own files."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import LiveServer, make_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_docs(
    tmp_path_factory: pytest.TempPathFactory, minilm: LocalMiniLMEmbedder
) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs-store"))
    with LiveServer(make_app(settings, minilm, warm_up=False)) as live:
        yield live


def _offline_page(browser: object, live: LiveServer) -> tuple[object, list[str], list[str]]:
    """A page whose requests to anywhere but the server are aborted (and recorded)."""
    context = browser.new_context()  # type: ignore[attr-defined]
    outside: list[str] = []
    errors: list[str] = []
    own = urlsplit(live.url).netloc

    def route(request_route: object) -> None:
        url = request_route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).netloc == own:
            request_route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            request_route.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, outside, errors


def _operations(live: LiveServer) -> list[tuple[str, str, str]]:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    return [
        (method.upper(), path, op.get("summary", ""))
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def test_swagger_ui_renders_every_operation_offline(browser: object, live_docs: LiveServer) -> None:
    operations = _operations(live_docs)
    assert len(operations) >= 8
    page, outside, errors = _offline_page(browser, live_docs)
    page.goto(f"{live_docs.url}/docs")  # type: ignore[attr-defined]
    page.wait_for_selector(".opblock", timeout=30_000)  # type: ignore[attr-defined]
    shown = page.locator(".opblock-summary-path").all_inner_texts()  # type: ignore[attr-defined]
    assert len(shown) == len(operations)
    assert {p for _m, p, _s in operations} == {s.replace("\u200b", "").strip() for s in shown}
    assert outside == [] and errors == []
    page.context.close()  # type: ignore[attr-defined]


def test_redoc_renders_the_operations_offline(browser: object, live_docs: LiveServer) -> None:
    operations = _operations(live_docs)
    page, outside, errors = _offline_page(browser, live_docs)
    page.goto(f"{live_docs.url}/redoc")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-section-id^='operation/']", timeout=30_000)  # type: ignore[attr-defined]
    text = page.inner_text("body")  # type: ignore[attr-defined]
    summaries = [s for _m, _p, s in operations if s]
    assert summaries and all(s in text for s in summaries)
    assert outside == [] and errors == []
    page.context.close()  # type: ignore[attr-defined]
