"""Fine-tuning the reader: the bundled cross-encoder (ms-marco-MiniLM-L-12-v2, INT8) taught
to tell a passage that answers a question from one that only shares its words.

MS MARCO taught it relevance, and a near-miss is as relevant as a paraphrase. Its INT8
weights are dequantized into a PyTorch BERT of the same shape, fine-tuned on pairs made
from the project's own gold sets (never the public ones), and quantized back into the
same ONNX graph with the same scheme (symmetric int8 matrices, asymmetric uint8
embeddings), so the result loads wherever the bundled model does
(`CITEQA_READER_MODEL=DIR`).

Only the biases and layer norms are trained (BitFit): they are float in the INT8 graph,
so what ships is exactly what was measured; a full fine-tune's small steps vanish when
its matrices are quantized back.

The pairs, per gold question (the FactCC recipe, turned to questions):
- an answerable question with its gold evidence, and with the first unit of its pool
  that overlaps the evidence, read as the engine reads it (context line, the end of the
  unit before, the unit): answers;
- the same evidence with the gold answer taken out of it: the topic is there and the
  answer is not, what a near-miss meets;
- the question with one detail swapped (evals/nearmiss.py: a number or version, a name,
  a date word, an identifier, for one of the same kind from the set's other questions),
  against the same evidence: the passage answers something close;
- a near-miss question of the set against the first units of its pool;
- with `Tuning.reworded`, the answerable question with words it shares with its evidence
  replaced by synonyms the evidence lacks (evals/training/paraphrase.py), against the
  evidence (answers) and against the evidence with the answer taken out (does not): a
  word swapped for a synonym keeps the label where a detail swapped changes it.

Training is CPU-only and deterministic (fixed seeds, fixed order, two threads). Torch
and transformers are needed here only, never to serve.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evals.training.dumps import QuestionDump, SetDump

if TYPE_CHECKING:
    import onnx
    import torch

HIDDEN = 384
LAYERS = 12
PIECES = 200  # pairs are cut to this many word pieces while training
POOL_READ = 40  # units of a question's pool read when a set is scored
NEAR_MISS_UNITS = 3
EVIDENCE_PER_QUESTION = 2
SWAPS_PER_QUESTION = 2  # near-misses made by swapping a detail (evals/nearmiss.py)
SEED = 0

NUMBER = re.compile(r"[\d.,%\s]+\w*")


@dataclass(frozen=True)
class Pair:
    question: str
    text: str
    answers: float  # 1.0: the text answers the question


@dataclass
class Tuning:
    epochs: int = 2
    learning_rate: float = 1e-3
    batch: int = 16
    threads: int = 2
    reworded: bool = False  # reworded answerable questions among the pairs (--reworded)


# ---- the model: the bundled ONNX weights as a PyTorch BERT and back -----------------


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def _torch_names(model: onnx.ModelProto) -> dict[str, tuple[str, bool]]:
    """Quantized initializer base name -> (the PyTorch parameter, stored transposed).
    The encoder's matrices are anonymous in the graph (`onnx::MatMul_N`): their
    MatMulInteger node's name says which linear layer they are."""
    names: dict[str, tuple[str, bool]] = {}
    for init in model.graph.initializer:
        if init.name.endswith("_quantized") and not init.name.startswith("onnx::"):
            base = init.name.removesuffix("_quantized")
            transposed = base.startswith(("bert.pooler", "classifier"))
            names[base] = (base, transposed)
    for node in model.graph.node:
        if node.op_type == "MatMulInteger" and node.input[1].startswith("onnx::"):
            base = node.input[1].removesuffix("_quantized")
            module = ".".join(node.name.split("/")[1:-1])  # /bert/encoder/layer.0/.../MatMul_quant
            names[base] = (f"{module}.weight", True)
    return names


