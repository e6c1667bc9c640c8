"""statesafe recover / statesafe.recover: interrupted transactions, stale temps, what it reports."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import statesafe
from statesafe import names, recovery
from statesafe.cli import main
from statesafe.errors import StatesafeError
from statesafe.sanction import sanctioned
from fs_support import child_env
from tx_support import (FILES, before_installing, commit_dying, committed, fresh, journals, leftovers, one_generation,
                        payload)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return fresh(tmp_path / "skill")


def recover_cli(directory: Path):
    return CliRunner().invoke(main, ["recover", str(directory)])


def plant_temp(directory: Path, base: str, pid: int = 999_999) -> Path:
    """A temp as a writer killed mid-write leaves it (pid 999999: no such writer)."""
    temp = directory / names.temp_name(base).replace(f"-{os.getpid()}-", f"-{pid}-")
    with sanctioned():
        temp.write_bytes(b'{"half": ')
    return temp


def test_nothing_to_do_exits_0(home):
    result = recover_cli(home)
    assert result.exit_code == 0 and result.output == "nothing to recover\n"
    assert not statesafe.recover(home).changed


def test_stale_temps_are_removed_in_subfolders_too_and_reported(home):
    (home / "compiled").mkdir()
    temps = [plant_temp(home, "threads_daily_tracker.json"), plant_temp(home / "compiled", "account_wiki.md")]
    result = recover_cli(home)
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"removed stale temp {t}" for t in temps]
    assert leftovers(home) == [] and one_generation(home) == 1


def test_temps_of_a_file_outside_the_policy_are_removed_without_making_a_lock_file(home):
    folder = home / "scripts"
    folder.mkdir()
    stale, live = plant_temp(folder, "refresh.py"), plant_temp(folder, "refresh.py", pid=os.getppid())
    report = statesafe.recover(folder)
    assert report.temps_removed == [stale] and live.exists()
    assert sorted(os.listdir(folder)) == [live.name]


def test_temps_of_a_file_whose_lock_a_live_process_holds_are_left_alone(home):
    temp = plant_temp(home, "style_guide.md")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, statesafe
        with statesafe.lock("style_guide.md"):
            print("locked", flush=True)
            sys.stdin.read()
    """)], cwd=home, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        report = statesafe.recover(home)
        assert temp.exists() and not report.changed
        [line] = report.lines()
        assert line.startswith(f"left alone: temps of {home / 'style_guide.md'}: ")
    finally:
        holder.communicate("", timeout=30)
    assert statesafe.recover(home).temps_removed == [temp]


def test_an_interrupted_commit_is_rolled_forward_and_said_so(home):
    assert commit_dying(home, 2, before_installing) and committed(home)
    [primary] = [p for p in journals(home) if p.parent == home]
    tx = json.loads(primary.read_text())["id"]
    result = recover_cli(home)
    assert result.exit_code == 1
    files = ", ".join(str(home / f) for f in sorted(FILES))
    assert f"transaction {tx}: rolled forward: {files}" in result.output.splitlines()
    assert one_generation(home) == 2 and leftovers(home) == []
    assert recover_cli(home).exit_code == 0


def test_recover_from_the_pointer_folder_settles_the_whole_transaction(home):
    assert commit_dying(home, 2, before_installing)
    report = statesafe.recover(home / "sub")  # only the pointer is here; the primary is one folder up
    assert [outcome for _, outcome, _ in report.transactions] == ["rolled forward"]
    assert one_generation(home) == 2 and journals(home) == []


def test_the_next_write_in_another_folder_settles_every_member(home):
    assert commit_dying(home, 2, before_installing)
    statesafe.write(home / "sub/posts_by_date.md", payload(7, "sub/posts_by_date.md"))
    assert one_generation(home, [f for f in FILES if not f.startswith("sub/")]) == 2
    assert json.loads((home / "sub/posts_by_date.md").read_text())["gen"] == 7
    assert journals(home) == []


