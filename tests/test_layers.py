"""Imports point down the layers of DESIGN.md §7, never up, and never in a circle.

Every `import` of every module under src/taskline counts: at the top of the module,
inside a function, and under `if TYPE_CHECKING:`. A function-level import still
makes the module depend on what it imports when the function runs. A guarded
one is an annotation's dependency: mypy and every reader follow it, and it
turns into a real import as soon as the type is needed at run time (an
`isinstance`, a pydantic field); a cycle hidden from the interpreter that way is
still a cycle to the reader, so it counts as one.

Importing `a.b.c` also runs `a/b/__init__.py`: that package is imported too, so
what its `__init__` imports counts. Not so for the packages the importer is
itself inside, which Python has started before the importer runs (every
module sits inside `taskline`, whose `__init__` is the public facade at the top).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import taskline

SRC = Path(taskline.__file__).parent.parent

# The layers, lowest first: a module may import its own layer and those below.
LAYER_ORDER = (
    "ground",  # §7: the error tree, ids; whatever imports nothing of taskline
    "lifecycle",  # §7: statuses and the transition table
    "records",  # §7: models.py, records.py; values computed from them
    "tool context",  # what a tool is given and gives back: named by protocols.Tool
    "protocols",  # the seams: Store, Model, Tool, Steps
    "llm",  # §7: llm/, one module per adapter, pricing, retries
    "tools",  # §7: tools/, the built-in tools, MCP
    "config",  # taskline.toml, naming models and tools' settings
    "store",  # §7: store/
    "engine",  # §7: engine/
    "observability",  # §7: observability/, traces and metrics of what the engine reports
    "durable",  # §7: durable.py, DBOS workflows and workers
    "service",  # §7: service.py, `Taskline`
    "presentation",  # records shown as text, shared by the surfaces
    "top",  # §7: api/, cli/; whatever nothing in the package may import
)

# Where each module sits. A key names one module (a package's key is its `__init__`);
# `pkg.*` names the package and everything in it. The most specific key wins.
PLACES: dict[str, str] = {
    "taskline.errors": "ground",  # §7
    "taskline.ids": "ground",  # §7
    # owner-only files and directories; store, engine, durable and api share it
    "taskline.private": "ground",
    "taskline.version": "ground",  # `__version__`, for the modules that report it
    # the model protocol's value types: a leaf, since errors.ResponseParseError carries its Usage
    "taskline.llm.types": "ground",
    # the llm package's __init__ re-exports llm.types only, so naming a message loads no adapter
    "taskline.llm": "ground",
    "taskline.lifecycle": "lifecycle",  # §7
    "taskline.models": "records",  # §7
    "taskline.records": "records",  # §7
    "taskline.reports": "records",  # the metrics report over task rows; protocols.Store names TaskRow
    "taskline.costs": "records",  # totals over CostRecords, nothing but arithmetic
    # the tools package's __init__ re-exports the tool context only (ToolContext, ToolResult,
    # Workspace); the registry of built-in tools is imported from taskline.tools.registry
    "taskline.tools": "tool context",
    "taskline.tools.result": "tool context",  # ToolResult, and ToolFailure that becomes one
    "taskline.tools.base": "tool context",  # ToolContext, and the skeleton of a built-in tool
    "taskline.tools.workspace": "tool context",  # ToolContext.workspace
    "taskline.tools.beneath": "tool context",  # how the workspace opens paths
    "taskline.tools.sandbox": "tool context",  # ToolContext.sandbox
    "taskline.tools.output": "tool context",  # cutting a result to its budget
    "taskline.protocols": "protocols",  # STYLE 3: the seams, kept in one place
    "taskline.llm.*": "llm",  # §7
    "taskline.tools.*": "tools",  # §7
    # read by service and the CLI; names endpoints (llm.registry) and sandbox and MCP settings
    "taskline.config": "config",
    "taskline.store.*": "store",  # §7
    "taskline.engine.*": "engine",  # §7
    "taskline.observability.*": "observability",  # §7
    "taskline.durable": "durable",  # §7
    # `taskline worker --processes N`: the processes that run §7's workers, one machine
    "taskline.supervisor": "durable",
    "taskline.service": "service",  # §7
    "taskline.execution": "service",  # the part of `Taskline` that runs and reviews tasks
    "taskline.render": "presentation",  # how the CLI and the API show records
    "taskline.views": "presentation",  # the JSON of each record: --json and the API's answers
    "taskline.progress": "presentation",  # a run's live progress line in the terminal
    "taskline.api.*": "top",  # §7
    "taskline.cli.*": "top",  # §7
    "taskline.__main__": "top",  # `python -m taskline`: the CLI
    "taskline": "top",  # the package's __init__: the public API, `__all__`
    "taskline.testing.*": "top",  # helpers for tests: nothing in the package may need them
}


@dataclass(frozen=True)
class Import:
    """One module importing another: where, and how."""

    importer: str
    imported: str
    path: str
    """The importer's file, relative to src."""
    line: int
    how: str = ""
    """Why it is not a plain top-level import: `in a function`, `under TYPE_CHECKING`,
    or the submodule whose import runs the package's `__init__`."""

    def __str__(self) -> str:
        how = f", {self.how}" if self.how else ""
        return f"{self.importer} imports {self.imported} ({self.path}:{self.line}{how})"


