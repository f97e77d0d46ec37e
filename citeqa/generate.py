"""Generated answers with verified citations.

The model sees the retrieved passages, numbered and fenced as untrusted data, and replies
with JSON: sentences, each citing passage numbers with a quote copied from them. Nothing
it says is trusted: `Composer` keeps a sentence only when every quote is found in the
passage it names (`citeqa.quotes`), maps the quote to document offsets, and the engine
checks `document_text[start:end] == quote` against the store before answering.

Streaming uses the same path: `SentenceScanner` picks complete sentence objects out of the
JSON as it arrives, so each sentence is verified before its text is shown.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import prompts
from citeqa.contract import AnswerSentence
from citeqa.domain import Passage
from citeqa.quotes import find_quote
from citeqa.rendering import MARKDOWN_IMAGE, URL
from citeqa.tokens import count_tokens

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sentences": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "citations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "passage": {"type": "integer"},
                                "quote": {"type": "string"},
                            },
                            "required": ["passage", "quote"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["text", "citations"],
                "additionalProperties": False,
            },
        },
        "abstain": {"type": "boolean"},
    },
    "required": ["sentences", "abstain"],
    "additionalProperties": False,
}

_PROMPT_MARGIN = 32  # tokens for chat-format overhead (role markers) the count does not see
# Each match starts where its white space does (not again inside it): linear time.
_MARKER = re.compile(r"(?<!\s)\s*\[\d+(?:\s*,\s*\d+)*\]")  # noqa: DUO138 (see test_regex_time)


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    passages: list[Passage]  # passage n is passages[n - 1]
    tokens: int  # prompt tokens as counted with cl100k
    instructions: str = ""  # the system prompt without the passages
    boundary: str = ""


_SHINGLE = 6  # words: a run this long copied from the instructions is an echo


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


@dataclass
class Safety:
    """What a generated sentence may not contain, whatever its quotes: links that are not
    in the passages, images (a markdown image is fetched by the reader's browser, which
    leaks data), the fence boundary, or a run of the system prompt's own words."""

    passages_text: str = ""
    boundary: str = ""
    instructions: set[tuple[str, ...]] = field(default_factory=set)

    @classmethod
    def for_prompt(cls, prompt: Prompt) -> Safety:
        text = "\n".join(p.chunk.text for p in prompt.passages)
        echo = _shingles(prompt.instructions) - _shingles(text)
        return cls(text, prompt.boundary, echo)

    def allows(self, text: str) -> bool:
        if MARKDOWN_IMAGE.search(text):
            return False
        if self.boundary and self.boundary in text:
            return False
        if any(url.rstrip(".,;:") not in self.passages_text for url in URL.findall(text)):
            return False
        return not (_shingles(text) & self.instructions)


def build_prompt(
    question: str, passages: Sequence[Passage], context_window: int, max_output_tokens: int
) -> Prompt:
    """The chat messages, with as many passages as fit the window, by rank.

    A passage that does not fit is left out whole (and every one ranked after it), so no
    quote is ever cut in two."""
    boundary = secrets.token_hex(6)  # unguessable by a document, so it cannot fake a fence
    system = prompts.load("answer_system")
    user = prompts.load("answer_user").render(question=question)
    fixed = count_tokens(system.render(passages="", boundary=boundary)) + count_tokens(user)
    budget = context_window - max_output_tokens - fixed - _PROMPT_MARGIN
    blocks: list[str] = []
    packed: list[Passage] = []
    used = 0
    for passage in passages:
        n = len(packed) + 1
        block = _block(n, passage, boundary)
        cost = count_tokens(block) + 1
        if used + cost > budget:
            break
        blocks.append(block)
        packed.append(passage)
        used += cost
    text = system.render(passages="\n".join(blocks), boundary=boundary)
    return Prompt(
        messages=[{"role": "system", "content": text}, {"role": "user", "content": user}],
        passages=packed,
        tokens=fixed + used + _PROMPT_MARGIN,
        instructions=system.render(passages="", boundary=boundary),
        boundary=boundary,
    )


def _block(n: int, passage: Passage, boundary: str) -> str:
    chunk = passage.chunk
    title = str(chunk.metadata.get("title") or chunk.doc_id).replace("\n", " ")[:200]
    return f"<<<passage {n} {boundary}>>>\n(document: {title})\n{chunk.text}\n<<<end {boundary}>>>"


