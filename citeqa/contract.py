"""The answer contract: what the CLI (`--json`), the API and the evals all return.

The first fields are fixed. Later versions may add fields; they never remove or rename
these.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Below this confidence an answer is shown as a weak match (the chat page, `citeqa ask`):
# the answer model then thinks it more likely wrong than right. The abstention threshold
# (CITEQA_ANSWER__THRESHOLD, 0.17 for the shipped model) is lower, so weak answers exist.
WEAK_CONFIDENCE = 0.5


class Citation(BaseModel):
    n: int = Field(description="The marker number used in the answer text, [n].", examples=[1])
    doc_id: str = Field(
        description="The cited document.", examples=["us-allows-limited-strikes.txt"]
    )
    title: str = Field(description="The document's title.")
    source: str = Field(description="Where the document came from (path, upload name or URL).")
    date: str | None = Field(None, description="The document's date, when it declares one.")
    quote: str = Field(description="Verbatim text of the document at [start, end).")
    start: int = Field(ge=0, description="Character offset of the quote in the document text.")
    end: int = Field(ge=0, description="Character offset just past the quote.")
    score: float = Field(description="How strongly the quote supports the answer (0-1).")
    page: int | None = Field(None, description="PDF page of the quote, for PDF documents.")


class Turn(BaseModel):
    """One earlier turn of a conversation, for follow-up questions."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=16000)


class AnswerSentence(BaseModel):
    text: str = Field(description="One sentence of the answer, without markers.")
    citations: list[int] = Field(description="The `n` of the citations that support it.")
    supported: bool = Field(
        description="True when every quote the sentence gave was verified. Unsupported "
        "sentences never appear in `answer`; they are listed here only with "
        "CITEQA_LLM_UNSUPPORTED=mark."
    )


class Timings(BaseModel):
    retrieve: float = Field(description="Milliseconds spent retrieving passages.")
    answer: float = Field(description="Milliseconds spent composing and verifying the answer.")
    total: float = Field(description="Milliseconds end to end.")


class Answer(BaseModel):
    question: str = Field(examples=["Who conveyed the decision to Ukraine?"])
    answer: str = Field(
        description="The answer; each claim is followed by its citation marker [n]. When "
        "abstained, a sentence saying the documents do not answer the question."
    )
    abstained: bool = Field(description="True when the documents do not answer the question.")
    citations: list[Citation] = Field(
        description="Every citation verified: document text [start:end] == quote."
    )
    backend: str = Field(
        description="What composed the answer: 'extractive' or 'llm:<model>'.",
        examples=["extractive"],
    )
    timings_ms: Timings
    # Added after the first fields (all optional, so clients of the first fields are
    # unaffected).
    sentences: list[AnswerSentence] = Field(
        default_factory=list, description="The answer sentence by sentence, with support flags."
    )
    dropped_sentences: int = Field(
        0, ge=0, description="Generated sentences left out because a quote did not verify."
    )
    fallback: str | None = Field(
        None,
        description="Set when the configured LLM failed and the extractive answerer answered "
        "instead (CITEQA_LLM_FALLBACK=extractive): the LLM error's code.",
    )
    standalone_question: str | None = Field(
        None,
        description="With `history`: the question as retrieval saw it (condensed by the LLM, "
        "or with the previous question's key terms carried over).",
    )
    # Added later, optional: the answer model's confidence.
    confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="The probability that the extractive answer from the retrieved passages "
        "is right (0-1), rounded to 4 places: the value compared with the abstention "
        "threshold, so an abstention has it too. With the verifier (the default) it is the "
        "joint gate's, weighing the answer model's probability with the verifier's best "
        "logit (`verification`); without it, the answer model's "
        "(CITEQA_ANSWER__THRESHOLD). "
        f"Below {WEAK_CONFIDENCE} the chat page and `citeqa ask` show the answer as a weak "
        "match. With an LLM backend it is the same model's probability for the passages the "
        "LLM was given (how well the evidence answers the question), not the LLM's own "
        "certainty. Null only from servers older than this field.",
        examples=[0.8731],
    )
    # Added later, optional: the verifier's reading and the documents searched.
    searched_documents: list[str] | None = Field(
        None,
        description="When the question names stored documents by name and version ('GPL "
        "version 2', 'MPL 2.0', 'the 2023 report'): the doc_ids of those documents, the only "
        "ones searched (CITEQA_ANSWER__DOCUMENT_SCOPE). Null: every document the filters "
        "allow was searched.",
        examples=[["gpl-2.txt"]],
    )
    verification: float | None = Field(
        None,
        description="The extractive answer's check by the verifier (a cross-encoder "
        "fine-tuned to tell a passage that answers from a near-miss): its best logit over "
        "the best units, rounded to 4 places. With the shipped joint gate it is weighed with "
        "the answer model's, and `confidence` is the joint probability; with a "
        "CITEQA_ANSWER__VERIFIER_THRESHOLD of your own, an answer abstains below it although "
        "`confidence` passed. Null: the verifier is off, or did not read (no citable unit; "
        "as a second gate, the confidence was under its threshold already; an LLM answered).",
        examples=[3.2471],
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "question": "Who conveyed the decision to Ukraine?",
                    "answer": "The officials said that it was General Cavoli who conveyed "
                    "the decision to Ukraine. [1]",
                    "abstained": False,
                    "citations": [
                        {
                            "n": 1,
                            "doc_id": "us-allows-limited-strikes-in-russia.txt",
                            "title": "Us allows limited strikes in russia",
                            "source": "corpus/us-allows-limited-strikes-in-russia.txt",
                            "date": "2024-05-30",
                            "quote": "The officials said that it was General Cavoli who "
                            "conveyed the decision to Ukraine.",
                            "start": 3368,
                            "end": 3451,
                            "score": 0.901,
                            "page": None,
                        }
                    ],
                    "backend": "extractive",
                    "timings_ms": {"retrieve": 21.4, "answer": 9.8, "total": 31.9},
                    "confidence": 0.8731,
                }
            ]
        }
    }


ABSTAIN_TEXT = "The documents do not answer this question."
