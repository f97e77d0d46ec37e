"""The verifier: the bundled cross-encoder fine-tuned to tell a passage that answers a
question from one that only shares its words (a near-miss), which the answer stage asks
before it answers.

The fine-tuned weights ship as a patch of the bundled graph (`verifier.npz` beside this
package's answer models: the initializers fine-tuning changed, already quantized in the
graph's own scheme, with `verifier.json` saying how they were made, the logit threshold
and how many units to read). At first use the patched graph is written once under
CITEQA_MODEL_CACHE, named by the patch's hash, through a temporary file renamed into
place, with the bundled tokenizer beside it; it is then read by the same code as any
reader model. `python -m evals.tune_reader --ship` makes the patch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.components.reader import CrossEncoderReader, bundled_dir
from citeqa.errors import ConfigurationError

ANSWERING = Path(__file__).resolve().parents[1] / "answering"
PATCH_FILE = ANSWERING / "verifier.npz"
CARD_FILE = ANSWERING / "verifier.json"


def card(path: Path = CARD_FILE) -> dict[str, Any]:
    """How the shipped verifier was made, its threshold and how many units it reads."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def patched(graph: Any, patch: dict[str, np.ndarray]) -> Any:
    """A copy of the ONNX graph with these initializers replaced (each must exist, with
    its type and shape)."""
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(graph)
    by_name = {init.name: init for init in out.graph.initializer}
    for name, value in patch.items():
        init = by_name.get(name)
        if init is None:
            raise ConfigurationError(f"the verifier patch names {name}, not in the bundled graph")
        old = numpy_helper.to_array(init)
        if old.shape != value.shape or old.dtype != value.dtype:
            raise ConfigurationError(f"the verifier patch's {name} does not fit the bundled graph")
        init.CopyFrom(numpy_helper.from_array(value, name))
    return out


def built(patch_file: Path = PATCH_FILE, cache: Path | None = None) -> Path:
    """The folder holding the patched model.onnx and tokenizer.json, built once."""
    import onnx

    from citeqa.components.minilm_onnx import cache_dir

    if not patch_file.is_file():
        raise ConfigurationError(f"no verifier patch at {patch_file}")
    folder = (cache or cache_dir()) / f"verifier-{_digest(patch_file)}"
    target = folder / "model.onnx"
    if target.is_file() and (folder / "tokenizer.json").is_file():
        return folder
    source = bundled_dir()
    with np.load(patch_file) as values:
        patch = {name: values[name] for name in values.files}
    model = patched(onnx.load(str(source / "model.onnx")), patch)
    folder.mkdir(parents=True, exist_ok=True)
    for name, write in (
        ("tokenizer.json", lambda tmp: shutil.copyfile(source / "tokenizer.json", tmp)),
        ("model.onnx", lambda tmp: onnx.save(model, tmp)),
    ):
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, folder / name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return folder


@functools.lru_cache(maxsize=4)
def load_verifier(model: str | None = None) -> CrossEncoderReader:
    """The verifier for a model setting (unset: the shipped patch of the bundled model),
    loaded once per process and shared."""
    reader = CrossEncoderReader(model if model is not None else str(built()))
    if model is None:
        reader.name = str(card().get("name", "verifier"))
    return reader
