"""statesafe.transaction: all files or none, with real faults at every failure point."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import statesafe
from statesafe.errors import PolicyViolation, StatesafeError, WriteError
from statesafe.sanction import sanctioned
from statesafe.names import is_journal_name
from fs_support import STRACE, Faults, child_env, fd_path
from tx_support import FILES, generations, journals, leftovers, one_generation, payload, write_generation

DESTRUCTIVE = ("concept_library.md", "style_guide.md", "threads_daily_tracker.json")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but lock files, with its bytes: 'nothing changed' means equal."""
    return {os.path.relpath(os.path.join(d, n), root): Path(d, n).read_bytes()
            for d, _, files in os.walk(root) for n in files if not n.endswith(".lock")}


def commit(root: Path, gen: int, files=FILES, pad: int = 0) -> None:
    with statesafe.transaction() as tx:
        write_generation(tx, root, gen, files, pad)


def test_all_files_land_with_backups_of_the_destructive_ones_and_nothing_left_over(home):
    commit(home, 1)
    commit(home, 2)
    assert generations(home) == dict.fromkeys(FILES, 2)
    assert leftovers(home) == []
    backups = sorted(p.name for p in home.rglob("*.bak-*"))
    assert [b.split(".bak-")[0] for b in backups] == ["style_guide.md", "threads_daily_tracker.json"]
    assert [json.loads(p.read_text())["gen"] for p in home.rglob("*.bak-*")] == [1, 1]


def test_an_exception_in_the_block_writes_nothing(home):
    commit(home, 1)
    before = snapshot(home)
    with pytest.raises(RuntimeError):
        with statesafe.transaction() as tx:
            write_generation(tx, home, 2)
            raise RuntimeError("the caller changed its mind")
    assert snapshot(home) == before


def test_a_log_or_a_backup_in_a_transaction_is_a_policy_violation(home):
    commit(home, 1)
    before = snapshot(home)
    for name in ("threads_refresh.log", "style_guide.md.bak-20260101T000000Z"):
        with pytest.raises(PolicyViolation), pytest.warns(Warning):
            with statesafe.transaction() as tx:
                tx.write(home / "style_guide.md", payload(2, "style_guide.md"))
                tx.write(home / name, {"line": 1})
    assert snapshot(home) == before


def test_writing_after_the_block_is_refused(home):
    with statesafe.transaction() as tx:
        pass
    with pytest.raises(StatesafeError, match="transaction is over"):
        tx.write(home / "style_guide.md", "late")


@pytest.mark.parametrize("failing", DESTRUCTIVE)
def test_a_backup_failure_on_any_file_changes_nothing(home, monkeypatch, failing):
    commit(home, 1, DESTRUCTIVE)
    before = snapshot(home)
    faults = Faults(monkeypatch)
    is_backup = lambda path: f"{failing}.bak-" in os.fspath(path)
    faults.fail("link", errno.ENOSPC, when=lambda src, dst: is_backup(dst))  # no hard link, then no copy
    faults.fail("open", errno.ENOSPC, when=lambda path, *_: is_backup(path))
    with pytest.raises(WriteError) as caught:
        commit(home, 2, DESTRUCTIVE)
    assert caught.value.step == "backup" and caught.value.path == str(home / failing)
    assert caught.value.errno == errno.ENOSPC and failing in str(caught.value)
    assert snapshot(home) == before  # the other files' backups were taken, and removed again


def test_a_temp_failure_changes_nothing(home, monkeypatch):
    commit(home, 1)
    before = snapshot(home)
    Faults(monkeypatch).fail("write", errno.ENOSPC, when=lambda fd, *_: "posts_by_date.md.tmp-" in fd_path(fd))
    with pytest.raises(WriteError) as caught:
        commit(home, 2)
    assert caught.value.step == "write" and caught.value.errno == errno.ENOSPC
    assert snapshot(home) == before


