"""benchmarks/gen_skill_tree.py makes the tree issue 11 is measured on: keep it what the figures say it is.

Exactly N audited files, the same bytes for the same seed, every ``.py`` valid Python, and every
file a prefilter seed (it names a policy file), so ``statesafe audit`` can skip none of them.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from statesafe.auditor import files, runner
from statesafe.policy import default_policy

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gen_skill_tree.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_skill_tree", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_exact_count_deterministic_and_every_file_a_seed(tmp_path):
    gen = _generator()
    meta = gen.generate(tmp_path / "a", 157, seed=3)
    gen.generate(tmp_path / "b", 157, seed=3)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    found = files.discover([str(tmp_path / "a")])[0]
    assert len(found) == meta["files"] == 157
    wanted = runner.needles(default_policy())
    for path in found:
        source = Path(path).read_bytes()
        assert runner.mentions_policy(source, wanted), path
        if path.endswith(".py"):
            ast.parse(source, path)
    assert meta["same_named"]["config.py"] > 10 and meta["same_named"]["utils.py"] > 10
    for rel in [*meta["precommit_files"], meta["edit_file"]]:
        assert (tmp_path / "a" / rel).is_file()
