from __future__ import annotations

import json

from citeqa.domain import Chunk, Passage
from citeqa.generate import Composer, SentenceScanner, build_prompt, parse_reply
from citeqa.rendering import render_text
from citeqa.tokens import count_tokens

DOC = "Intro line.\nThe ferry leaves at noon. Tickets cost four euros.\nDogs ride free."


def passage(text: str, start: int, doc_id: str = "ferry.txt", score: float = 0.03) -> Passage:
    assert DOC[start : start + len(text)] == text
    chunk = Chunk(
        f"{doc_id}#{start}", doc_id, 0, text, start, start + len(text), {"title": "Ferry"}
    )
    return Passage(chunk, score, 1, 1)


P1 = passage("The ferry leaves at noon. Tickets cost four euros.", 12)
P2 = passage("Dogs ride free.", 63)


def reply(*sentences: dict[str, object]) -> str:
    return json.dumps({"sentences": list(sentences), "abstain": not sentences})


def test_supported_sentences_map_quotes_to_document_offsets() -> None:
    composer = Composer([P1, P2])
    composer.add(
        {"text": "It leaves at noon [1].", "citations": [{"passage": 1, "quote": "leaves at noon"}]}
    )
    composer.add(
        {"text": "Dogs go free.", "citations": [{"passage": 2, "quote": "Dogs ride free."}]}
    )
    assert [s.supported for s in composer.sentences] == [True, True]
    assert composer.sentences[0].text == "It leaves at noon."  # the model's own marker removed
    for quoted in composer.quotes:
        assert DOC[quoted.start : quoted.end] == quoted.text
    assert render_text(composer.sentences) == "It leaves at noon. [1] Dogs go free. [2]"


def test_wrong_quotes_and_invented_passage_numbers_make_a_sentence_unsupported() -> None:
    composer = Composer([P1, P2])
    composer.add({"text": "A.", "citations": [{"passage": 1, "quote": "leaves at midnight"}]})
    composer.add({"text": "B.", "citations": [{"passage": 7, "quote": "Dogs ride free."}]})
    composer.add({"text": "C.", "citations": [{"passage": 1, "quote": "Dogs ride free."}]})
    composer.add({"text": "D.", "citations": []})
    # one good and one bad quote: the sentence as a whole is not supported
    composer.add(
        {
            "text": "E.",
            "citations": [
                {"passage": 2, "quote": "Dogs ride free."},
                {"passage": 1, "quote": "cats ride free"},
            ],
        }
    )
    assert [s.supported for s in composer.sentences] == [False] * 5
    assert composer.unsupported == 5 and composer.quotes == []  # no orphan citations
    assert render_text(composer.sentences) == ""


def test_the_same_quote_gets_one_citation_number() -> None:
    composer = Composer([P1])
    quote = {"passage": 1, "quote": "Tickets cost four euros."}
    composer.add({"text": "Four euros.", "citations": [quote]})
    composer.add({"text": "Cheap.", "citations": [quote]})
    assert [s.citations for s in composer.sentences] == [[1], [1]]


def test_check_hook_can_veto_a_quote() -> None:
    composer = Composer([P1], check=lambda quoted: quoted.start > 100)
    composer.add({"text": "x.", "citations": [{"passage": 1, "quote": "leaves at noon"}]})
    assert not composer.sentences[0].supported


def test_parse_reply_is_tolerant_of_fences_prose_and_the_short_shape() -> None:
    body = reply({"text": "Noon.", "passages": [1], "quote": "leaves at noon"})
    for text in (body, f"```json\n{body}\n```", f"Sure! Here it is: {body} Hope it helps."):
        parsed = parse_reply(text)
        assert not parsed.abstain and parsed.sentences[0]["text"] == "Noon."
    composer = Composer([P1])
    composer.add(parse_reply(body).sentences[0])
    assert composer.sentences[0].supported
    assert parse_reply("I cannot help with that.").abstain
    assert parse_reply(reply()).abstain


def test_scanner_yields_each_sentence_once_complete_whatever_the_chunking() -> None:
    body = reply(
        {"text": 'He said "{hi}" \\ ok.', "citations": [{"passage": 1, "quote": "a}b"}]},
        {"text": "Two.", "citations": []},
    )
    for size in (1, 3, 7, len(body)):
        scanner = SentenceScanner()
        got = []
        for i in range(0, len(body), size):
            got.extend(scanner.feed(body[i : i + size]))
        assert [s["text"] for s in got] == ['He said "{hi}" \\ ok.', "Two."]
        assert scanner.text == body


def test_prompt_packs_whole_passages_by_rank_within_the_window() -> None:
    many = [passage("The ferry leaves at noon. Tickets cost four euros.", 12) for _ in range(40)]
    roomy = build_prompt("When?", many, context_window=100_000, max_output_tokens=500)
    tight = build_prompt("When?", many, context_window=1200, max_output_tokens=500)
    assert len(roomy.passages) == 40
    assert 0 < len(tight.passages) < 40
    total = sum(count_tokens(m["content"]) for m in tight.messages)
    assert total + 500 <= 1200
    system = tight.messages[0]["content"]
    # every packed passage is there whole, fenced, numbered by rank
    assert system.count("The ferry leaves at noon. Tickets cost four euros.") == len(tight.passages)
    assert f"<<<passage {len(tight.passages)} " in system
    assert f"<<<passage {len(tight.passages) + 1} " not in system


def test_fences_carry_a_fresh_boundary_a_document_cannot_guess() -> None:
    hostile = passage("Dogs ride free.", 63)
    a = build_prompt("q", [hostile], 4000, 500).messages[0]["content"]
    b = build_prompt("q", [hostile], 4000, 500).messages[0]["content"]
    boundary_a = a.split("<<<passage 1 ")[1].split(">>>")[0]
    boundary_b = b.split("<<<passage 1 ")[1].split(">>>")[0]
    assert boundary_a != boundary_b and len(boundary_a) >= 12
    assert "untrusted" in a
