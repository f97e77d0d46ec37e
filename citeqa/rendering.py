"""How answers read: a sentence with its citation markers, the answer text, and the
patterns of what no answer may show (a markdown image is fetched by the reader's
browser, which leaks data; a link may only be one the passages hold). Shared by the
extractive and the generated answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from citeqa.contract import AnswerSentence

URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'\])]+", re.IGNORECASE)
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def sentence_text(sentence: AnswerSentence) -> str:
    """One sentence as the answer shows it: its text, then its markers."""
    return sentence.text + " " + "".join(f"[{n}]" for n in sentence.citations)


def render_text(sentences: Iterable[AnswerSentence]) -> str:
    """The answer text: supported sentences, each followed by its markers."""
    return " ".join(sentence_text(s) for s in sentences if s.supported)
