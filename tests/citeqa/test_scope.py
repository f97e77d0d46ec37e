"""A question that names a stored document by name and version is searched in that
document only (citeqa.scope, citeqa.retrieve): the other version's nearly identical
sentence is not cited in its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.components.embedder import Embedder
from citeqa.filters import Filters
from citeqa.scope import document_name, named_documents, names_of, version
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import Source

LICENCES = Path("/usr/share/common-licenses")

# (doc_id, passage context) as ingest writes them: title, opening headings, file name
STORE = names_of(
    [
        ("gpl-2.txt", "GNU GENERAL PUBLIC LICENSE Version 2, June 1991 gpl 2"),
        ("gpl-3.txt", "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007 gpl 3"),
        ("lgpl-2.1.txt", "GNU LESSER GENERAL PUBLIC LICENSE Version 2.1, February 1999 lgpl 2 1"),
        ("mpl-2.0.txt", "Mozilla Public License Version 2.0 1. Definitions mpl 2 0"),
        ("apache-2.0.txt", "Apache License apache 2 0"),
        ("artistic.txt", 'The "Artistic License" Preamble artistic'),
        ("report-2023.pdf", "Annual report of the harbour board report 2023"),
        ("report-2024.pdf", "Annual report of the harbour board report 2024"),
        ("tar-news.txt", "Tar news GNU tar NEWS - User visible changes. 2021-02-13"),
    ]
)


def test_versions_compare_without_trailing_zeros() -> None:
    assert version("2.0") == version("2") == "2"
    assert version("3.19.0") == "3.19"
    assert version("2.1") != version("2")


def test_a_document_is_named_by_its_file_name_title_acronym_and_version() -> None:
    gpl = document_name("GPL-2.txt", "GNU GENERAL PUBLIC LICENSE Version 2, June 1991 GPL 2")
    assert {"gpl", "ggpl", "general", "public", "license"} <= gpl.names
    assert gpl.versions == {"2"}  # not 1991: a date is not a version
    assert document_name("MPL-2.0", "Mozilla Public License").versions == {"2"}
    assert document_name("LGPL-2.1", "GNU LESSER GENERAL PUBLIC LICENSE").versions == {"2.1"}
    # a changelog dated in its title has no version of its own
    assert document_name("tar-news.txt", "Tar news 2021-02-13").versions == frozenset()


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Under GPL version 2, how long must a written offer stay valid?", {"gpl-2.txt"}),
        ("What does GPLv3 say about installation information?", {"gpl-3.txt"}),
        ("In the GNU GPL v2, what is the licence's scope?", {"gpl-2.txt"}),
        ("Under version 2 of the GPL, may I charge a fee?", {"gpl-2.txt"}),
        ("Does the second version of the GPL limit running the program?", {"gpl-2.txt"}),
        ("Under LGPL 2.1, how short must inline functions be?", {"lgpl-2.1.txt"}),
        ("Which courts hear disputes under MPL 2.0?", {"mpl-2.0.txt"}),
        ("For the Apache License 2.0, what counts as control?", {"apache-2.0.txt"}),
        ("How do GPL versions 2 and 3 differ on patents?", {"gpl-2.txt", "gpl-3.txt"}),
        ("What did the 2023 report say about dredging?", {"report-2023.pdf"}),
    ],
)
def test_a_question_names_the_documents_of_that_name_and_version(
    question: str, named: set[str]
) -> None:
    assert named_documents(question, STORE) == named


@pytest.mark.parametrize(
    "question",
    [
        "What does the GPL say about patents?",  # no version: every GPL may answer
        "What does section 2 of the GPL require?",  # a section, not a version
        "What changed in tar 1.34?",  # the NEWS file has no version of its own
        "What does GPL version 4 say about patents?",  # no such document: searched as usual
        "How many days does the Artistic License allow, 30 or 60?",  # quantities
    ],
)
def test_a_question_that_names_no_stored_version_is_not_scoped(question: str) -> None:
    assert named_documents(question, STORE) is None


def _licences(engine: Engine, *names: str) -> None:
    if not all((LICENCES / n).is_file() for n in names):
        pytest.skip(f"{LICENCES} lacks {names}")
    result = engine.documents.ingest(
        [
            Source(doc_id=f"{n}.txt", source=str(LICENCES / n), name=f"{n}.txt",
                   text=(LICENCES / n).read_text(encoding="utf-8"))
            for n in names
        ]
    )  # fmt: skip
    assert result.count("added") == len(names)


def test_a_named_version_is_searched_alone_and_the_other_is_not_cited(
    settings: Settings, embedder: Embedder
) -> None:
    engine = Engine(settings, embedder=embedder)
    _licences(engine, "GPL-2", "GPL-3")
    # the cure period of 30 days is GPL-3's (section 8); GPL-2 has no such clause
    question = "Under GPL version 2, how many days do I have to cure a violation?"
    answer, retrieval = engine.query.ask_with_candidates(question)
    assert retrieval.scope == ["GPL-2.txt"]
    assert {p.chunk.doc_id for p in retrieval.passages} == {"GPL-2.txt"}
    assert all(c.doc_id == "GPL-2.txt" for c in answer.citations)

    unscoped = Engine(
        settings.replace(answer={"document_scope": False}),
        embedder=embedder,
    )
    answer, retrieval = unscoped.query.ask_with_candidates(question)
    assert retrieval.scope is None
    assert "GPL-3.txt" in {p.chunk.doc_id for p in retrieval.passages}


def test_a_doc_id_filter_chosen_by_the_caller_is_kept(
    settings: Settings, embedder: Embedder
) -> None:
    engine = Engine(settings, embedder=embedder)
    _licences(engine, "GPL-2", "GPL-3")
    question = "Under GPL version 2, how many days do I have to cure a violation?"
    _answer, retrieval = engine.query.ask_with_candidates(
        question, filters=Filters(doc_id="GPL-3.txt")
    )
    assert retrieval.scope is None
    assert {p.chunk.doc_id for p in retrieval.passages} == {"GPL-3.txt"}


def test_the_names_follow_the_store_as_documents_come_and_go(
    settings: Settings, embedder: Embedder
) -> None:
    engine = Engine(settings, embedder=embedder)
    guide = "Refunds of the widget are accepted within {} days of purchase."
    engine.documents.ingest(
        [
            Source(doc_id=f"widget-guide-{v}.txt", source="test", name=f"widget-guide-{v}.txt",
                   text=f"Widget guide, version {v}\n\n" + guide.format(days))
            for v, days in ((1, 14), (2, 30))
        ]
    )  # fmt: skip
    question = "Under the widget guide version 1, within how many days are refunds accepted?"
    answer, retrieval = engine.query.ask_with_candidates(question)
    assert retrieval.scope == ["widget-guide-1.txt"]
    assert [c.doc_id for c in answer.citations] == ["widget-guide-1.txt"]
    assert "14 days" in answer.citations[0].quote

    engine.documents.delete_document("widget-guide-1.txt")
    _answer, retrieval = engine.query.ask_with_candidates(question)
    assert retrieval.scope is None  # version 1 is gone: the question names nothing stored
