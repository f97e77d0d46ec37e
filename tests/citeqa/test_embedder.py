from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from citeqa.components import embedder as embedder_module
from citeqa.components.embedder import (
    LocalMiniLMEmbedder,
    OpenAIEmbedder,
    cuda_available,
    make_embedder,
    resolve_device,
)
from citeqa.errors import ConfigurationError, EmbedderMismatch, EmbedderUnavailable
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import EXAMPLES, REPO, citeqa_serve, free_port
from tests.fixtures import openai_server


def test_local_embedder_gives_normalised_384_dim_vectors(minilm: LocalMiniLMEmbedder) -> None:
    first, second = minilm.embed_documents(
        ["The ferry leaves at noon.", "A boat departs at midday."]
    )
    assert len(first) == 384
    assert abs(sum(v * v for v in first) - 1.0) < 1e-4
    unrelated = minilm.embed_query("quarterly tax return deadline")
    similar = sum(a * b for a, b in zip(first, second, strict=True))
    assert similar > sum(a * b for a, b in zip(first, unrelated, strict=True))


def openai_settings(data_dir: Path, port: int, key: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        embed_model="openai:test-embed",
        embed_base_url=f"http://127.0.0.1:{port}/v1",
        embed_api_key=key,
    )


def test_openai_embeddings_through_the_real_client(data_dir: Path) -> None:
    port = free_port()
    settings = openai_settings(data_dir, port, "test-key")
    with openai_server.serve(port) as state:
        embedder = make_embedder(settings)
        assert (
            isinstance(embedder, OpenAIEmbedder) and embedder.dimension == openai_server.DIMENSION
        )
        engine = Engine(settings, embedder=embedder)
        engine.documents.ingest(sources_from_paths([REPO / "examples"]))
        answer = engine.query.ask("How many items can a member borrow at a time?")
        assert answer.citations and "twelve items" in answer.citations[0].quote
        assert state.requests >= 3
        # The same store refuses the local model: vectors of another space would be garbage.
        with pytest.raises(EmbedderMismatch):
            Engine(settings.replace(embed_model="local:all-MiniLM-L6-v2"))


def test_openai_errors_never_leak_upstream_text(data_dir: Path) -> None:
    port = free_port()
    settings = openai_settings(data_dir, port, "wrong-key")
    with openai_server.serve(port), pytest.raises(EmbedderUnavailable) as info:
        make_embedder(settings)
    assert "sk-secret" not in info.value.message


def test_openai_embedder_needs_a_key_or_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        make_embedder(Settings(embed_model="openai:text-embedding-3-small"))