# -- reading the model's reply ----------------------------------------------------------------
def _json_object(text: str) -> Any:
    """The JSON object in a reply that may wrap it in a code fence or some prose."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _end = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    return value


@dataclass
class Reply:
    sentences: list[dict[str, Any]]
    abstain: bool


def parse_reply(text: str) -> Reply:
    """A tolerant reader of the answer JSON: code fences, surrounding prose, and the
    `{"passages": [..], "quote": ".."}` sentence shape are all accepted."""
    value = _json_object(text)
    if isinstance(value, list):
        value = {"sentences": value}
    if not isinstance(value, dict):
        return Reply([], abstain=True)
    sentences = value.get("sentences")
    if not isinstance(sentences, list):
        sentences = []
    kept = [s for s in sentences if isinstance(s, dict)]
    # The answer abstains when no sentence is given: a stream shows sentences before the
    # closing "abstain" flag arrives, so the flag alone cannot take them back.
    return Reply(kept, abstain=not kept)


class SentenceScanner:
    """Feeds on the reply as it streams and yields each sentence object of the
    `"sentences": [...]` array as soon as its closing brace arrives."""

    def __init__(self) -> None:
        self.text = ""  # the whole reply so far
        self.buffer = ""
        self._pos = 0  # where scanning resumes
        self._array = False  # inside the sentences array
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._start = -1

    def feed(self, delta: str) -> Iterator[dict[str, Any]]:
        self.text += delta
        self.buffer += delta
        if not self._array:
            found = re.search(r'"sentences"\s*:\s*\[', self.buffer)
            if not found:
                return
            self._array = True
            self._pos = found.end()
        text = self.buffer
        i = self._pos
        while i < len(text):
            ch = text[i]
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
            elif ch == '"':
                self._in_string = True
            elif ch == "{":
                if self._depth == 0:
                    self._start = i
                self._depth += 1
            elif ch == "}":
                self._depth -= 1
                if self._depth == 0 and self._start >= 0:
                    try:
                        value = json.loads(text[self._start : i + 1])
                    except json.JSONDecodeError:
                        value = None
                    self._start = -1
                    if isinstance(value, dict):
                        yield value
            elif ch == "]" and self._depth == 0:
                self._array = False  # the array is closed; nothing more to yield
                self._pos = len(text) + 1
                self.buffer = ""
                return
            i += 1
        self._pos = i


# -- verification ---------------------------------------------------------------------------
@dataclass
class Quoted:
    """A verified quote: offsets index the document's text."""

    passage: Passage
    start: int
    end: int
    text: str


@dataclass
class Composer:
    """Turns the model's sentences into verified ones. A sentence is supported when it
    cites at least one passage, every quote it gives is found in the passage it names,
    and its text passes `Safety` (and, with a reader, the reader finds it about what its
    quotes say); invented passage numbers and quotes that are not there make it
    unsupported."""

    passages: Sequence[Passage]
    check: Callable[[Quoted], bool] = lambda _quoted: True  # e.g. against the stored text
    safety: Safety = field(default_factory=Safety)
    # with a reader: whether a sentence is about what its quotes say (see READER_SUPPORT)
    about: Callable[[str, list[str]], bool] | None = None
    quotes: list[Quoted] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    unsupported: int = 0

    def add(self, raw: dict[str, Any]) -> AnswerSentence | None:
        text = _MARKER.sub("", str(raw.get("text") or "")).strip()
        if not text:
            return None
        refs = list(_citations_of(raw))
        verified = [self._verify(numbers, quote) for numbers, quote in refs]
        ok = bool(verified) and all(q is not None for q in verified)
        ok = ok and self.safety.allows(text)
        if ok and self.about is not None:
            ok = self.about(text, [q.text for q in verified if q is not None])
        numbers = sorted({self._number(q) for q in verified if q is not None}) if ok else []
        sentence = AnswerSentence(text=text, citations=numbers, supported=ok)
        if not ok:
            self.unsupported += 1
        self.sentences.append(sentence)
        return sentence

    def _verify(self, numbers: list[int], quote: str) -> Quoted | None:
        """The quote in the first of the named passages that holds it; passage numbers
        outside the prompt's are invented and never match."""
        for number in numbers:
            if not 1 <= number <= len(self.passages):
                continue
            passage = self.passages[number - 1]
            chunk = passage.chunk
            span = find_quote(chunk.text, quote)
            if span is not None:
                text = chunk.text[span[0] : span[1]]
                quoted = Quoted(passage, chunk.start + span[0], chunk.start + span[1], text)
                return quoted if self.check(quoted) else None
        return None

    def _number(self, quoted: Quoted) -> int:
        for i, seen in enumerate(self.quotes, start=1):
            same_doc = seen.passage.chunk.doc_id == quoted.passage.chunk.doc_id
            if same_doc and (seen.start, seen.end) == (quoted.start, quoted.end):
                return i
        self.quotes.append(quoted)
        return len(self.quotes)


def _number_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _citations_of(raw: dict[str, Any]) -> Iterable[tuple[list[int], str]]:
    """(passage numbers, quote) pairs, from `citations` or the `passages` + `quote` shape
    (one quote that must be found in one of the passages it names)."""
    citations = raw.get("citations")
    if isinstance(citations, list):
        for item in citations:
            if isinstance(item, dict) and isinstance(item.get("quote"), str):
                number = _number_of(item.get("passage"))
                yield ([number] if number is not None else []), item["quote"]
        return
    numbers, quote = raw.get("passages"), raw.get("quote")
    if isinstance(numbers, list) and isinstance(quote, str):
        yield [n for n in map(_number_of, numbers) if n is not None], quote
