"""The import graph: no cycle, counting imports inside functions and the package
`__init__`s an import runs; and every module imports in a fresh interpreter, on its own
(a cycle held apart by import order fails here). `make lint` runs these and the layer
contracts in pyproject.toml (lint-imports)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

import grimp
import pytest

from tests.conftest import REPO

PACKAGES = ("citeqa", "ingest", "api", "evals", "prompts", "cli")


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Module -> the modules importing it runs: each one it imports and, for a module in
    a package, that package's `__init__` and its parents' (they run first)."""
    edges: dict[str, set[str]] = {m: set() for m in graph.modules}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            parts = imported.split(".")
            for depth in range(1, len(parts) + 1):
                target = ".".join(parts[:depth])
                if target != module and target in edges and not module.startswith(target + "."):
                    edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(iter(children), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle_through_a_package_init() -> None:
    edges = {"a": {"a.b"}, "a.b": {"c"}, "c": {"a"}, "d": {"c"}}
    assert cycles(edges) == [["a", "a.b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(_edges(_graph())) == []


MODULES = sorted(m for m in _graph().modules if not m.endswith("__main__"))


@pytest.mark.parametrize("chunk", [MODULES[i::4] for i in range(4)], ids=range(4))
def test_every_module_imports_alone_in_a_fresh_interpreter(chunk: list[str]) -> None:
    # each module in a child interpreter of its own (the children of one call share a
    # process pool of two, which keeps this to about a minute)
    script = (
        "import subprocess, sys\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def one(m):\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True,"
        " text=True)\n"
        "    return m, r.returncode, r.stderr[-800:]\n"
        f"mods = {chunk!r}\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    bad = [x for x in pool.map(one, mods) if x[1]]\n"
        "for m, code, err in bad:\n"
        "    print(m, code, err)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