def test_a_journal_that_cannot_be_written_changes_nothing(home, monkeypatch):
    commit(home, 1)
    before = snapshot(home)
    Faults(monkeypatch).fail("replace", errno.EIO, when=lambda src, dst: is_journal_name(Path(dst).name))
    with pytest.raises(WriteError):
        commit(home, 2)
    assert snapshot(home) == before


@pytest.mark.parametrize("failing", [1, 2])
def test_a_rename_failing_mid_commit_is_rolled_back_in_process(home, monkeypatch, failing):
    """The second (or third) file's rename fails after the first landed: all are put back,
    and a file that did not exist before is removed again."""
    files = FILES + ("sub/comments.md",)
    commit(home, 1)
    before = snapshot(home)
    order = sorted(home / f for f in files)
    Faults(monkeypatch).fail("replace", errno.EIO, when=lambda src, dst: Path(dst) == order[failing], times=1)
    with pytest.raises(WriteError) as caught:
        commit(home, 2, files)
    assert caught.value.step == "rename" and caught.value.path == str(order[failing])
    assert snapshot(home) == before
    assert statesafe.recover(home).changed is False


def test_a_directory_fsync_failing_after_the_renames_is_a_failed_write(home, monkeypatch):
    commit(home, 1)
    before = snapshot(home)
    landed = lambda: json.loads((home / FILES[0]).read_text())["gen"] == 2
    Faults(monkeypatch).fail("fsync", errno.EIO, when=lambda fd: landed() and os.path.isdir(fd_path(fd)),
                             times=1)
    with pytest.raises(WriteError) as caught:
        commit(home, 2)
    assert caught.value.step == "directory fsync"
    assert snapshot(home) == before


def test_an_undo_that_fails_before_its_decision_leaves_the_commit_for_recover(home, monkeypatch):
    """Every rename from the second file on fails, including the rollback journal's: the
    transaction stays committed, and recover finishes it forward."""
    commit(home, 1)
    order = sorted(home / f for f in FILES)
    calls = []

    def failing(src, dst):
        calls.append(dst)
        return len(calls) > 2 + 1  # the pointer, the primary, the first file: then nothing more

    Faults(monkeypatch).fail("replace", errno.EIO, when=failing)
    with pytest.raises(WriteError, match="stays committed.*statesafe recover") as caught:
        commit(home, 2)
    assert caught.value.path == str(order[1])
    assert [json.loads(p.read_text())["state"] for p in journals(home) if "members" in p.read_text()] == ["commit"]
    monkeypatch.undo()
    report = statesafe.recover(home)
    assert one_generation(home) == 2
    assert leftovers(home) == [] and report.transactions[0][1] == "rolled forward"


def test_an_undo_interrupted_after_its_decision_is_rolled_back_by_recover(home, monkeypatch):
    commit(home, 1)
    order = sorted(home / f for f in FILES)
    seen = []

    def failing(src, dst):
        seen.append(Path(dst))
        install_failed = seen.count(order[1]) == 1 and Path(dst) == order[1]
        undo_fails = Path(dst) == order[0] and seen.count(order[0]) == 2
        return install_failed or undo_fails

    Faults(monkeypatch).fail("replace", errno.EIO, when=failing)
    with pytest.raises(WriteError, match="rollback is not finished"):
        commit(home, 2)
    [primary] = [p for p in journals(home) if "members" in p.read_text()]
    assert json.loads(primary.read_text())["state"] == "rollback"
    monkeypatch.undo()
    report = statesafe.recover(home)
    assert one_generation(home) == 1
    assert leftovers(home) == [] and report.transactions[0][1] == "rolled back"


def test_a_rollback_decided_but_not_yet_durable_keeps_its_undo_images_for_recover(home, monkeypatch):
    commit(home, 1)
    order = sorted(home / f for f in FILES)
    faults = Faults(monkeypatch)
    faults.fail("replace", errno.EIO, when=lambda src, dst: Path(dst) == order[1], times=1)
    decided = lambda: any(json.loads(p.read_text()).get("state") == "rollback" for p in journals(home))
    faults.fail("fsync", errno.EIO, when=lambda fd: os.path.isdir(fd_path(fd)) and decided(), times=1)
    with pytest.raises(WriteError, match="rollback is not finished"):
        commit(home, 2)
    monkeypatch.undo()
    assert [o for _, o, _ in statesafe.recover(home).transactions] == ["rolled back"]
    assert one_generation(home) == 1 and leftovers(home) == []


