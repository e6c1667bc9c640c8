"""``--fix``: the rewritten code audits clean of what was fixed, keeps its formatting, and still runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from statesafe.auditor.fix import fix_source
from statesafe.auditor.testing import audit_files
from statesafe.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
LEGACY = ROOT / "examples" / "legacy-skill"
SAMPLE_DATA = ROOT / "examples" / "threads-skill" / "data"

FIXABLE = '''\
"""Every shape --fix rewrites, and nothing else."""

import json
from pathlib import Path

TRACKER = "threads_daily_tracker.json"
LOG = "threads_refresh.log"


def save(data):
    # the tracker, dumped the usual way
    with open(TRACKER, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\\n")


def render(text):
    Path("posts_by_date.md").write_text(text, encoding="utf-8")
    open("posts_by_topic.md", "w").write(text.upper())


def log(record):
    with open(LOG, "a") as f:
        json.dump(record, f)
        f.write("\\n")


save({"posts": [{"id": 1, "text": "café"}]})
render("# By date\\n")
log({"event": "refresh"})
'''


def _audit(files: dict[str, bytes], root: Path | None = None):
    return audit_files(files, policy=load_policy(root) if root else None)


def test_fixed_source_audits_clean_keeps_formatting_and_runs(tmp_path, monkeypatch):
    findings = _audit({"skill.py": FIXABLE.encode()})
    assert {f.code for f in findings} == {"FS101", "FS301", "FS204"} and all(f.fix for f in findings)
    fixed = fix_source("skill.py", FIXABLE.encode(), findings).decode()
    assert _audit({"skill.py": fixed.encode()}) == []
    assert "import statesafe\n" in fixed
    assert '    # the tracker, dumped the usual way\n    statesafe.write(TRACKER, data)\n' in fixed
    assert '    statesafe.append(LOG, record)\n' in fixed
    # everything that was not rewritten is byte for byte the same
    untouched = [line for line in FIXABLE.splitlines() if "open(" not in line and "write" not in line
                 and "json.dump(" not in line]
    assert all(line in fixed.splitlines() for line in untouched)

    monkeypatch.chdir(tmp_path)
    exec(compile(fixed, "skill.py", "exec"), {"__name__": "__main__"})
    assert json.loads(Path("threads_daily_tracker.json").read_text(encoding="utf-8")) == {
        "posts": [{"id": 1, "text": "café"}]}
    assert Path("posts_by_date.md").read_text(encoding="utf-8") == "# By date\n"
    assert Path("posts_by_topic.md").read_text(encoding="utf-8") == "# BY DATE\n"
    line = json.loads(Path("threads_refresh.log").read_text(encoding="utf-8"))
    assert line["event"] == "refresh"
    # run again: now there is something to back up, and statesafe does
    exec(compile(fixed, "skill.py", "exec"), {"__name__": "__main__"})
    assert any(p.name.startswith("threads_daily_tracker.json.bak-") for p in tmp_path.iterdir())
    assert len(Path("threads_refresh.log").read_text(encoding="utf-8").splitlines()) == 2


def test_nothing_to_fix_gives_none():
    source = b'import json\nwith open("threads_refresh.log", "w") as f:\n    f.write("x")\n'
    findings = _audit({"a.py": source})
    assert [f.code for f in findings] == ["FS201"] and findings[0].fix is None
    assert fix_source("a.py", source, findings) is None
    assert fix_source("a.py", b"def broken(:\n", findings) is None


def test_a_with_block_whose_handle_is_read_later_is_not_fixed():
    used = (b'import json\nwith open("threads_daily_tracker.json", "w") as f:\n    json.dump({}, f)\n'
            b'print(f.name)\n')
    rebound = (b'import json\nwith open("threads_daily_tracker.json", "w") as f:\n    json.dump({}, f)\n'
               b'with open("other.json") as f:\n    print(f.read())\n')
    findings = _audit({"a.py": used})
    assert [f.code for f in findings] == ["FS101"] and findings[0].fix is None
    assert fix_source("a.py", used, [replace(findings[0], fix="statesafe.write(...)")]) is None
    findings = _audit({"a.py": rebound})
    assert findings[0].fix and b"statesafe.write(" in fix_source("a.py", rebound, findings)


def test_compiled_and_log_rewrites_are_never_fixed():
    source = (b'import json\nwith open("compiled/cluster_wiki.json", "w") as f:\n    json.dump({}, f)\n'
              b'with open("threads_refresh.log", "w") as f:\n    json.dump({}, f)\n')
    findings = _audit({"a.py": source})
    assert {f.code for f in findings} == {"FS401", "FS201"}
    assert all(f.fix is None for f in findings)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.suffix == ".py" or p.name == "SKILL.md"}


def _without_run_id(line: str) -> dict:
    record = json.loads(line)
    record.pop("run_id", None)
    return record


def _run(skill: Path, data: Path, script: str, *args: str) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600", "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, f"scripts/{script}", "--dir", str(data), *args], cwd=skill, env=env,
                   check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(not (LEGACY.is_dir() and SAMPLE_DATA.is_dir()), reason="example skills not present")
def test_fixed_legacy_skill_computes_the_same_files(tmp_path):
    original, fixed = tmp_path / "original", tmp_path / "fixed"
    shutil.copytree(LEGACY, original)
    shutil.copytree(LEGACY, fixed)
    before = _audit(_tree(fixed), fixed)
    fixable = [f for f in before if f.fix]
    assert len(fixable) >= 5
    rewritten = 0
    for path, source in _tree(fixed).items():
        result = fix_source(path, source, [f for f in before if f.path == path])
        if result is not None:
            (fixed / path).write_bytes(result)
            rewritten += 1
    after = _audit(_tree(fixed), fixed)
    assert not [f for f in after if f.fix]
    assert len(after) == len(before) - len(fixable)

    data_a, data_b = tmp_path / "data_a", tmp_path / "data_b"
    shutil.copytree(SAMPLE_DATA, data_a)
    shutil.copytree(SAMPLE_DATA, data_b)
    for script in ("refresh.py", "review.py", "render_companions.py"):
        _run(original, data_a, script)
        _run(fixed, data_b, script)
    for produced in sorted(data_a.iterdir()):
        other = data_b / produced.name
        if produced.suffix == ".json":
            assert json.loads(other.read_text(encoding="utf-8")) == json.loads(produced.read_text(encoding="utf-8"))
        elif produced.suffix == ".log":
            # the skill's run_id hashes the tracker's bytes, whose layout statesafe.write changes
            assert [_without_run_id(x) for x in other.read_text().splitlines()] == \
                [_without_run_id(x) for x in produced.read_text().splitlines()]
        else:
            assert other.read_bytes() == produced.read_bytes(), produced.name
    assert any(p.name.startswith("threads_daily_tracker.json.bak-") for p in data_b.iterdir())
