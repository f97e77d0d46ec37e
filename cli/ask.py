"""`citeqa ask`: a question answered here, or by a running server (`--server`)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from citeqa.contract import WEAK_CONFIDENCE, Answer
from cli.common import app, fail
from cli.common import engine as engine_of
from cli.common import settings as current_settings


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the answer contract as JSON.")
    ] = False,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Passages to retrieve.")] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="URL",
            help="Ask this running citeqa server (http://host:port) instead of loading the "
            "models here; default: CITEQA_SERVER. Its API key: CITEQA_SERVER_API_KEY.",
        ),
    ] = None,
) -> None:
    """Answer a question from the stored documents, with citations."""
    settings = current_settings()
    url = server if server is not None else settings.client.server
    if url is not None:
        if not url.startswith(("http://", "https://")):
            fail(f"--server {url}: the URL must start with http:// or https://", 2)
        key = settings.client.api_key
        answer = _ask_server(url, question, top_k, key.get_secret_value() if key else None)
    else:
        engine = engine_of(settings)
        engine.query.validate_question(question, top_k)  # bad input fails before the model loads
        engine.health.warm_up()  # so timings_ms measures the question, not loading the model
        answer = engine.query.ask(question, top_k=top_k)
    if json_output:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer)
    if not answer.abstained and answer.confidence is not None:
        if answer.confidence < WEAK_CONFIDENCE:
            typer.echo(f"(a weak match, confidence {answer.confidence:.2f}: check the quotes)")
    for c in answer.citations:
        typer.echo(f"\n[{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end})\n    “{c.quote}”")


# a server answers a question in well under a second once warm; the first question after
# it starts may wait for its models
ASK_TIMEOUT_S = 120.0


def _ask_server(url: str, question: str, top_k: int | None, key: str | None) -> Answer:
    """POST /v1/query on a running server; its errors as one line, never a traceback."""
    import httpx

    endpoint = f"{url.rstrip('/').removesuffix('/v1')}/v1/query"
    body: dict[str, object] = {"question": question}
    if top_k is not None:
        body["top_k"] = top_k
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.post(endpoint, json=body, headers=headers, timeout=ASK_TIMEOUT_S)
    except httpx.TimeoutException:
        fail(f"the citeqa server at {url} did not answer within {ASK_TIMEOUT_S:.0f} s")
    except httpx.HTTPError as exc:
        fail(f"cannot reach the citeqa server at {url} ({type(exc).__name__})")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200:
        error = payload.get("error") if isinstance(payload, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        reason = message or response.reason_phrase
        fail(f"the server at {url} answered {response.status_code}: {reason}")
    try:
        return Answer.model_validate(payload)
    except ValidationError:
        fail(f"{endpoint} did not answer with a citeqa answer (is it a citeqa server?)")