def test_without_hard_links_backups_are_copies_and_a_failed_commit_still_rolls_back(home, monkeypatch):
    commit(home, 1)
    before = snapshot(home)
    faults = Faults(monkeypatch)
    faults.fail("link", errno.EPERM)  # FAT, some network mounts
    faults.fail("replace", errno.EIO, when=lambda src, dst: Path(dst) == home / FILES[0], times=1)
    with pytest.raises(WriteError):
        commit(home, 2)  # the last file in order fails: two were undone, one from a copy, one from memory
    assert snapshot(home) == before
    commit(home, 3)
    assert one_generation(home) == 3
    assert sorted(json.loads(p.read_text())["gen"] for p in home.rglob("*.bak-*")) == [1, 1]


def test_the_journal_names_every_file_and_lives_beside_them(home, monkeypatch):
    """Seen at the moment of the first rename: a primary in the first file's folder, a pointer
    in the other, both naming all three files with their backups, priors and temps."""
    commit(home, 1)
    seen = {}
    real = os.replace

    def spy(src, dst):
        if Path(dst) in {home / f for f in FILES} and not seen:
            seen.update({p: json.loads(p.read_text()) for p in journals(home)})
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    commit(home, 2)
    assert sorted(p.parent for p in seen) == [home, home / "sub"]
    [primary] = [r for r in seen.values() if "members" in r]
    [pointer] = [r for r in seen.values() if "primary" in r]
    assert primary["state"] == "commit" and pointer["id"] == primary["id"]
    assert Path(pointer["primary"]).parent == home and primary["journals"][0] == pointer["primary"]
    members = {Path(m["target"]).relative_to(home).as_posix(): m for m in primary["members"]}
    assert set(members) == set(FILES) == {Path(t).relative_to(home).as_posix() for t in pointer["targets"]}
    assert members["style_guide.md"]["backup"] and members["sub/posts_by_date.md"]["backup"] is None
    assert all(m["existed"] and m["prior"] and m["temp"] and m["undo"] is None for m in members.values())
    assert journals(home) == [] and leftovers(home) == []


def test_a_private_file_stays_private_and_so_do_its_temps_and_journal(home, monkeypatch):
    commit(home, 1)
    os.chmod(home / "threads_daily_tracker.json", 0o600)
    modes = {}
    real = os.replace

    def spy(src, dst):
        if "threads_daily_tracker.json.tmp-" in os.fspath(src) or "tracker" in Path(dst).name:
            modes[Path(dst).name] = stat.S_IMODE(os.stat(src).st_mode)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    with statesafe.transaction() as tx:  # the tracker sorts last; here it alone anchors the journal
        tx.write(home / "threads_daily_tracker.json", payload(2, "threads_daily_tracker.json"))
    assert set(modes.values()) == {0o600} and any(is_journal_name(n) for n in modes)
    assert stat.S_IMODE(os.stat(home / "threads_daily_tracker.json").st_mode) == 0o600


def test_a_symlinked_file_is_written_through_and_the_link_kept(home):
    commit(home, 1)
    (home / "real").mkdir()
    with sanctioned():
        os.replace(home / "style_guide.md", home / "real" / "style_guide.md")
    os.symlink(home / "real" / "style_guide.md", home / "style_guide.md")
    commit(home, 2)
    assert os.path.islink(home / "style_guide.md")
    assert one_generation(home) == 2
    assert [p.parent.name for p in home.rglob("style_guide.md.bak-*")] == ["real"]


