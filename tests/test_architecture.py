"""The package's structure rules (issue 26): file sizes, one-way imports, no back-arrows.

Read from the source with `ast`, so the rules hold for every module, imported or not:

* no ``tme_env`` file over 700 lines (the model file, `tme_env/models/tme.py`, may stay near
  its 700);
* no import circle between ``tme_env`` modules, counting the imports inside functions;
* an import of another ``tme_env`` module inside a function defers an optional heavy
  dependency, and its line says which;
* the root package imports nothing from `tme_env.agents`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tme_env"
MAX_LINES = 700
#: The model file: one dataclass of ~90 sourced parameters and its rhs.
MODEL_FILE_MAX = 710
#: Optional heavy dependencies a function-level import may defer (named on its line).
HEAVY = ("ray", "minari", "d3rlpy", "optuna", "matplotlib", "torch", "stable_baselines3",
         "stable-baselines3", "sb3", "sb3_contrib", "lifelines", "pyarrow", "rl_zoo3", "tqdm",
         "tensorboard", "h5py", "yaml", "scipy", "gymnasium", "SB3")  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """``(imported tme_env module, line, inside a function)`` of one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "tme_env":
                        found.append((alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] != "tme_env":
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.append((sub if sub in MODULES else base, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return [(m, line, f) for m, line, f in found if m in MODULES and m != name]


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_700_lines(name):
    n = len(MODULES[name].read_text().splitlines())
    limit = MODEL_FILE_MAX if name == "tme_env.models.tme" else MAX_LINES
    assert n <= limit, f"{MODULES[name].relative_to(ROOT.parent)} has {n} lines (> {limit})"


def test_no_import_circle_between_modules_function_level_imports_included():
    edges = {name: sorted({m for m, _, _ in imports}) for name, imports in GRAPH.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []
    circles: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_function_level_imports_of_the_package_defer_a_heavy_dependency():
    bad = set()
    for name, imports in GRAPH.items():
        lines = MODULES[name].read_text().splitlines()
        for module, line, in_function in imports:
            if not in_function:
                continue
            text = lines[line - 1]
            comment = text.partition("#")[2] + " " + lines[line - 2].partition("#")[2]
            if not any(h in comment for h in HEAVY):
                bad.add(f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports {module}")
    assert not bad, "function-level imports that defer nothing named:\n" + "\n".join(sorted(bad))


def test_the_root_package_imports_nothing_from_agents():
    assert not [m for m, _, _ in GRAPH["tme_env"] if m.startswith("tme_env.agents")]


def test_the_checks_see_what_they_check():
    # The graph holds the package's known edges, function-level ones flagged as such.
    assert ("tme_env.envs.label", True) not in {(m, f) for m, _, f in GRAPH["tme_env.envs.core"]}
    assert any(m == "tme_env.envs.label" for m, _, _ in GRAPH["tme_env.envs.core"])
    assert len(MODULES) > 50