def module_files(src: Path, package: str) -> dict[str, Path]:
    """Every module of `package` under `src`, by dotted name."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, how: str = "") -> Iterable[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under `tree`, with where it sits."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, how
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _imports(node, how or "in a function")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(
                    ast.Module(body=[child], type_ignores=[]), "under TYPE_CHECKING"
                )
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), how)
        else:
            yield from _imports(node, how)


def _named(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    """The modules (or packages) an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = importer.split(".")
        parts = parts if is_package else parts[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(src: Path, package: str) -> list[Import]:
    """Every import between modules of `package`, the implied ones of package `__init__`s too."""
    modules = module_files(src, package)
    found: dict[tuple[str, str], Import] = {}
    for importer, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), str(path))
        for node, how in _imports(tree):
            names = _named(node, importer, is_package)
            # `from a.b import c` names the module a.b.c when there is one, else a.b itself
            targets = (
                [n for n in names[1:] if n in modules] if isinstance(node, ast.ImportFrom) else []
            )
            if isinstance(node, ast.Import) or len(targets) < len(names) - 1:
                targets.append(names[0])
            for target in targets:
                if target not in modules or target == importer:
                    continue
                where = str(path.relative_to(src))
                edges = [Import(importer, target, where, node.lineno, how)]
                parts = target.split(".")
                for cut in range(len(parts) - 1, 0, -1):
                    parent = ".".join(parts[:cut])
                    if importer == parent or importer.startswith(parent + "."):
                        break
                    runs = f"{how}; " if how else ""
                    edges.append(
                        Import(importer, parent, where, node.lineno, f"{runs}via {target}")
                    )
                for edge in edges:
                    found.setdefault((edge.importer, edge.imported), edge)
    return sorted(found.values(), key=lambda e: (e.importer, e.imported))


def layer_of(module: str, places: Mapping[str, str]) -> str | None:
    """The layer `places` gives `module`: its own key, else its innermost `pkg.*`."""
    if module in places:
        return places[module]
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut]) + ".*"
        if key in places:
            return places[key]
    return None


def cycles(edges: Iterable[Import]) -> list[list[Import]]:
    """The shortest cycle through each module that is in one, each cycle once."""
    graph: dict[str, dict[str, Import]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, {})[edge.imported] = edge
    found: dict[frozenset[Import], list[Import]] = {}
    for group in _strongly_connected(graph):
        for start in sorted(group):
            cycle = _shortest_cycle(graph, start, group)
            found.setdefault(frozenset(cycle), cycle)
    return sorted(found.values(), key=lambda c: (len(c), c[0].importer))


def _strongly_connected(graph: Mapping[str, Mapping[str, Import]]) -> list[set[str]]:
    # Tarjan's algorithm, iterative: a group of two or more modules is an import cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def _shortest_cycle(
    graph: Mapping[str, Mapping[str, Import]], start: str, group: set[str]
) -> list[Import]:
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child, edge in sorted(graph[node].items()):
                if child not in group or child in came_from:
                    continue
                came_from[child] = edge
                if child == start:
                    path = [edge]
                    while path[0].importer != start:
                        path.insert(0, came_from[path[0].importer])
                    return path
                following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in no cycle")  # pragma: no cover - Tarjan said it was


def describe_cycle(cycle: list[Import]) -> str:
    """`a → b (a.py:3) → a (b.py:5, in a function)`: the cycle, each step where it is written."""
    steps = [cycle[0].importer]
    for edge in cycle:
        how = f", {edge.how}" if edge.how else ""
        steps.append(f"{edge.imported} ({edge.path}:{edge.line}{how})")
    return " → ".join(steps)


