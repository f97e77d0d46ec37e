"""Token counts (tiktoken's cl100k_base): chunk sizes, question limits, prompt budgets.

The encoding file ships inside llama-index-core; `citeqa/__init__.py` points
TIKTOKEN_CACHE_DIR at it, so counting never downloads anything.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def token_encoder():  # type: ignore[no-untyped-def]
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def encode(text: str) -> list[int]:
    return token_encoder().encode(text, disallowed_special=())  # type: ignore[no-any-return]


def count_tokens(text: str) -> int:
    return len(encode(text))
