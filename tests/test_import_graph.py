"""The module graph of dnalens: no import cycles and no import from a lower layer to a higher.

Every module under src/dnalens is parsed with ``ast`` (nothing is imported), so an import
hidden inside a function, under ``if TYPE_CHECKING:`` or written relatively
(``from . import x``) counts like any other: a function-local import breaks no cycle, it only
delays it to the first call. ``from dnalens.x import y`` is an edge to ``dnalens.x.y`` when
``y`` is a submodule, otherwise to ``dnalens.x`` (a package's ``__init__``, which is a module
here too, so a cycle through a re-exporting ``__init__`` is found).
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from pathlib import Path

import pytest

import dnalens

SRC = Path(dnalens.__file__).resolve().parent

# The layers, lowest first; a module may import from its own layer and the layers before it
# (ARCHITECTURE.md: io -> sequence -> data -> models -> train -> apply / interpret ->
# plot / report -> cli). A layer is the first name under dnalens (a subpackage or a top-level
# module); "" is the package itself, dnalens/__init__.py, the lazy facade over everything.
LAYERS: list[tuple[str, frozenset[str]]] = [
    # Used by every layer: none of them imports io or anything above it. config is the
    # YAML schema (pydantic, no models), which data builds from.
    ("foundation", frozenset({"errors", "alphabet", "checks", "files", "regions",
                              "config", "config_errors", "resources"})),
    ("io", frozenset({"io"})),
    ("sequence", frozenset({"sequence"})),
    ("data", frozenset({"data"})),
    ("models", frozenset({"models"})),
    # config_checks checks a parsed config against the model registry before training.
    ("train", frozenset({"train", "config_checks"})),
    ("apply / interpret", frozenset({"apply", "interpret"})),
    ("plot / report", frozenset({"plot", "report"})),
    ("cli", frozenset({"cli"})),
    ("package", frozenset({""})),
]

# Upward imports still allowed, each with the reason; keep this list short.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    # issue 13 item 4: the figure-drawing writers of evaluation move to report.
    ("dnalens.apply.evaluate_longrange", "dnalens.plot.contacts"): "issue 13 item 4",
    ("dnalens.apply.evaluate_longrange", "dnalens.plot.tracks"): "issue 13 item 4",
}

# The cycles issue 13 item 8 named (hidden behind function-local imports until then).
FORMER_CYCLES = [
    ("dnalens.apply.evaluate", "dnalens.apply.evaluate_longrange"),
    ("dnalens.cli.main", "dnalens.cli.report"),
    ("dnalens.io.genome", "dnalens.io.contigs"),
]

Graph = dict[str, dict[str, int]]  # module -> imported module -> first line of the import


def find_modules(src: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every .py file under ``src``."""
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = [package, *path.relative_to(src).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: dict, package: str) -> list[str]:
    """The modules of ``package`` one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from the module's package, up level - 1 packages
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        names = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                 for alias in node.names]
    targets = []
    for name in names:
        if name != package and not name.startswith(package + "."):
            continue
        while name not in modules and "." in name:  # an attribute, or a module not found
            name = name.rsplit(".", 1)[0]
        if name in modules and name != module:
            targets.append(name)
    return targets


def module_graph(src: Path, package: str) -> Graph:
    """Every import between the package's modules, wherever in a module it is written."""
    modules = find_modules(src, package)
    graph: Graph = {name: {} for name in modules}
    for name, (path, is_package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, name, is_package, modules, package):
                    graph[name].setdefault(target, node.lineno)
    return graph


