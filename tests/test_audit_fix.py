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
from statesafe import names
from statesafe.auditor.testing import audit_files
from statesafe.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
LEGACY = ROOT / "examples" / "legacy-skill"
SAMPLE_DATA = ROOT / "examples" / "threads-skill" / "data"

FIXABLE = '''\
\"\"\"Every shape --fix rewrites, and nothing else.\"\"\"

import json
from pathlib import Path

TRACKER = "threads_daily_tracker.json"
CONFIG = "threads_booster_config.json"
GUIDE = "style_guide.md"


def save(data):
    # the tracker, dumped the usual way
    with open(TRACKER, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\\n")


def save_config(config):
    # no encoding: json.dump escapes non-ASCII, so the locale cannot matter
    json.dump(config, open(CONFIG, "w"), sort_keys=True, separators=(",", ":"))


def render(text):
    Path("posts_by_date.md").write_text(text, encoding="utf-8")
    open("posts_by_topic.md", "w", encoding="utf-8").write(text.upper())
    with open(GUIDE, "w", encoding="utf-8") as f:
        f.write(text if text else "empty")
        f.write("\\n")


save({"posts": [{"id": 1, "text": "café"}]})
save_config({"tz": "Europe/Zürich", "window": 7})
render("# By date, café\\n")
'''

#: what each file must hold, byte for byte, after FIXABLE runs (original or fixed)
FIXABLE_OUTPUT = {
    "threads_daily_tracker.json": '{\n "posts": [\n  {\n   "id": 1,\n   "text": "café"\n  }\n ]\n}\n'.encode(),
    "threads_booster_config.json": b'{"tz":"Europe/Z\\u00fcrich","window":7}',
    "posts_by_date.md": "# By date, café\n".encode(),
    "posts_by_topic.md": "# BY DATE, CAFÉ\n".encode(),
    "style_guide.md": "# By date, café\n\n".encode(),
}


def _audit(files: dict[str, bytes], root: Path | None = None):
    return audit_files(files, policy=load_policy(root) if root else None)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fixed_source_audits_clean_keeps_formatting_and_the_bytes_written(tmp_path, monkeypatch):
    findings = _audit({"skill.py": FIXABLE.encode()})
    # the module rewrites two destructive files outside a transaction (FS501): not a rewrite --fix makes
    assert sorted(f.code for f in findings) == ["FS101", "FS101", "FS101", "FS301", "FS301", "FS501"]
    assert all(f.fix for f in findings if f.code != "FS501")
    fixed = fix_source("skill.py", FIXABLE.encode(), findings).decode()
    assert [f.code for f in _audit({"skill.py": fixed.encode()})] == ["FS501"]
    assert "import statesafe\n" in fixed
    assert ('    # the tracker, dumped the usual way\n'
            '    statesafe.write(TRACKER, json.dumps(data, ensure_ascii=False, indent=1) + "\\n")\n') in fixed
    assert '    statesafe.write(CONFIG, json.dumps(config, sort_keys=True, separators=(",", ":")))\n' in fixed
    assert '    statesafe.write(GUIDE, (text if text else "empty") + "\\n")\n' in fixed
    # everything that was not rewritten is byte for byte the same
    untouched = [line for line in FIXABLE.splitlines() if "open(" not in line and "write" not in line
                 and "json.dump(" not in line]
    assert all(line in fixed.splitlines() for line in untouched)

    for name, source in (("original", FIXABLE), ("fixed", fixed)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        exec(compile(source, "skill.py", "exec"), {"__name__": "__main__"})
        produced = {k: v for k, v in _files(tmp_path / name).items() if not k.startswith(".")}
        assert produced == FIXABLE_OUTPUT, name
    # run again: now there is something to back up, and statesafe does
    exec(compile(fixed, "skill.py", "exec"), {"__name__": "__main__"})
    assert any(p.name.startswith("threads_daily_tracker.json.bak-") for p in (tmp_path / "fixed").iterdir())


@pytest.mark.parametrize("source", [
    # the locale's encoding, and text that may not be ASCII
    'with open("threads_daily_tracker.json", "w") as f:\n    json.dump(d, f, ensure_ascii=False)\n',
    'with open("style_guide.md", "w") as f:\n    f.write(text)\n',
    'from pathlib import Path\nPath("style_guide.md").write_text(text)\n',
    'open("style_guide.md", "w").write(text)\n',
    # other open arguments: newline translation, error handlers, buffering
    'with open("style_guide.md", "w", encoding="utf-8", newline="\\r\\n") as f:\n    f.write(text)\n',
    'with open("style_guide.md", "w", -1, "latin-1") as f:\n    f.write(text)\n',
    # a custom encoder class: json.dumps calls its encode(), json.dump its iterencode()
    'with open("threads_daily_tracker.json", "w", encoding="utf-8") as f:\n    json.dump(d, f, cls=Enc)\n',
    # a second write that is not a literal, and appends (statesafe.append adds run_id and timestamp)
    'with open("style_guide.md", "w", encoding="utf-8") as f:\n    f.write(a)\n    f.write(b)\n',
    'with open("style_guide.md", "a", encoding="utf-8") as f:\n    f.write(text)\n',
    'with open("threads_skill_learnings.log", "a") as f:\n    json.dump(record, f)\n    f.write("\\n")\n',
    'with open("threads_skill_learnings.log", "a") as f:\n    f.write(json.dumps(record) + "\\n")\n',
])
def test_shapes_that_could_change_the_bytes_are_not_fixed(source):
    source = "import json\n" + source
    findings = _audit({"a.py": source.encode()})
    assert all(f.fix is None for f in findings), [f.fix for f in findings]
    assert fix_source("a.py", source.encode(), [replace(f, fix="statesafe.write(...)") for f in findings]) is None


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


def _run(skill: Path, data: Path, script: str, *args: str) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600", "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, f"scripts/{script}", "--dir", str(data), *args], cwd=skill, env=env,
                   check=True, capture_output=True, timeout=60)