def dequantized(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The graph's weights as float32 PyTorch parameters of BertForSequenceClassification."""
    values = _initializers(model)
    state: dict[str, np.ndarray] = {}
    for base, (name, transposed) in _torch_names(model).items():
        q = values[f"{base}_quantized"].astype(np.float32)
        zero = values[f"{base}_zero_point"].astype(np.float32)
        weight = (q - zero) * values[f"{base}_scale"]
        state[name] = np.ascontiguousarray(weight.T if transposed else weight)
    for name, value in values.items():
        if name.startswith(("bert.", "classifier")) and not name.endswith(
            ("_quantized", "_scale", "_zero_point")
        ):
            state[name] = value
    return state


def _quantize(weight: np.ndarray, kind: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quantized, scale, zero point) in the graph's own scheme for that integer type."""
    if kind == np.int8:  # symmetric, zero point 0
        scale = np.float32(max(float(np.abs(weight).max()), 1e-12) / 127.0)
        q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
        return q, np.asarray(scale, np.float32), np.asarray(0, np.int8)
    low, high = min(float(weight.min()), 0.0), max(float(weight.max()), 0.0)
    scale = np.float32(max(high - low, 1e-12) / 255.0)
    zero = np.uint8(np.clip(np.rint(-low / scale), 0, 255))
    q = np.clip(np.rint(weight / scale) + int(zero), 0, 255).astype(np.uint8)
    return q, np.asarray(scale, np.float32), np.asarray(zero, np.uint8)


def requantized(model: onnx.ModelProto, state: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of the graph carrying these weights, quantized as the graph's were; the
    weights equal to the graph's own stay as they are, bit for bit."""
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    values = _initializers(model)
    original = dequantized(model)
    state = {k: v for k, v in state.items() if k in original and not np.array_equal(v, original[k])}
    replaced: dict[str, np.ndarray] = {}
    for base, (name, transposed) in _torch_names(model).items():
        if name not in state:
            continue
        weight = state[name].T if transposed else state[name]
        kind = values[f"{base}_quantized"].dtype
        q, scale, zero = _quantize(np.asarray(weight, np.float32), kind)
        replaced[f"{base}_quantized"] = q
        replaced[f"{base}_scale"] = scale
        replaced[f"{base}_zero_point"] = zero
    for name in values:
        if name in state and name not in replaced:
            replaced[name] = np.asarray(state[name], values[name].dtype)
    for init in out.graph.initializer:
        if init.name in replaced:
            init.CopyFrom(numpy_helper.from_array(replaced[init.name], init.name))
    return out


def torch_model(state: dict[str, np.ndarray]) -> Any:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=state["bert.embeddings.word_embeddings.weight"].shape[0],
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=12,
        intermediate_size=4 * HIDDEN,
        max_position_embeddings=state["bert.embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=2,
    )
    config.num_labels = 1  # one relevance logit
    model = BertForSequenceClassification(config)
    missing, unexpected = model.load_state_dict(
        {k: torch.tensor(v) for k, v in state.items()}, strict=False
    )
    # position ids are a buffer the graph does not carry
    if [m for m in missing if "position_ids" not in m] or unexpected:
        raise ValueError(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    return model


def state_of(model: Any) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


# ---- the pairs ----------------------------------------------------------------------


def unit_read(question: QuestionDump, i: int) -> str:
    """Unit i of a dumped pool as the engine's reader reads it."""
    from citeqa.answering.scorer import reader_text

    contexts = getattr(question, "passage_contexts", None) or []
    passage = int(question.passage[i])
    context = contexts[passage] if passage < len(contexts) else ""
    previous = int(question.previous[i])
    return reader_text(context, question.displays[previous] if previous >= 0 else None,
                       question.displays[i])  # fmt: skip


def answer_taken_out(text: str, answers: Iterable[str]) -> str | None:
    """The text with each gold answer found in it replaced by a word that holds no answer
    ("several" for a number, "it" otherwise); None when no answer is in it."""
    out = text
    found = False
    for answer in sorted({a for a in answers if a.strip()}, key=len, reverse=True):
        at = out.lower().find(answer.lower())
        while at >= 0:
            found = True
            stand_in = "several" if NUMBER.fullmatch(answer) else "it"
            out = out[:at] + stand_in + out[at + len(answer) :]
            at = out.lower().find(answer.lower(), at + len(stand_in))
    return out if found else None


def set_pairs(dump: SetDump, records: Sequence[Any], reworded: bool = False) -> list[Pair]:
    """The training pairs of one gold set (its records and its dump); `reworded` adds
    each answerable question's rewording against its first evidence."""
    from evals.nearmiss import near_misses
    from evals.training.paraphrase import reworded as rewording

    by_id = {q.id: q for q in dump.questions}
    swapped: dict[str, list[str]] = {}
    for made in near_misses(records, SWAPS_PER_QUESTION):
        swapped.setdefault((made.model_extra or {})["source"], []).append(made.question)
    pairs: list[Pair] = []
    for record in records:
        question = record.question
        pooled = by_id.get(record.id)
        if not record.answerable:
            if pooled is not None:
                for i in range(min(NEAR_MISS_UNITS, len(pooled.displays))):
                    pairs.append(Pair(question, unit_read(pooled, i), 0.0))
            continue
        evidence = record.evidence[:EVIDENCE_PER_QUESTION]
        for found in evidence:
            pairs.append(Pair(question, found.text, 1.0))
            removed = answer_taken_out(found.text, record.answers)
            if removed is not None:
                pairs.append(Pair(question, removed, 0.0))
        if evidence:
            for other in swapped.get(record.id, []):
                pairs.append(Pair(other, evidence[0].text, 0.0))
            words_changed = rewording(question, evidence[0].text, record.id) if reworded else None
            if words_changed is not None:
                pairs.append(Pair(words_changed, evidence[0].text, 1.0))
                removed = answer_taken_out(evidence[0].text, record.answers)
                if removed is not None:
                    pairs.append(Pair(words_changed, removed, 0.0))
        if pooled is not None:
            for i in np.flatnonzero(pooled.labels)[:1]:
                pairs.append(Pair(question, unit_read(pooled, int(i)), 1.0))
    return pairs


# ---- training and scoring -----------------------------------------------------------


def _tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=PIECES, strategy="longest_first")
    return tokenizer


def _batch(tokenizer: Any, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
    import torch

    from citeqa.components.minilm_onnx import padded

    encodings = tokenizer.encode_batch(list(pairs))
    return {name: torch.from_numpy(value) for name, value in padded(encodings).items()}


def trainable(name: str) -> bool:
    """Whether fine-tuning moves this parameter: the biases and layer norms only. They
    are float in the bundled graph, so the tuned model ships exactly; its matrices are
    INT8, and the small steps fine-tuning takes are below their quantization step (a
    full fine-tune, quantized back, read like the bundled model: licences held-out
    separation 0.707 against 0.889 in float)."""
    return name.endswith(".bias") or "LayerNorm" in name


def fine_tune(model: Any, tokenizer: Any, pairs: Sequence[Pair], tuning: Tuning,
              log: Any = print) -> None:  # fmt: skip
    """Binary cross-entropy on the model's one logit, moving the `trainable` parameters:
    linear warm-up over a tenth of the steps, then linear decay; pairs shuffled by a
    fixed seed each epoch."""
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(tuning.threads)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = trainable(name)
    optimiser = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=tuning.learning_rate,
        weight_decay=0.01,
    )
    steps = tuning.epochs * -(-len(pairs) // tuning.batch)
    warm = max(1.0, 0.1 * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1.0 - s / steps)
    )
    loss_of = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(SEED)
    for epoch in range(tuning.epochs):
        model.train()
        order = list(range(len(pairs)))
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), tuning.batch):
            chosen = [pairs[i] for i in order[start : start + tuning.batch]]
            inputs = _batch(tokenizer, [(p.question, p.text) for p in chosen])
            target = torch.tensor([p.answers for p in chosen])
            loss = loss_of(model(**inputs).logits[:, 0], target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(chosen)
        log(f"  epoch {epoch + 1}: mean loss {total / len(pairs):.3f}")
    model.eval()


def logits(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], batch: int = 32
) -> np.ndarray:
    """The model's logit for each (question, text), batched by length."""
    import torch

    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]) + len(pairs[i][1]), i))
    out = np.zeros(len(pairs), dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            values = model(**_batch(tokenizer, [pairs[i] for i in chosen])).logits[:, 0]
            out[chosen] = values.numpy()
    return out


def read_best(
    score: Any, dumps: Sequence[SetDump], records: dict[str, Any], units: int = POOL_READ
) -> list[tuple[str, bool, list[float]]]:
    """Per question (id, answerable, logits of its best `units` units by the shipped
    answer model's unit probability, best first): what the verifier reads when it
    checks an answer."""
    from citeqa.answering.model import AnswerModel

    ranking = AnswerModel.load().units
    pairs: list[tuple[str, str]] = []
    spans: list[tuple[str, bool, int, int]] = []
    for dump in dumps:
        for question in dump.questions:
            order = np.argsort(-ranking.probabilities(question.rows), kind="stable")[:units]
            asked = records[question.id].question
            spans.append((question.id, question.answerable, len(pairs), len(order)))
            pairs.extend((asked, unit_read(question, int(i))) for i in order)
    values = score(pairs)
    return [(qid, a, [float(v) for v in values[o : o + n]]) for qid, a, o, n in spans]


def separation(read: Sequence[tuple[str, bool, list[float]]], units: int) -> float | None:
    """AUC of answerable over unanswerable questions, each scored by its best logit over
    its best `units` units."""
    from evals.metrics import separation_auc

    return separation_auc([(max(v[:units], default=-1e9), a) for _q, a, v in read])


def gate_figures(
    read: Sequence[tuple[str, bool, list[float]]], units: int, threshold: float
) -> dict[str, int]:
    """How a gate at `threshold` over the best `units` units treats a set's questions."""
    passed = [(a, max(v[:units], default=-1e9) >= threshold) for _q, a, v in read]
    return {
        "answerable": sum(a for a, _p in passed),
        "answerable_passed": sum(a and p for a, p in passed),
        "unanswerable": sum(not a for a, _p in passed),
        "unanswerable_stopped": sum(not a and not p for a, p in passed),
    }


def choose_gate(
    per_group: dict[str, Sequence[tuple[str, bool, list[float]]]],
    units_choices: Sequence[int] = (3, 5, 10),
) -> tuple[int, float]:
    """(units, threshold) with the best mean over the groups of the gate's balanced
    accuracy (answerable questions passed, unanswerable ones stopped, weighed alike); a
    group without both kinds counts its one kind. Ties: fewer units, lower threshold."""
    best: tuple[float, int, float] | None = None
    for units in units_choices:
        values = sorted(
            {
                round(max(v[:units], default=-1e9), 3)
                for read in per_group.values()
                for _q, _a, v in read
            }
        )
        for threshold in values:
            scores = []
            for read in per_group.values():
                f = gate_figures(read, units, threshold)
                parts = []
                if f["answerable"]:
                    parts.append(f["answerable_passed"] / f["answerable"])
                if f["unanswerable"]:
                    parts.append(f["unanswerable_stopped"] / f["unanswerable"])
                scores.append(sum(parts) / len(parts))
            mean = sum(scores) / len(scores)
            if best is None or mean > best[0] + 1e-12:
                best = (mean, units, threshold)
    assert best is not None
    return best[1], best[2]


def patch_of(graph: onnx.ModelProto, tuned: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The initializers the tuned graph changed: what citeqa.components.verifier
    patches back into the bundled graph."""
    before = _initializers(graph)
    return {
        name: value
        for name, value in _initializers(tuned).items()
        if not np.array_equal(value, before[name])
    }
