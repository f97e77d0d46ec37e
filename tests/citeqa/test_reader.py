"""The reader: the bundled cross-encoder found by path, deterministic, thread-safe, the
same code for a model given as a file, a folder or an id; reported by the API."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from citeqa.components.reader import BUNDLED, CrossEncoderReader, bundled_dir, load_reader
from citeqa.errors import ConfigurationError

QUESTION = "How long can a book be borrowed?"
TEXTS = [
    "Books are lent for three weeks and films for one week.",
    "The library café serves soup on Thursdays.",
    "A loan can be renewed twice online, unless another member has reserved the item.",
    "Parking is free for the first hour.",
]


@pytest.fixture(scope="module")
def reader() -> CrossEncoderReader:
    return load_reader(None)


def test_the_bundled_cross_encoder_is_found_by_path_and_reads(reader: CrossEncoderReader) -> None:
    assert (bundled_dir() / "model.onnx").is_file()
    assert reader.name == BUNDLED
    logits = reader.score(QUESTION, TEXTS)
    assert logits.shape == (4,)
    assert logits[0] == logits.max()  # the sentence that answers
    assert logits[0] > logits[1] + 5 and logits[0] > logits[3] + 5


def test_pairs_are_not_padded_to_512_pieces(reader: CrossEncoderReader) -> None:
    encoding = reader._tokenizer.encode(QUESTION, TEXTS[0])
    assert len(encoding.ids) < 40


def test_scores_are_deterministic_and_cached(reader: CrossEncoderReader) -> None:
    fresh = CrossEncoderReader()
    first = fresh.score(QUESTION, TEXTS)
    assert fresh.pairs == 4
    again = fresh.score(QUESTION, list(reversed(TEXTS)))
    assert fresh.pairs == 4  # answered from the cache
    assert np.array_equal(again[::-1], first)
    other = CrossEncoderReader()
    assert np.array_equal(other.score(QUESTION, TEXTS), first)  # the same batches, anew


def test_scoring_is_thread_safe(reader: CrossEncoderReader) -> None:
    texts = [f"{t} (variant {i})" for i in range(6) for t in TEXTS]
    expected = CrossEncoderReader().score(QUESTION, texts)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(shared.score(QUESTION, texts))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    shared = CrossEncoderReader()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(np.array_equal(r, expected) for r in results)


def test_another_model_goes_through_the_same_code(tmp_path: Path) -> None:
    folder = tmp_path / "my-cross-encoder"
    shutil.copytree(bundled_dir(), folder)
    by_folder = CrossEncoderReader(str(folder))
    by_file = CrossEncoderReader(str(folder / "model.onnx"))
    expected = load_reader(None).score(QUESTION, TEXTS)
    assert np.array_equal(by_folder.score(QUESTION, TEXTS), expected)
    assert np.array_equal(by_file.score(QUESTION, TEXTS), expected)
    assert by_file.name == "model.onnx"


def test_a_missing_or_unreadable_model_is_a_clear_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no cross-encoder"):
        CrossEncoderReader(str(tmp_path / "absent"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    shutil.copy(bundled_dir() / "tokenizer.json", broken / "tokenizer.json")
    with pytest.raises(ConfigurationError, match="cannot be loaded"):
        CrossEncoderReader(str(broken))
    # a Hugging Face id with no network (the tests run offline)
    with pytest.raises(ConfigurationError, match="could not be fetched"):
        CrossEncoderReader("cross-encoder/ms-marco-MiniLM-L-6-v2")


def test_the_reader_reads_only_the_units_that_look_most_like_an_answer(reading_engine) -> None:  # type: ignore[no-untyped-def]
    from citeqa.answering.features import FEATURES, READER_FLOOR
    from citeqa.answering.scorer import READ_UNITS
    from ingest.pipeline import sources_from_paths
    from tests.conftest import EXAMPLES

    engine = reading_engine
    engine.documents.ingest(sources_from_paths([EXAMPLES]))
    question = "How many items can a member borrow at a time?"
    found = engine.query.retriever.retrieve(question, 6)
    _asked, candidates, table = engine.query.scorer.units(
        question, found.query_vector, found.passages, found.lexical, engine.query.retriever.depth(6)
    )
    assert len(candidates) > READ_UNITS  # the pool is larger than what is read
    logits = table[:, len(FEATURES)]
    read = logits > READER_FLOOR
    assert read.sum() == READ_UNITS
    # the unit that answers is among those read
    answering = [i for i, c in enumerate(candidates) if "twelve items" in c.display]
    assert answering and all(read[i] for i in answering)