#: every legacy script, as a user would run them one after the other
LEGACY_RUNS = [("refresh.py",), ("review.py",), ("render_companions.py",), ("build_compiled_memory.py",),
               ("tune.py", "--window", "14", "--tone", "warmer", "--timezone", "Asia/Tokyo", "--reset-style"),
               ("review.py",), ("refresh.py",)]


@pytest.mark.skipif(not (LEGACY.is_dir() and SAMPLE_DATA.is_dir()), reason="example skills not present")
def test_fixed_legacy_skill_produces_the_same_bytes(tmp_path):
    original, fixed = tmp_path / "original", tmp_path / "fixed"
    shutil.copytree(LEGACY, original)
    shutil.copytree(LEGACY, fixed)
    before = _audit(_tree(fixed), fixed)
    fixable = [f for f in before if f.fix]
    assert len(fixable) >= 5
    for path, source in _tree(fixed).items():
        result = fix_source(path, source, [f for f in before if f.path == path])
        if result is not None:
            (fixed / path).write_bytes(result)
    after = _audit(_tree(fixed), fixed)
    assert not [f for f in after if f.fix]
    assert len(after) == len(before) - len(fixable)

    data_a, data_b = tmp_path / "data_a", tmp_path / "data_b"
    shutil.copytree(SAMPLE_DATA, data_a)
    shutil.copytree(SAMPLE_DATA, data_b)
    for run in LEGACY_RUNS:
        _run(original, data_a, *run)
        _run(fixed, data_b, *run)
    produced, produced_fixed = _files(data_a), _files(data_b)
    assert produced != _files(SAMPLE_DATA)
    for name, content in produced.items():
        assert produced_fixed.get(name) == content, name
    # what the fixed scripts add is statesafe's own: backups of what they replaced, and lock files
    extra = set(produced_fixed) - set(produced)
    assert extra and all(names.parse_backup(Path(x).name) or Path(x).name.endswith(names.LOCK_SUFFIX)
                         for x in extra), extra
    assert any(Path(x).name.startswith("threads_daily_tracker.json.bak-") for x in extra)
