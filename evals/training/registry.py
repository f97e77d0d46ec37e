"""The gold sets the answer model trains on and is measured on: where their questions
and documents are, which group each belongs to, and which are public."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETS = REPO / "evals" / "sets"


@dataclass(frozen=True)
class GoldSet:
    name: str
    group: str  # sets over the same documents share a group
    questions: Path
    docs: Path | None = None  # a folder, or None: built from evals/corpora/<name>.toml
    # a public benchmark's sample: with `--public evaluate` it is reported and never
    # trained on (nor is the threshold chosen on it)
    public: bool = False

    def documents(self, root: Path) -> Path:
        """The set's documents: its folder, or its corpus built from files on the machine
        (evals/corpora) in root/<name>."""
        if self.docs is not None:
            return self.docs
        from evals.corpora import build

        return build(self.name, root / self.name)


def gold_sets(shared: Path) -> list[GoldSet]:
    """The sets found: the project's own (evals/sets, examples/ and the corpora built
    from evals/corpora) and those under `shared` (the seed article, public samples)."""
    squad2 = shared / "evalsets" / "squad2_dev_sample500"
    realtimeqa = shared / "evalsets" / "realtimeqa_cnn_2022"
    found = [
        GoldSet("examples", "examples", SETS / "examples.jsonl", REPO / "examples"),
        GoldSet("seed", "seed article", SETS / "seed.jsonl", shared / "corpus"),
        GoldSet(
            "seed-paraphrase", "seed article", SETS / "seed-paraphrase.jsonl", shared / "corpus"
        ),
        GoldSet("licences", "licences", SETS / "licences.jsonl"),
        GoldSet("sysdocs", "sysdocs", SETS / "sysdocs.jsonl"),
        GoldSet("markdown", "markdown", SETS / "markdown.jsonl"),
        GoldSet("pdfs", "pdfs", SETS / "pdfs.jsonl"),
        GoldSet("textdocs", "textdocs", SETS / "textdocs.jsonl"),
        GoldSet("pyhtml", "pyhtml", SETS / "pyhtml.jsonl"),
        GoldSet("manpdfs", "manpdfs", SETS / "manpdfs.jsonl"),
        GoldSet("webguides", "webguides", SETS / "webguides.jsonl"),
        GoldSet("doxygen", "doxygen", SETS / "doxygen.jsonl"),
        GoldSet("releases", "releases", SETS / "releases.jsonl"),
        GoldSet("texinfo", "texinfo", SETS / "texinfo.jsonl"),
        GoldSet("office", "office", SETS / "office.jsonl"),
        GoldSet("javadoc", "javadoc", SETS / "javadoc.jsonl"),
        GoldSet("squad2", "squad2", squad2 / "qa.jsonl", squad2 / "docs", public=True),
        GoldSet(
            "realtimeqa", "realtimeqa", realtimeqa / "qa.jsonl", realtimeqa / "docs", public=True
        ),
    ]
    return [s for s in found if s.questions.is_file() and (s.docs is None or s.docs.is_dir())]


def public_groups(golds: list[GoldSet]) -> tuple[str, ...]:
    """The groups of the public sets among these, in order."""
    return tuple(dict.fromkeys(g.group for g in golds if g.public))
