"""Run by the clients' own interpreter (build/clients, `make clients`), not by pytest's:
litellm's dependencies conflict with chromadb's, so it lives in a venv of its own. Asks
citeqa one question through litellm, plain and streamed, and prints what came back as
JSON for the test to check. Usage: python litellm_checks.py BASE_URL QUESTION"""

from __future__ import annotations

import json
import sys

import litellm


def main() -> None:
    base_url, question = sys.argv[1], sys.argv[2]
    common = {
        "model": "openai/citeqa",
        "api_base": f"{base_url}/v1",
        "api_key": "unused",
        "messages": [{"role": "user", "content": question}],
        "num_retries": 0,
    }
    plain = litellm.completion(**common)
    streamed = litellm.completion(**common, stream=True, stream_options={"include_usage": True})
    parts, usage = [], None
    for chunk in streamed:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if getattr(chunk, "usage", None):
            usage = chunk.usage.total_tokens
    try:
        litellm.completion(**{**common, "model": "openai/gpt-4o"})
        missing = None
    except litellm.exceptions.NotFoundError as exc:
        missing = exc.status_code
    print(
        json.dumps(
            {
                "plain": plain.choices[0].message.content,
                "model": plain.model,
                "plain_usage": plain.usage.total_tokens,
                "streamed": "".join(parts),
                "streamed_usage": usage,
                "unknown_model_status": missing,
            }
        )
    )


if __name__ == "__main__":
    main()
