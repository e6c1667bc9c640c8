"""The package's layout: no import cycles among statesafe modules, and layers that point one way.

The import graph is read from the source with ``ast``, not by importing it, so a
cycle hidden behind import order still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import statesafe

PACKAGE = Path(statesafe.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The statesafe module an import of ``name`` loads (a module, or the package holding the name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, *, module_level: bool) -> set[str]:
    """statesafe modules ``module`` imports: at import time only, or anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, not at import
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for type checkers only: never runs
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names = [f"{base}.{alias.name}" for alias in child.names] + [base]
            else:
                visit(child)
                continue
            for name in names:
                target = _target(name) if name.split(".")[0] == "statesafe" else None
                if target and target != module:
                    found.add(target)

    visit(tree)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_no_import_cycle_at_module_level():
    graph = {module: _imports(module, path, module_level=True) for module, path in MODULES.items()}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_check_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_even_through_imports_inside_functions():
    graph = {module: _imports(module, path, module_level=False) for module, path in MODULES.items()}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


#: The layers, centre first: a module may import its own layer's modules or those of layers below.
#: Policy and effects at the centre; readers and the storage steps around them; locks, the commit,
#: the journal and recovery underneath the writers; then the three enforcement products side by
#: side (none imports another); the command line on top.
LAYERS = [
    # the package itself imports only its errors eagerly; its public API loads lazily (importlib)
    ("centre", ["statesafe", "statesafe.errors", "statesafe.names", "statesafe.effects", "statesafe.policy",
                "statesafe.sanction", "statesafe.scan"]),
    ("readers and single-file steps", ["statesafe.readers", "statesafe.readers.*", "statesafe.fsutil",
                                       "statesafe.compiled"]),
    ("locks", ["statesafe.locking"]),
    ("commit", ["statesafe.commit"]),
    ("journal", ["statesafe.journal"]),
    ("recovery", ["statesafe.recovery"]),
    ("writers", ["statesafe.writers", "statesafe.backup"]),
    ("transactions", ["statesafe.transactions"]),
    ("auditor", ["statesafe.auditor", "statesafe.auditor.*"]),
    ("runtime guard", ["statesafe.guard", "statesafe.guard.*"]),
    ("agents", ["statesafe.agents", "statesafe.agents.*"]),
    ("command line", ["statesafe.commands", "statesafe.commands.*", "statesafe.cli", "statesafe.__main__"]),
]
#: the enforcement products: side by side, none imports another
PRODUCTS = {"auditor", "runtime guard", "agents"}


def _layer(module: str) -> tuple[int, str]:
    import fnmatch

    for index, (name, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return index, name
    raise AssertionError(f"{module} has no layer in tests/test_layout.py: add it where it belongs")


def test_layers_point_one_way():
    wrong = []
    for module, path in MODULES.items():
        index, name = _layer(module)
        for target in _imports(module, path, module_level=False):
            target_index, target_name = _layer(target)
            if target_index > index or (name in PRODUCTS and target_name in PRODUCTS and target_name != name):
                wrong.append(f"{module} ({name}) imports {target} ({target_name})")
    assert not wrong, "\n".join(wrong)
