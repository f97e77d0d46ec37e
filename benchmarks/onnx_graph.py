"""The embedder's ONNX graph built without torch against the one torch exported, in one run.

    python -m benchmarks.onnx_graph [--docs DIR] [--texts 256] [--rounds 5] [--out FILE]

Both graphs come from the same packaged safetensors and go through onnxruntime's
transformer optimizer: the one citeqa uses, built operator by operator with the `onnx`
package (citeqa.components.minilm_onnx.build), and the one citeqa used to make with
torch.onnx.export (eager attention, opset 17; kept here only for this comparison, so it
needs the torch extra). Texts: 256 passages (--texts) of 16 to 220 words of the
documents under DIR (default examples/), encoded in length-sorted batches of 32 by the
same OnnxMiniLM code with either graph. Each round times both, in alternating order;
the report gives every round, the medians, the ratio (built over exported seconds:
below 1.0 means the built graph is faster), the fused operators of each graph, and the
smallest cosine between their vectors.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _texts(folder: Path, count: int) -> list[str]:
    """`count` passages of the documents' words, 16 to 220 words long (short questions to
    chunks past the 256-piece window), from evenly spread starting points."""
    words: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            words += path.read_text(encoding="utf-8", errors="replace").split()
    sizes = (16, 48, 96, 160, 220)
    step = max(1, len(words) // count)
    return [
        " ".join(words[(i * step) % len(words) :][: sizes[i % len(sizes)]]) for i in range(count)
    ]


def export_with_torch(model_dir: Path, target: Path) -> None:
    """The graph as citeqa exported it before it built its own (fused the same way)."""
    import torch
    from transformers import AutoModel

    from citeqa.components import minilm_onnx

    class _Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    dynamic = {0: "batch", 1: "pieces"}
    with torch.no_grad():
        torch.onnx.export(
            _Encoder(model),
            (ids, ids, torch.zeros_like(ids)),
            str(target),
            input_names=list(minilm_onnx.INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={name: dynamic for name in (*minilm_onnx.INPUTS, "last_hidden_state")},
            opset_version=minilm_onnx.OPSET,
            dynamo=False,
        )
    minilm_onnx._fuse(str(target))


def _operators(path: Path) -> dict[str, int]:
    import onnx

    graph = onnx.load(str(path)).graph
    return dict(collections.Counter(node.op_type for node in graph.node))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=REPO / "examples")
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from citeqa.components import minilm_onnx

    texts = _texts(args.docs, args.texts)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CITEQA_MODEL_CACHE"] = cache
        model_dir = minilm_onnx._model_dir()
        built_path = minilm_onnx.onnx_path(model_dir)
        started = time.perf_counter()
        built_path = minilm_onnx.build(model_dir, built_path)
        build_s = time.perf_counter() - started
        exported_path = Path(cache) / "exported.onnx"
        started = time.perf_counter()
        export_with_torch(model_dir, exported_path)
        export_s = time.perf_counter() - started
        built = minilm_onnx.OnnxMiniLM()
        exported = minilm_onnx.OnnxMiniLM(exported_path)
        a, b = built.encode(texts, 32), exported.encode(texts, 32)  # also warms both up
        rounds: list[dict[str, float]] = []
        for i in range(args.rounds):
            order = [("built", built), ("exported", exported)]
            timed: dict[str, float] = {}
            for name, model in order if i % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                model.encode(texts, 32)
                timed[name] = round(time.perf_counter() - started, 4)
            rounds.append(timed)
        report: dict[str, Any] = {
            "texts": len(texts),
            "docs": str(args.docs),
            "cpus": os.cpu_count(),
            "build_s": round(build_s, 2),
            "torch_export_s": round(export_s, 2),
            "operators": {"built": _operators(built_path), "exported": _operators(exported_path)},
            "min_cosine": float((a * b).sum(axis=1).min()),
            "rounds": rounds,
            "median_s": {k: statistics.median(r[k] for r in rounds) for k in ("built", "exported")},
        }
        report["ratio"] = round(report["median_s"]["built"] / report["median_s"]["exported"], 3)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