@pytest.mark.slow
def test_the_runtime_commands_work_offline_and_without_torch(tmp_path: Path) -> None:
    """As the runtime install runs them: ingest, ask, eval and serve with torch,
    transformers and sentence-transformers unimportable (tests/fixtures/without_torch.py)
    and offline by default: with proxies pointing at a closed port and no offline switches
    or caches set by the caller, any attempt to fetch a model or an encoding would fail."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TIKTOKEN", "TRANSFORMERS"))
    }
    env.update(
        {
            "HTTP_PROXY": dead,
            "HTTPS_PROXY": dead,
            "http_proxy": dead,
            "https_proxy": dead,
            "NO_PROXY": "",
            "no_proxy": "",
            "HF_HOME": str(tmp_path / "hf"),
            "CITEQA_DATA_DIR": str(tmp_path / "data"),
        }
    )
    runner = (sys.executable, "-m", "tests.fixtures.without_torch")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [*runner, "cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert "blocked import" not in run.stderr, run.stderr[-2000:]
        return run

    cli("ingest", str(EXAMPLES))
    assert "sixteen" in cli("ask", "How old must bike share riders be?", "--json").stdout
    report = tmp_path / "reports" / "examples.md"
    cli("eval", "evals/sets/examples.jsonl", "--docs", "examples", "--report", str(report))
    assert report.is_file() and report.with_suffix(".png").is_file()
    log = tmp_path / "serve.log"
    with citeqa_serve(env, log=log, runner=runner) as url:
        answer = httpx.post(
            f"{url}/v1/query",
            json={"question": "What is the minimum age for bike share riders?"},
            timeout=60,
        )
    assert answer.status_code == 200 and "sixteen" in answer.json()["answer"]
    assert "blocked import" not in log.read_text(errors="replace")


def test_onnx_and_torch_runtimes_give_the_same_vectors(tmp_path: Path) -> None:
    import numpy as np

    from citeqa.components import minilm_onnx

    pytest.importorskip("sentence_transformers", reason="needs the torch extra")
    onnx = LocalMiniLMEmbedder(runtime="onnx")
    torch = LocalMiniLMEmbedder(runtime="torch")
    assert onnx.runtime == "onnx" and torch.runtime == "torch"
    long_text = " ".join(["The harbour ferry timetable changes in winter."] * 60)  # > 256 pieces
    texts = ["Who conveyed the decision?", "A", long_text, "Zeppelin hangar, 1931.", "x " * 5]
    # and the shipped documents' paragraphs, as ingest embeds them
    texts += [
        part
        for path in sorted(EXAMPLES.iterdir())
        for part in path.read_text(encoding="utf-8").split("\n\n")
        if part.strip()
    ]
    a = np.asarray(onnx.embed_documents(texts))
    b = np.asarray(torch.embed_documents(texts))
    assert a.shape == b.shape == (len(texts), 384) and len(texts) > 10
    assert float((a * b).sum(axis=1).min()) > 0.99999
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # the export is cached by the weights' hash, with each layer's attention fused
    import onnx

    graph = onnx.load(str(minilm_onnx.onnx_path()), load_external_data=False).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("Attention") == 6, sorted(set(ops))
    assert "Softmax" not in ops


def _without_torch(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m tests.fixtures.without_torch ARGS` (torch, transformers and
    sentence-transformers cannot be imported), from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "tests.fixtures.without_torch", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_graph_built_without_torch_gives_the_reference_vectors(tmp_path: Path) -> None:
    """Built from the safetensors with torch unimportable, into an empty model cache, the
    graph gives the vectors sentence-transformers gave for the same texts
    (tests/fixtures/minilm_reference.py made them), batched together so that the
    short ones are padded and the long one truncated at 256 pieces."""
    code = (
        "import json, sys, numpy as np\n"
        "from citeqa.components.embedder import LocalMiniLMEmbedder\n"
        "from tests.fixtures.minilm_reference import FILE\n"
        "reference = np.load(FILE, allow_pickle=False)\n"
        "embedder = LocalMiniLMEmbedder(runtime='onnx', device='auto')\n"
        "vectors = np.asarray(embedder.embed_documents([str(t) for t in reference['texts']]))\n"
        "cosines = (vectors * reference['vectors']).sum(axis=1)\n"
        "print(json.dumps({'runtime': embedder.runtime, 'cosines': cosines.tolist(),\n"
        "    'norms': np.linalg.norm(vectors, axis=1).tolist()}))\n"
    )
    run = _without_torch(["-c", code], {"CITEQA_MODEL_CACHE": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "blocked import" not in run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["runtime"] == "onnx"
    assert len(result["cosines"]) == 8
    assert min(result["cosines"]) > 0.99999, result["cosines"]
    assert all(abs(n - 1.0) < 1e-5 for n in result["norms"])
    # built once into the cache, renamed into place, attention fused in every layer
    import onnx

    (built,) = tmp_path.iterdir()
    assert built.name.endswith("-built-fused.onnx")
    ops = [node.op_type for node in onnx.load(str(built)).graph.node]
    assert ops.count("Attention") == 6 and "Softmax" not in ops, sorted(set(ops))


@pytest.mark.slow
def test_the_plain_graph_gives_the_fused_graphs_vectors(tmp_path: Path) -> None:
    """The graph as built, before onnxruntime's optimizer fuses it, is what runs when the
    fusion fails: the same vectors, padded batches included."""
    import numpy as np
    import onnx

    from citeqa.components import minilm_onnx
    from tests.fixtures.minilm_reference import FILE

    texts = [str(t) for t in np.load(FILE, allow_pickle=False)["texts"]]
    plain = tmp_path / "plain.onnx"
    onnx.save(minilm_onnx.build_graph(minilm_onnx._model_dir()), str(plain))
    assert "Softmax" in {node.op_type for node in onnx.load(str(plain)).graph.node}
    a = minilm_onnx.OnnxMiniLM(plain).encode(texts, batch_size=8)
    b = minilm_onnx.load().encode(texts, batch_size=8)
    assert float((a * b).sum(axis=1).min()) > 0.99999


@pytest.mark.slow
def test_a_failed_fusion_keeps_the_plain_graph_and_tries_again(tmp_path: Path) -> None:
    """Without sympy, onnxruntime's optimizer cannot run: the plain graph is cached apart
    (`*-plain.onnx`) and gives the reference vectors; the fused name stays free, so a
    process that can fuse builds it."""
    code = (
        "import numpy as np\n"
        "from citeqa.components.minilm_onnx import OnnxMiniLM\n"
        "from tests.fixtures.minilm_reference import FILE\n"
        "reference = np.load(FILE, allow_pickle=False)\n"
        "vectors = OnnxMiniLM().encode([str(t) for t in reference['texts']])\n"
        "print((vectors * reference['vectors']).sum(axis=1).min())\n"
    )
    cache = {"CITEQA_MODEL_CACHE": str(tmp_path)}
    run = _without_torch(["-c", code], {**cache, "CITEQA_TEST_HIDE": "sympy"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "ONNX fusion failed" in run.stderr
    assert float(run.stdout.split()[-1]) > 0.99999
    assert [p.name.endswith("-built-plain.onnx") for p in tmp_path.iterdir()] == [True]
    run = _without_torch(["-c", code], cache)
    assert run.returncode == 0 and "ONNX fusion failed" not in run.stderr
    assert sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()) == [
        "fused.onnx",
        "plain.onnx",
    ]


@pytest.mark.slow
def test_torch_settings_without_the_torch_extra_are_clear_errors(tmp_path: Path) -> None:
    for setting in ({"CITEQA_EMBED_RUNTIME": "torch"}, {"CITEQA_EMBED_DEVICE": "cuda"}):
        run = _without_torch(
            ["cli", "ask", "Who can ride?"], {**setting, "CITEQA_DATA_DIR": str(tmp_path)}
        )
        assert run.returncode != 0
        message = run.stdout + run.stderr
        assert f"{next(iter(setting))}=" in message, message[-2000:]
        assert "torch extra is not installed" in message and "make install-torch" in message
        assert "Traceback" not in message


@pytest.mark.parametrize(
    ("requested", "gpu", "expected"),
    [
        ("auto", False, "cpu"),
        ("auto", True, "cuda"),
        ("cpu", True, "cpu"),
        ("cpu", False, "cpu"),
        ("cuda", True, "cuda"),
        ("cuda", False, ConfigurationError),
    ],
)
def test_embed_device_selection(requested: str, gpu: bool, expected: object) -> None:
    if expected is ConfigurationError:
        with pytest.raises(ConfigurationError, match="CITEQA_EMBED_DEVICE=cuda"):
            resolve_device(requested, lambda: gpu)
    else:
        assert resolve_device(requested, lambda: gpu) == expected


def test_a_gpu_runs_the_torch_runtime_and_cpu_keeps_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder_module, "cuda_available", lambda: True)
    on_gpu = LocalMiniLMEmbedder(runtime="onnx", device="auto")
    assert (on_gpu.device, on_gpu.runtime) == ("cuda", "torch")
    pinned = LocalMiniLMEmbedder(runtime="onnx", device="cpu")
    assert (pinned.device, pinned.runtime) == ("cpu", "onnx")


def test_embed_device_setting_is_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEQA_EMBED_DEVICE", "gpu")
    with pytest.raises(ValueError, match=r"embedding\.device"):
        Settings()
    monkeypatch.setenv("CITEQA_EMBED_DEVICE", "auto")
    assert Settings().embedding.device == "auto"
    if not cuda_available():
        # asking for a GPU where there is none fails at start-up, not at the first query
        with pytest.raises(ConfigurationError, match="no CUDA device"):
            make_embedder(Settings(data_dir=tmp_path, embed_device="cuda"))
        assert LocalMiniLMEmbedder(device="auto").device == "cpu"


def test_cpu_only_torch_is_recognised_without_importing_torch() -> None:
    import importlib.metadata

    if not importlib.metadata.version("torch").endswith("+cpu"):
        pytest.skip("a torch build with CUDA is installed")
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from citeqa.components.embedder import cuda_available;"
            "print(cuda_available(), 'torch' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert probe.stdout.split() == ["False", "False"]


@pytest.mark.skipif(not cuda_available(), reason="needs a CUDA device")
def test_gpu_and_cpu_vectors_agree() -> None:
    texts = [
        "The ferry to Gull Island leaves at nine every morning.",
        "Tickets cost six euros and bicycles travel free. The trail is four kilometres long.",
        "Swimming is allowed only at the north beach.",
    ]
    spans = [[(0, 20)], [(0, 49), (50, len(texts[1]))], []]
    cpu = LocalMiniLMEmbedder(runtime="torch", device="cpu")
    gpu = LocalMiniLMEmbedder(runtime="torch", device="cuda")
    (cpu_vectors, cpu_units), (gpu_vectors, gpu_units) = (
        cpu.embed_chunks(texts, spans),
        gpu.embed_chunks(texts, spans),
    )
    for a, b in zip(cpu_vectors, gpu_vectors, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.999
    for a, b in zip(cpu_units, gpu_units, strict=True):
        if a is not None and b is not None:
            assert ((a * b).sum(axis=1) > 0.999).all()