def test_a_read_modify_write_under_lock_reads_the_settled_generation(home):
    """lock() settles first: reading under it and writing back keeps the transaction's change."""
    assert commit_dying(home, 2, before_installing) and committed(home)
    tracker = home / FILES[0]
    with statesafe.lock(tracker):
        old = json.loads(tracker.read_text())
        statesafe.write(tracker, {**old, "pad": "updated"})
    assert json.loads(tracker.read_text()) == {**json.loads(payload(2, FILES[0])), "pad": "updated"}
    assert one_generation(home) == 2
    assert journals(home) == [] and leftovers(home) == []


def test_a_leftover_pointer_is_removed(home):
    # killed right after the pointer journal landed, before the primary: never committed
    renames = itertools.count(1)  # the pointer's rename is the first, the primary's the second
    assert commit_dying(home, 2, lambda name, args: name == "replace" and next(renames) == 2)
    assert [p.parent for p in journals(home)] == [home / "sub"] and not committed(home)
    report = statesafe.recover(home)
    assert [outcome for _, outcome, _ in report.transactions] == ["removed leftover journal"]
    assert one_generation(home) == 1 and leftovers(home) == []


def test_a_transaction_whose_files_a_live_process_holds_is_left_alone(home, monkeypatch):
    assert commit_dying(home, 2, before_installing)
    monkeypatch.setattr(recovery, "RECOVER_LOCK_WAIT", 0.2)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, statesafe
        # as the transaction's owner, still at work, holds it (a user's lock() would settle first)
        with statesafe.lock("threads_daily_tracker.json", settle=False):
            print("locked", flush=True)
            sys.stdin.read()
    """)], cwd=home, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        report = statesafe.recover(home)
        assert report.transactions == [] and any("transaction" in line for line in report.busy)
        assert committed(home)  # untouched: a live owner may still be at work
    finally:
        holder.communicate("", timeout=30)
    assert [o for _, o, _ in statesafe.recover(home).transactions] == ["rolled forward"]
    assert one_generation(home) == 2


def test_a_write_settles_its_own_file_without_waiting_for_a_member_another_process_holds(home):
    assert commit_dying(home, 2, before_installing)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, statesafe
        # as the transaction's owner, still at work, holds it (a user's lock() would settle first)
        with statesafe.lock("threads_daily_tracker.json", settle=False):
            print("locked", flush=True)
            sys.stdin.read()
    """)], cwd=home, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        report = recovery.settle_target(home / "style_guide.md")  # what statesafe.write's lock does first
        [(_, outcome, settled)] = report.transactions
        assert outcome == "rolled forward (partly: other files locked)"
        assert sorted(settled) == [home / "style_guide.md", home / "sub/posts_by_date.md"]
        assert committed(home)  # the tracker's rename is still pending: the journal stays
    finally:
        holder.communicate("", timeout=30)
    assert [o for _, o, _ in statesafe.recover(home).transactions] == ["rolled forward"]
    assert one_generation(home) == 2 and leftovers(home) == []


def test_an_unreadable_journal_stops_writes_to_its_folder_and_fails_recover(home):
    journal = home / f"{names.JOURNAL_PREFIX}20260101T000000Z-1-abcd{names.JOURNAL_SUFFIX}"
    journal.write_text('{"statesafe_transaction": 1, "id": "x", "sta')
    with pytest.raises(StatesafeError, match="cannot read transaction journal"):
        statesafe.write(home / "style_guide.md", payload(5, "style_guide.md"))
    assert one_generation(home) == 1
    result = recover_cli(home)
    assert result.exit_code == 2
    assert "could not recover" in result.output and "statesafe: error:" in result.output


def test_recover_refuses_a_path_that_is_not_a_folder(home):
    with pytest.raises(StatesafeError, match="not a directory"):
        statesafe.recover(home / "style_guide.md")
    assert recover_cli(home / "style_guide.md").exit_code == 2
