"""Import hygiene: the runtime guard, the agent hooks and the auditor stay out of each other's way.

- ``statesafe.guard`` is the runtime guard only (and what starts it); the agent hooks
  live in ``statesafe.agents``; neither package imports the other.
- Importing the hook or the auditor does not load the runtime guard (checked in a
  fresh interpreter, through ``sys.modules``).
- The pytest plugin uses only the guard's public API.
- Claude's apply mode uses the judge, not the adapter (no import cycle).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import statesafe
from statesafe import agents, guard

SRC = Path(statesafe.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The statesafe modules a source file imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("statesafe")}


def loaded_after(*modules: str) -> set[str]:
    """The statesafe modules in sys.modules after importing ``modules`` in a fresh interpreter."""
    code = (f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('statesafe'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


def test_the_guard_package_holds_only_the_runtime_guard_and_what_starts_it():
    names = {p.name for p in (SRC / "guard").iterdir() if not p.name.startswith(("__pycache__", "."))}
    assert names == {"__init__.py", "runtime.py", "auto.py", "run.py", "boot", "pytest_plugin.py"}


def test_the_guard_package_is_a_small_re_export_of_the_public_api():
    assert set(guard.__all__) == {"install", "uninstall", "guarded", "suspended", "mode", "take_violations",
                                  "add_scratch", "current", "restore", "Snapshot"}
    from statesafe.guard import runtime

    assert all(getattr(guard, name) is getattr(runtime, name) for name in guard.__all__)
    tree = ast.parse((SRC / "guard" / "__init__.py").read_text(encoding="utf-8"))
    assert {type(node) for node in tree.body} <= {ast.Expr, ast.ImportFrom, ast.Assign}


@pytest.mark.parametrize("modules", [
    ("statesafe.agents.claude",),
    ("statesafe.agents.judge", "statesafe.agents.claude_apply", "statesafe.agents.claude_install"),
    ("statesafe.auditor.engine", "statesafe.auditor.runner"),
    ("statesafe.agents.cli", "statesafe.cli"),
])
def test_the_hook_and_the_auditor_do_not_load_the_runtime_guard(modules):
    loaded = loaded_after(*modules)
    assert set(modules) <= loaded  # the check is real
    assert not {name for name in loaded if name == "statesafe.guard" or name.startswith("statesafe.guard.")}


def test_the_runtime_guard_does_not_load_the_agents_or_the_auditor():
    loaded = loaded_after("statesafe.guard")
    assert "statesafe.guard.runtime" in loaded
    assert not {name for name in loaded if name.startswith(("statesafe.agents", "statesafe.auditor",
                                                            "statesafe.readers", "statesafe.writers"))}


def test_no_package_imports_the_other():
    for path in (SRC / "guard").rglob("*.py"):
        assert not {m for m in imports_of(path) if m.startswith(("statesafe.agents", "statesafe.auditor"))}, path
    for path in (SRC / "agents").rglob("*.py"):
        assert not {m for m in imports_of(path) if m.startswith("statesafe.guard")}, path
    for path in (SRC / "auditor").rglob("*.py"):
        assert not {m for m in imports_of(path) if m.startswith(("statesafe.guard", "statesafe.agents"))}, path


def test_apply_mode_uses_the_judge_not_the_adapter():
    assert "statesafe.agents.claude" not in imports_of(SRC / "agents" / "claude_apply.py")
    assert "statesafe.agents.judge" in imports_of(SRC / "agents" / "claude_apply.py")
    assert "statesafe.agents.claude_apply" not in imports_of(SRC / "agents" / "judge.py")


def test_the_registry_imports_no_adapter():
    assert imports_of(SRC / "agents" / "__init__.py") == set()
    assert set(agents.ADAPTERS) == {"claude"}
    for name, adapter in agents.ADAPTERS.items():
        assert adapter.name == name and name not in ("install", "selftest")  # the hook group's own commands
        hook = agents.hook_module(name)
        assert callable(hook.main) and all(flag.startswith("--") for flag in hook.OPTIONS)
        installer = agents.installer_module(name)
        assert callable(installer.install) and callable(installer.selftest)
    assert agents.hook_module("codex") is None


def guard_attributes(path: Path) -> set[str]:
    """Every attribute the module at ``path`` reads off the guard package (or imports from it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "statesafe":
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name == "guard"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("statesafe.guard"):
            used |= {f"{node.module[len('statesafe.guard'):]}:{alias.name}".lstrip(":") for alias in node.names}
        elif isinstance(node, ast.Import):
            aliases |= {alias.asname for alias in node.names if alias.name == "statesafe.guard" and alias.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            used.add(node.attr)
    return used


def test_the_pytest_plugin_uses_only_the_public_guard_api():
    used = guard_attributes(SRC / "guard" / "pytest_plugin.py")
    assert {"install", "current", "restore"} <= used  # the check is real
    assert not {name for name in used if name.startswith("_") or name.split(":")[-1].startswith("_")}
    assert used <= set(guard.__all__) | {"boot"}, used - set(guard.__all__)  # boot: the sitecustomize package


def test_the_pytest_plugin_keeps_its_entry_point_module_path():
    import importlib.metadata

    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.name == "statesafe" and p.value == "statesafe.guard.pytest_plugin" for p in points)