def upward_imports(
    edges: Iterable[Import], places: Mapping[str, str], order: tuple[str, ...]
) -> list[str]:
    """Each import of a higher layer, and each module no layer is given to."""
    problems = []
    for edge in edges:
        low, high = layer_of(edge.importer, places), layer_of(edge.imported, places)
        if low is None or high is None:
            continue
        if order.index(high) > order.index(low):
            problems.append(f"{edge}: layer {low!r} imports layer {high!r}")
    return problems


def unplaced(modules: Iterable[str], places: Mapping[str, str]) -> list[str]:
    return [m for m in modules if layer_of(m, places) is None]


def test_every_module_has_a_layer() -> None:
    assert unplaced(module_files(SRC, "taskline"), PLACES) == []
    assert set(PLACES.values()) <= set(LAYER_ORDER)


def test_no_import_cycles() -> None:
    found = [describe_cycle(c) for c in cycles(import_graph(SRC, "taskline"))]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_no_layer_imports_a_higher_one() -> None:
    found = upward_imports(import_graph(SRC, "taskline"), PLACES, LAYER_ORDER)
    assert found == [], "imports of a higher layer:\n" + "\n".join(found)


# The checker itself, on a package written for the test.

PLANTED = {
    "pkg/__init__.py": "from pkg.top import run\n",
    "pkg/low.py": "import os\n",
    "pkg/top.py": "from pkg import low\nfrom pkg.sub.mid import helper\n",
    "pkg/sub/__init__.py": "from .mid import helper\n",
    # a cycle: mid imports leaf, and leaf's annotations import mid
    "pkg/sub/mid.py": "from pkg.sub import leaf\n\ndef helper():\n    from ..low import thing\n",
    "pkg/sub/leaf.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.mid import helper\n"
    ),
    # an upward import: a module of the low layer imports one of the middle layer
    "pkg/other.py": "import pkg.sub.leaf\n",
}
PLANTED_PLACES = {"pkg": "top", "pkg.top": "top", "pkg.*": "low", "pkg.sub.*": "mid"}


@pytest.fixture
def planted(tmp_path: Path) -> list[Import]:
    for name, text in PLANTED.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return import_graph(tmp_path, "pkg")


def test_the_graph_holds_every_kind_of_import(planted: list[Import]) -> None:
    assert [str(e) for e in planted] == [
        "pkg imports pkg.top (pkg/__init__.py:1)",
        "pkg.other imports pkg.sub (pkg/other.py:1, via pkg.sub.leaf)",
        "pkg.other imports pkg.sub.leaf (pkg/other.py:1)",
        "pkg.sub imports pkg.sub.mid (pkg/sub/__init__.py:1)",
        "pkg.sub.leaf imports pkg.sub.mid (pkg/sub/leaf.py:3, under TYPE_CHECKING)",
        "pkg.sub.mid imports pkg.low (pkg/sub/mid.py:4, in a function)",
        "pkg.sub.mid imports pkg.sub.leaf (pkg/sub/mid.py:1)",
        "pkg.top imports pkg.low (pkg/top.py:1)",
        "pkg.top imports pkg.sub (pkg/top.py:2, via pkg.sub.mid)",
        "pkg.top imports pkg.sub.mid (pkg/top.py:2)",
    ]


def test_a_planted_cycle_is_named_step_by_step(planted: list[Import]) -> None:
    assert [describe_cycle(c) for c in cycles(planted)] == [
        "pkg.sub.leaf → pkg.sub.mid (pkg/sub/leaf.py:3, under TYPE_CHECKING)"
        " → pkg.sub.leaf (pkg/sub/mid.py:1)"
    ]


def test_a_planted_upward_import_is_named(planted: list[Import]) -> None:
    order = ("low", "mid", "top")
    assert upward_imports(planted, PLANTED_PLACES, order) == [
        "pkg.other imports pkg.sub (pkg/other.py:1, via pkg.sub.leaf): layer 'low' imports layer 'mid'",
        "pkg.other imports pkg.sub.leaf (pkg/other.py:1): layer 'low' imports layer 'mid'",
    ]
    assert unplaced(["pkg.sub", "pkg.new", "elsewhere"], PLANTED_PLACES) == ["elsewhere"]
