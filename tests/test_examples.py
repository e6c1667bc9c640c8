"""The bundled example skills run as a user would run them, on copies of the sample data.

threads-skill is the compliant one (statesafe.write / append / transaction / lock);
legacy-skill is the same skill written with raw writes, the auditor's real-world
fixture. Both must work; the compliant one must leave backups, logs and compiled
metadata exactly as FAILSAFE.md asks, and both must compute the same skill.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import statesafe
from statesafe.policy import default_policy, load_file

ROOT = Path(__file__).resolve().parents[1]
THREADS = ROOT / "examples" / "threads-skill"
LEGACY = ROOT / "examples" / "legacy-skill"
SAMPLE = THREADS / "data"
EPOCH = 1776900000  # SOURCE_DATE_EPOCH for reproducible runs
EPOCH_ISO = "2026-04-22T23:20:00Z"
SAMPLE_POSTS, EXPORT_NEW, EXPORT_UPDATED = 300, 5, 60
COMPILED = ("account_wiki.md", "post_feature_index.jsonl", "cluster_wiki.json", "exemplar_bank.md",
            "recent_window.md")
COMPANIONS = ("posts_by_date.md", "posts_by_topic.md", "comments.md")
FIELDS = ("generated_at", "source_tracker_hash", "posts_count", "confidence_level", "coverage_notes")
TRACKER = "threads_daily_tracker.json"


def run(skill: Path, script: str, workdir: Path, *args: str, check: bool = True, epoch: int = EPOCH,
        guarded: bool = False) -> subprocess.CompletedProcess:
    """``python scripts/<script>.py --dir workdir`` from the skill's folder, as its README says;
    ``guarded``: under ``statesafe run``, which stops any raw write to a policy file."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    command = [sys.executable, f"scripts/{script}.py", "--dir", str(workdir), *args]
    if guarded:
        command = [sys.executable, "-m", "statesafe", "run", "--", *command]
    done = subprocess.run(command, cwd=skill, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A fresh copy of the bundled sample working directory."""
    return Path(shutil.copytree(SAMPLE, tmp_path / "work"))


def tracker(workdir: Path) -> dict:
    return json.loads((workdir / TRACKER).read_text(encoding="utf-8"))


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def snapshot(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file()}


def metadata(path: Path) -> dict:
    """The five required fields as a compiled file carries them (front matter in markdown, top-level keys in JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        block = re.match(r"---\n(.*?)\n---\n", text, re.S)
        assert block, f"{path.name}: no front matter"
        return {key: json.loads(value) for key, value in
                (line.split(": ", 1) for line in block.group(1).splitlines())}
    first = json.loads(text.splitlines()[0] if path.suffix == ".jsonl" else text)
    return first.get("_meta", first)


# --- the sample data ---------------------------------------------------------------------

def test_sample_data_is_what_the_generator_makes(tmp_path):
    generated = tmp_path / "gen"
    run(THREADS, "make_sample_data", generated)
    committed = {p.name for p in SAMPLE.iterdir() if p.name != ".gitignore"}
    assert committed == {p.name for p in generated.iterdir() if not p.name.startswith(".")}
    for name in committed:
        assert (generated / name).read_bytes() == (SAMPLE / name).read_bytes(), f"data/{name} is stale"
    assert sum((SAMPLE / name).stat().st_size for name in committed) < 1_000_000
    text = (SAMPLE / TRACKER).read_text(encoding="utf-8")
    assert len(json.loads(text)["posts"]) == SAMPLE_POSTS
    for sample in ("✨", "é", "喫茶店", "서울"):  # emoji, accents, CJK
        assert sample in text


def test_bundled_policy_documents_are_failsafe_1_0():
    for skill in (THREADS, LEGACY):
        assert load_file(skill / "FAILSAFE.md") == default_policy()


def _front_matter(skill_md: Path) -> str:
    return skill_md.read_text(encoding="utf-8").split("---\n")[1]


def _grants_write(skill_md: Path) -> bool:
    tools = _front_matter(skill_md).split("allowed-tools:", 1)[1].split("\n", 1)
    listed = tools[0] + "".join(line for line in tools[1].splitlines(True) if line.startswith("  "))
    return bool(re.search(r"\b(Write|Edit)\b", listed))


def test_manifests_grant_write_only_with_the_policy_in_threads_skill_and_without_in_legacy():
    compliant = sorted((THREADS / "skills").glob("*/SKILL.md"))
    legacy = sorted((LEGACY / "skills").glob("*/SKILL.md"))
    assert any(map(_grants_write, compliant)) and any(map(_grants_write, legacy))
    for manifest in compliant:
        if _grants_write(manifest):
            assert "FAILSAFE.md" in manifest.read_text(encoding="utf-8"), manifest
    for manifest in legacy:
        assert "FAILSAFE" not in manifest.read_text(encoding="utf-8"), manifest
    assert "cat > style_guide.md" in (LEGACY / "skills" / "review" / "SKILL.md").read_text(encoding="utf-8")


# --- the compliant skill -----------------------------------------------------------------

def test_refresh_merges_the_export_backs_up_the_tracker_and_appends_one_line(workdir):
    before = (workdir / TRACKER).read_bytes()
    history = log_lines(workdir / "threads_refresh.log")

    run(THREADS, "refresh", workdir)
    data = tracker(workdir)
    assert len(data["posts"]) == SAMPLE_POSTS + EXPORT_NEW
    assert data["last_refreshed"] == EPOCH_ISO
    assert [p["posted_at"] for p in data["posts"]] == sorted(p["posted_at"] for p in data["posts"])
    backups = statesafe.backups(workdir / TRACKER)
    assert len(backups) == 1 and backups[0].read_bytes() == before
    lines = log_lines(workdir / "threads_refresh.log")
    assert lines[:-1] == history
    assert lines[-1]["updated"] == EXPORT_UPDATED and lines[-1]["added"] == EXPORT_NEW
    assert lines[-1]["posts_count"] == SAMPLE_POSTS + EXPORT_NEW and lines[-1]["timestamp"] == EPOCH_ISO

    run(THREADS, "refresh", workdir)  # the same export again: nothing new, one more line, one more backup
    assert len(tracker(workdir)["posts"]) == SAMPLE_POSTS + EXPORT_NEW
    again = log_lines(workdir / "threads_refresh.log")
    assert len(again) == len(history) + 2 and again[-1]["added"] == 0
    assert len(statesafe.backups(workdir / TRACKER)) == 2


def test_refresh_names_the_missing_file(tmp_path):
    done = run(THREADS, "refresh", tmp_path, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [f"{tmp_path / 'api_export.json'}: not found "
                                                "(is --dir the skill's working directory?)"]


def test_refresh_refuses_a_corrupted_tracker_and_leaves_it_for_recovery(workdir):
    (workdir / TRACKER).write_bytes(b'{"posts": [')
    done = run(THREADS, "refresh", workdir, check=False)
    assert done.returncode != 0
    [message] = done.stderr.strip().splitlines()
    assert message.startswith(f"{workdir / TRACKER}: not valid JSON")
    assert (workdir / TRACKER).read_bytes() == b'{"posts": [' and statesafe.backups(workdir / TRACKER) == []
    assert len(log_lines(workdir / "threads_refresh.log")) == 3  # a failed run is not logged as a refresh


def test_review_rewrites_tracker_style_guide_and_concepts_together_with_backups(workdir):
    policy_files = (TRACKER, "style_guide.md", "concept_library.md")
    before = {name: (workdir / name).read_bytes() for name in policy_files}

    run(THREADS, "review", workdir)
    data = tracker(workdir)
    assert data["last_review"] == EPOCH_ISO
    tiers = [post["review"]["tier"] for post in data["posts"]]
    assert tiers.count("top") == tiers.count("low") == SAMPLE_POSTS // 5
    guide = (workdir / "style_guide.md").read_text(encoding="utf-8")
    assert "Not reviewed yet" not in guide and f"review of {SAMPLE_POSTS} posts" in guide
    assert guide.startswith(before["style_guide.md"].decode().split("<!-- review:start -->")[0])
    concepts = (workdir / "concept_library.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^\| (hook|story|list|teach|share|cta)/", concepts, re.M)) == 12
    for name in policy_files:
        backups = statesafe.backups(workdir / name)
        assert len(backups) == 1 and backups[0].read_bytes() == before[name], name
    [learning] = log_lines(workdir / "threads_skill_learnings.log")
    assert learning["event"] == "review" and learning["learning"].startswith("- **Formats:**")


def test_render_companions_rebuilds_three_views_of_the_tracker(workdir):
    run(THREADS, "refresh", workdir)
    run(THREADS, "render_companions", workdir)
    data = tracker(workdir)
    by_date = (workdir / "posts_by_date.md").read_text(encoding="utf-8")
    by_topic = (workdir / "posts_by_topic.md").read_text(encoding="utf-8")
    comments = (workdir / "comments.md").read_text(encoding="utf-8")
    assert by_date.count("\n- **") == by_topic.count("\n- **") == len(data["posts"])
    assert sum(map(int, re.findall(r"^## .* \((\d+) posts\)$", by_topic, re.M))) == len(data["posts"])
    assert comments.count("\n- 20") == sum(len(post["comments"]) for post in data["posts"])
    assert f"last refreshed {EPOCH_ISO}" in by_date

    first = (workdir / "posts_by_date.md").read_bytes()
    run(THREADS, "render_companions", workdir)  # a rebuild of the same tracker is byte-identical
    assert (workdir / "posts_by_date.md").read_bytes() == first
    for name in COMPANIONS:
        assert statesafe.backups(workdir / name) == []  # views are rebuilt, not backed up
    assert not list(workdir.glob("*.tmp-*"))


def test_compiled_memory_carries_the_five_fields_and_the_tracker_hash(workdir):
    run(THREADS, "refresh", workdir)
    run(THREADS, "review", workdir)
    run(THREADS, "build_compiled_memory", workdir)
    tracker_hash = hashlib.sha256((workdir / TRACKER).read_bytes()).hexdigest()
    for name in COMPILED:
        meta = metadata(workdir / "compiled" / name)
        assert set(FIELDS) <= set(meta), name
        assert tracker_hash in meta["source_tracker_hash"], name
        assert meta["posts_count"] == SAMPLE_POSTS + EXPORT_NEW and meta["confidence_level"] == "high"
        assert f"{SAMPLE_POSTS + EXPORT_NEW} scored by /review" in meta["coverage_notes"]
    index = (workdir / "compiled" / "post_feature_index.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(index) == 1 + SAMPLE_POSTS + EXPORT_NEW

    assert statesafe.check_compiled(workdir) == []

    run(THREADS, "refresh", workdir, epoch=EPOCH + 3600)  # the tracker moved on: the cache no longer matches
    stale = statesafe.check_compiled(workdir)
    assert sorted(path.name for path, _ in stale) == sorted(COMPILED)
    assert all(problem.startswith("stale:") for _, problem in stale)


def test_compiled_memory_before_a_review_says_so(workdir):
    run(THREADS, "build_compiled_memory", workdir)
    meta = metadata(workdir / "compiled" / "cluster_wiki.json")
    assert meta["confidence_level"] == "medium"
    assert meta["coverage_notes"].endswith(f"{SAMPLE_POSTS} not yet scored")


def test_compliant_scripts_pass_the_runtime_guard(workdir):
    for script in ("refresh", "review", "render_companions", "build_compiled_memory"):
        done = run(THREADS, script, workdir, guarded=True)
        assert "PolicyViolation" not in done.stderr, done.stderr
    assert statesafe.check_compiled(workdir) == []


# --- the legacy skill --------------------------------------------------------------------

def test_legacy_scripts_run_on_the_sample_with_their_raw_writes(workdir):
    run(LEGACY, "render_companions", workdir)
    run(LEGACY, "refresh", workdir)
    patched = (workdir / "posts_by_date.md").read_text(encoding="utf-8")  # patched in place, not rebuilt
    assert f"last refreshed {EPOCH_ISO}" in patched and patched.count("\n- **") == SAMPLE_POSTS
    run(LEGACY, "review", workdir)
    run(LEGACY, "render_companions", workdir)
    run(LEGACY, "build_compiled_memory", workdir)
    run(LEGACY, "tune", workdir, "--window", "21", "--tone", "calm", "--timezone", "Asia/Tokyo")

    data = tracker(workdir)
    assert len(data["posts"]) == SAMPLE_POSTS + EXPORT_NEW and data["last_review"] == EPOCH_ISO
    refresh_log = log_lines(workdir / "threads_refresh.log")
    assert len(refresh_log) == 4 and refresh_log[-1]["added"] == EXPORT_NEW
    assert len(log_lines(workdir / "threads_freshness.log")) == 1
    assert statesafe.backups(workdir / TRACKER) == []  # raw writes: no backup anywhere ...
    assert len(statesafe.backups(workdir / "threads_booster_config.json")) == 1  # ... but the hand-rolled one
    config = json.loads((workdir / "threads_booster_config.json").read_text(encoding="utf-8"))
    assert config["recent_window_days"] == 21 and config["timezone"] == "Asia/Tokyo"
    assert "- Tone: calm." in (workdir / "brand_voice.md").read_text(encoding="utf-8")
    assert (workdir / "style_guide.md.example").read_text(encoding="utf-8").startswith("# Style guide")
    assert (workdir / "metrics_export.csv").read_text(encoding="utf-8").count("\n") == 1 + len(data["posts"])
    for name in COMPILED[:-1]:
        assert set(FIELDS) <= set(metadata(workdir / "compiled" / name)), name
    assert not (workdir / "compiled" / "recent_window.md").read_text(encoding="utf-8").startswith("---")


def test_legacy_reset_style_copies_the_template_over_the_guide(workdir):
    run(LEGACY, "review", workdir)
    run(LEGACY, "tune", workdir, "--reset-style")
    guide = (workdir / "style_guide.md").read_text(encoding="utf-8")
    assert guide == (workdir / "style_guide.md.example").read_text(encoding="utf-8")
    assert "review:start" not in guide


def test_legacy_refresh_is_stopped_by_the_runtime_guard_before_it_writes(workdir):
    before = (workdir / TRACKER).read_bytes()
    done = run(LEGACY, "refresh", workdir, guarded=True, check=False)
    assert done.returncode != 0
    assert f"PolicyViolation: open with mode 'w' on {workdir / TRACKER}" in done.stderr
    assert "statesafe.write" in done.stderr
    assert (workdir / TRACKER).read_bytes() == before


def test_legacy_and_compliant_skills_compute_the_same_files(tmp_path):
    outputs = {}
    for skill in (THREADS, LEGACY):
        work = Path(shutil.copytree(SAMPLE, tmp_path / skill.name))
        for script in ("refresh", "review", "render_companions"):
            run(skill, script, work)
        outputs[skill.name] = snapshot(work)
    compliant, legacy = outputs["threads-skill"], outputs["legacy-skill"]
    for name in (TRACKER, "style_guide.md", "concept_library.md", *COMPANIONS):
        assert compliant[name] == legacy[name], name
    assert compliant["threads_refresh.log"] == legacy["threads_refresh.log"]