def test_declared_files_are_locked_for_read_modify_write_and_only_they_may_be_written(home):
    commit(home, 1)
    a, b = home / "style_guide.md", home / "threads_daily_tracker.json"
    with statesafe.transaction(b, a) as tx:
        for path in (a, b):
            tx.write(path, payload(json.loads(path.read_text())["gen"] + 1, path.name))
    assert [json.loads(p.read_text())["gen"] for p in (a, b)] == [2, 2]
    before = snapshot(home)
    with pytest.raises(StatesafeError, match="not among the files this transaction locked"):
        with statesafe.transaction(a) as tx:
            tx.write(b, payload(3, b.name))
    assert snapshot(home) == before


def test_new_files_are_created_by_a_transaction(home):
    commit(home, 1)
    assert one_generation(home) == 1
    assert list(home.rglob("*.bak-*")) == []


CONCURRENT_CHILD = textwrap.dedent("""
    import json, sys
    import statesafe
    me, rounds = int(sys.argv[1]), int(sys.argv[2])
    files = ["concept_library.md", "style_guide.md", "threads_daily_tracker.json", "brand_voice.md"]
    for i in range(rounds):
        pair = (files[(me + i) % 4], files[(me + i + 1) % 4])
        with statesafe.transaction(*pair) as tx:
            for name in pair:
                record = json.loads(open(name).read())
                record["count"] += 1
                record["by"].append([me, i])
                tx.write(name, record)
""")


def test_concurrent_transactions_on_overlapping_pairs_serialize_without_losing_an_update(home):
    files = ["concept_library.md", "style_guide.md", "threads_daily_tracker.json", "brand_voice.md"]
    with statesafe.transaction() as tx:
        for name in files:
            tx.write(home / name, {"count": 0, "by": []})
    procs, rounds = 4, 50
    children = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CHILD, str(me), str(rounds)], cwd=home,
                                 env=child_env(), stderr=subprocess.PIPE, text=True) for me in range(procs)]
    for child in children:
        _, err = child.communicate(timeout=120)  # a deadlock would end here
        assert child.returncode == 0, err
    records = {name: json.loads((home / name).read_text()) for name in files}
    assert sum(r["count"] for r in records.values()) == procs * rounds * 2
    for index, name in enumerate(files):  # each file was in the pairs of exactly these rounds
        expected = {(me, i) for me in range(procs) for i in range(rounds) if index in ((me + i) % 4, (me + i + 1) % 4)}
        assert records[name]["count"] == len(expected)
        assert {tuple(x) for x in records[name]["by"]} == expected
    assert leftovers(home) == []


# --- strace: the kernel fails the rename ------------------------------------------------------

STRACE_CHILD = textwrap.dedent("""
    import json, sys
    import statesafe
    with statesafe.transaction() as tx:
        for name in sys.argv[2:]:
            tx.write(name, {"gen": int(sys.argv[1]), "file": name, "pad": ""})
""")


def run_traced(home: Path, inject: str) -> subprocess.CompletedProcess:
    return subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "-e", "trace=rename", "-e", f"inject={inject}",
                           sys.executable, "-c", STRACE_CHILD, "2", *FILES], cwd=home, env=child_env(),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_strace_eio_on_the_second_file_rename_changes_nothing(home):
    commit(home, 1)
    before = snapshot(home)
    # renames: the pointer journal, the primary journal, then the files in order: the 4th is the 2nd file
    result = run_traced(home, "rename:error=EIO:when=4")
    assert result.returncode == 1 and "rename failed" in result.stderr and "Input/output error" in result.stderr
    assert snapshot(home) == before


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_strace_eio_on_every_rename_from_the_second_file_then_recover_gives_one_generation(home):
    commit(home, 1)
    result = run_traced(home, "rename:error=EIO:when=4+")
    assert result.returncode == 1 and "statesafe recover" in result.stderr
    assert len(set(generations(home).values())) == 2  # the first file landed, the others not yet
    cli = subprocess.run([sys.executable, "-m", "statesafe", "recover", str(home)], env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1, cli.stderr
    assert "rolled forward" in cli.stdout
    assert one_generation(home) == 2 and leftovers(home) == []