def _path(graph: Graph, start: str, goal: str) -> list[str] | None:
    """A shortest import path start -> ... -> goal (breadth first), or None."""
    before: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for nxt in graph.get(current, {}):
            if nxt == goal:
                path = [goal, current]
                while before[path[-1]] is not None:
                    path.append(before[path[-1]])
                return path[::-1]
            if nxt not in before:
                before[nxt] = current
                queue.append(nxt)
    return None


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle (a path back to its start) per group of modules that import each other."""
    cycles, seen = [], set()
    for module in sorted(graph):
        if module in seen:
            continue
        cycle = _path(graph, module, module)
        if cycle is not None:
            seen.update(cycle)
            cycles.append(cycle)
    return cycles


def describe_cycle(graph: Graph, cycle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    return " -> ".join([*steps, cycle[-1]])


def layer_of(module: str, package: str = "dnalens") -> int:
    top = module[len(package) + 1:].split(".")[0] if module != package else ""
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    raise LookupError(f"{module}: '{top}' is in no layer; add it to LAYERS in {__file__}")


def upward_imports(graph: Graph, package: str = "dnalens") -> list[str]:
    """'a (line n) -> b: layer x imports layer y' for each import to a higher layer."""
    found = []
    for module, imports in sorted(graph.items()):
        for target, line in sorted(imports.items()):
            low, high = layer_of(module, package), layer_of(target, package)
            if high > low and (module, target) not in ALLOWED_UPWARD:
                found.append(f"{module} (line {line}) -> {target}: layer "
                             f"'{LAYERS[low][0]}' imports layer '{LAYERS[high][0]}'")
    return found


@pytest.fixture(scope="module")
def graph() -> Graph:
    return module_graph(SRC, "dnalens")


# ---------------------------------------------------------------------------------------------
# dnalens itself
# ---------------------------------------------------------------------------------------------


def test_no_import_cycles(graph):
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe_cycle(graph, c) for c in cycles)


def test_every_module_is_in_a_layer(graph):
    for module in graph:
        layer_of(module)  # raises, naming the module, for one in no layer


def test_no_import_from_a_lower_layer_to_a_higher(graph):
    upward = upward_imports(graph)
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_allowed_upward_imports_still_exist(graph):
    # An exception whose import is gone is removed from the list, so it cannot come back.
    stale = [f"{a} -> {b}" for a, b in ALLOWED_UPWARD if b not in graph.get(a, {})]
    assert not stale, f"remove from ALLOWED_UPWARD: {stale}"


@pytest.mark.parametrize(("first", "second"), FORMER_CYCLES)
def test_the_cycles_of_issue_13_are_gone(graph, first, second):
    assert first in graph and second in graph  # renamed modules must be renamed here too
    there, back = _path(graph, first, second), _path(graph, second, first)
    assert there is None or back is None, f"{' -> '.join(there)} and {' -> '.join(back)}"


def test_contig_matching_lives_in_io_contigs(graph):
    from dnalens.io import contacts, contigs, tracks

    for name in ("contig_lookup", "describe_missing_in_file", "genome_name", "bare_name"):
        assert getattr(contigs, name).__module__ == "dnalens.io.contigs"
    # Still importable from the bigWig module, where they were before.
    assert tracks.contig_lookup is contigs.contig_lookup
    assert tracks.describe_missing_in_file is contigs.describe_missing_in_file
    assert contacts.contig_lookup is contigs.contig_lookup
    # Name matching needs nothing of the genome module (genome -> contigs only).
    assert "dnalens.io.genome" not in graph["dnalens.io.contigs"]
    for module in ("dnalens.io.tracks", "dnalens.io.bigwig_file"):
        tree = ast.parse((SRC / "io" / f"{module.rsplit('.', 1)[1]}.py").read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not defined & {"contig_lookup", "describe_missing_in_file", "genome_name",
                              "_alternative_names"}, module


# ---------------------------------------------------------------------------------------------
# The graph builder on a made-up package, so the checks above can fail
# ---------------------------------------------------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_builder_sees_local_relative_and_submodule_imports(tmp_path):
    src = _package(tmp_path, {
        "__init__.py": "from pkg.io import reader\n",
        "io/__init__.py": "from . import reader\n",
        "io/reader.py": "def f():\n    from ..io import names  # local, relative\n",
        "io/names.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                       "    from pkg.io.reader import f\n",
        "cli/__init__.py": "",
        "cli/main.py": "import pkg.io.reader\nfrom pkg.io.names import thing\nimport os\n",
    })
    graph = module_graph(src, "pkg")
    assert graph["pkg"] == {"pkg.io.reader": 1}
    assert graph["pkg.io"] == {"pkg.io.reader": 1}
    assert graph["pkg.io.reader"] == {"pkg.io.names": 2}
    assert graph["pkg.io.names"] == {"pkg.io.reader": 3}
    assert graph["pkg.cli.main"] == {"pkg.io.reader": 1, "pkg.io.names": 2}
    cycles = find_cycles(graph)
    assert [set(c) for c in cycles] == [{"pkg.io.names", "pkg.io.reader"}]
    assert describe_cycle(graph, cycles[0]) == \
        "pkg.io.names (line 3) -> pkg.io.reader (line 2) -> pkg.io.names"


def test_builder_finds_a_cycle_through_a_package_init(tmp_path):
    src = _package(tmp_path, {
        "__init__.py": "",
        "models/__init__.py": "from pkg.models.store import load\n",
        "models/store.py": "from pkg.models import registry\nfrom pkg.models import build\n",
        "models/registry.py": "",
    })
    graph = module_graph(src, "pkg")
    assert graph["pkg.models.store"] == {"pkg.models.registry": 1, "pkg.models": 2}
    assert [set(c) for c in find_cycles(graph)] == [{"pkg.models", "pkg.models.store"}]


def test_upward_imports_are_reported_with_their_layers(tmp_path):
    src = _package(tmp_path, {
        "__init__.py": "",
        "io/__init__.py": "",
        "io/genome.py": "def f():\n    from pkg.cli.main import run\n",
        "cli/__init__.py": "",
        "cli/main.py": "from pkg.io.genome import f\n",
        "errors.py": "",
    })
    graph = module_graph(src, "pkg")
    assert upward_imports(graph, "pkg") == [
        "pkg.io.genome (line 2) -> pkg.cli.main: layer 'io' imports layer 'cli'"]
    with pytest.raises(LookupError, match=r"pkg\.kinds\.peaks: 'kinds' is in no layer"):
        layer_of("pkg.kinds.peaks", "pkg")
