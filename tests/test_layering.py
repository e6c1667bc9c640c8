"""The storage modules import one way, downwards: no module imports one above it, at module level
or inside a function (where an import cycle would hide)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import statesafe
from fs_support import child_env

SOURCE = Path(statesafe.__file__).parent

#: bottom first; a module may import statesafe modules of lower layers only
LAYERS = [
    {"statesafe.errors", "statesafe.names", "statesafe.sanction", "statesafe.scan"},
    {"statesafe.policy"},
    {"statesafe.fsutil", "statesafe.compiled"},
    {"statesafe.locking"},
    {"statesafe.commit"},
    {"statesafe.journal"},
    {"statesafe.recovery"},
    {"statesafe.writers", "statesafe.backup"},
    {"statesafe.transactions"},
]
RANK = {module: rank for rank, layer in enumerate(LAYERS) for module in layer}


def statesafe_imports(module: str) -> set[str]:
    """Every statesafe module ``module``'s source imports, anywhere in the file."""
    tree = ast.parse((SOURCE / f"{module.split('.', 1)[1]}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "statesafe":  # from statesafe import fsutil: the submodules
                found.update(f"statesafe.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            found.add(f"<relative import {'.' * node.level}{node.module or ''}>")
    return {name for name in found if name.split(".")[0] == "statesafe" or name.startswith("<")}


def loaded_by_importing(module: str) -> set[str]:
    """The statesafe modules in sys.modules after importing ``module`` in a fresh interpreter."""
    code = (f"import sys, {module}; import json; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'statesafe')))")
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True,
                            timeout=60, check=True)
    return set(json.loads(result.stdout))


def test_locking_imports_only_fsutil_names_and_errors():
    assert statesafe_imports("statesafe.locking") <= {"statesafe.fsutil", "statesafe.names", "statesafe.errors"}


def test_importing_locking_loads_no_transaction_journal_or_writer():
    loaded = loaded_by_importing("statesafe.locking")
    assert "statesafe.locking" in loaded  # the check is real
    assert not loaded & {"statesafe.transactions", "statesafe.journal", "statesafe.recovery",
                         "statesafe.writers", "statesafe.commit", "statesafe.backup"}


@pytest.mark.parametrize("module", sorted(RANK, key=RANK.get))
def test_no_module_imports_one_above_it(module):
    upward = {name: RANK.get(name, "not a storage module") for name in statesafe_imports(module)
              if name != "statesafe" and RANK.get(name, len(LAYERS)) >= RANK[module]}
    assert not upward, f"{module} (layer {RANK[module]}) imports {upward}"


@pytest.mark.parametrize("module", ["statesafe.locking", "statesafe.commit", "statesafe.journal",
                                    "statesafe.recovery"])
def test_importing_a_module_loads_nothing_above_it(module):
    above = {name for name in loaded_by_importing(module) if RANK.get(name, -1) > RANK[module]}
    assert not above, f"importing {module} loads {above}"



def test_importing_the_writers_loads_neither_transactions_nor_dataclasses():
    """A script that only writes pays for no transaction code, nor for dataclasses' import of inspect."""
    code = ("import sys, statesafe.writers; "
            "print(sorted(m for m in ('statesafe.transactions', 'dataclasses', 'inspect') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
