"""The package's layout keeps its promises: no import cycles, and no JAX behind the numpy
stages or the CLI's start-up."""

import ast
import subprocess
import sys
from pathlib import Path

import dvcall

PACKAGE = Path(dvcall.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("dvcall", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the dvcall modules it imports anywhere in its body (lazy imports too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = {f"{node.module}.{a.name}" for a in node.names}
                found = targets & modules.keys()
                edges |= found or ({node.module} & modules.keys())
        graph[name] = edges - {name}
    return graph


def test_no_import_cycles():
    graph = _imports()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_numpy_stages_and_cli_start_without_jax():
    modules = sorted(m for m in _imports() if m.startswith(("dvcall.io", "dvcall.features"))
                     or m in ("dvcall.cli", "dvcall.errors", "dvcall.encoding"))
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(m for m in ('jax', 'flax', 'optax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]", (modules, result.stdout)
