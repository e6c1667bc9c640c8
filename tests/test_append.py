"""statesafe.append: one whole JSON line per call, never torn, interleaved or swallowed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid

import pytest

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import statesafe
from statesafe import writers
from statesafe.errors import PolicyViolation
from fs_support import COMPANION, LOG, TRACKER, child_env, fd_path


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lines(path):
    return path.read_bytes().split(b"\n")


def test_one_line_with_run_id_and_utc_timestamp_first(home):
    fields = statesafe.append(LOG, {"event": "refresh", "note": "café"})
    [line, end] = lines(home / LOG)
    assert end == b""
    record = json.loads(line)
    assert list(record) == ["run_id", "timestamp", "event", "note"]
    assert record == fields and record["note"] == "café"
    assert re.fullmatch(r"[0-9a-f]{32}", record["run_id"]) and uuid.UUID(record["run_id"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])


def test_record_fields_win_and_supersedes_is_recorded(home):
    first = statesafe.append(LOG, {"run_id": "abc", "timestamp": "then", "n": 1})
    assert first == {"run_id": "abc", "timestamp": "then", "n": 1}
    second = statesafe.append(LOG, {"n": 2}, supersedes="abc")
    assert second["supersedes"] == "abc" and second["run_id"] != "abc"
    assert [json.loads(line)["n"] for line in lines(home / LOG)[:-1]] == [1, 2]


@pytest.mark.parametrize("record, supersedes", [
    ({}, None), ({"n": 1}, None), ({1: "int key", "nested": {"a": [1, 2.5, None, True]}}, None),
    ({"text": "é\u2028"}, None), ({"n": 2}, "abc"), ({"supersedes": "mine", "n": 3}, "abc")])
def test_the_line_is_exactly_the_json_of_the_fields_returned(home, record, supersedes):
    fields = statesafe.append(LOG, record, supersedes=supersedes)
    assert (home / LOG).read_bytes() == writers.format_line(fields)
    assert json.loads((home / LOG).read_text(encoding="utf-8")) == json.loads(json.dumps(fields))


def test_a_forked_child_draws_its_own_run_ids(home):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, statesafe.append(LOG, {"who": "child"})["run_id"].encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    ours = statesafe.append(LOG, {"who": "parent"})["run_id"]
    assert uuid.UUID(child).version == 4 and child != ours and child[:20] != ours[:20]


def test_the_same_relative_name_in_another_folder_is_another_log(home, monkeypatch):
    (home / "other").mkdir()
    statesafe.append(LOG, {"n": 1})
    monkeypatch.chdir(home / "other")
    statesafe.append(LOG, {"n": 2})
    assert [json.loads(line)["n"] for line in lines(home / LOG)[:-1]] == [1]
    assert [json.loads(line)["n"] for line in lines(home / "other" / LOG)[:-1]] == [2]


def test_unicode_line_separators_stay_inside_the_line(home):
    statesafe.append(LOG, {"text": "a\u2028b\u2029c\nd"})
    text = (home / LOG).read_text(encoding="utf-8")
    assert len(text.splitlines()) == 1
    assert json.loads(text)["text"] == "a\u2028b\u2029c\nd"


def test_each_record_is_one_write_call(home, monkeypatch):
    log = home / LOG
    statesafe.append(log, {"warm": True})
    writes = []
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(fd_path(fd)) or real(fd, data))
    for n in range(3):
        statesafe.append(log, {"n": n})
    assert writes == [str(log)] * 3


@pytest.mark.parametrize("pread", ["os.pread", "without pread (Windows)"])
def test_a_torn_last_line_stays_one_bad_line_and_does_not_swallow_the_next(home, monkeypatch, pread):
    if pread != "os.pread":
        monkeypatch.setattr(writers, "_pread", writers._seek_and_read)
    log = home / LOG
    statesafe.append(log, {"n": 1})
    with open(log, "ab") as raw:
        raw.write(b'{"run_id": "cut", "n": 2, "text": "sho')  # a crash mid-append
    statesafe.append(log, {"n": 3})
    statesafe.append(log, {"n": 4})
    got = lines(log)
    assert got[-1] == b"" and len(got) == 5
    assert got[1] == b'{"run_id": "cut", "n": 2, "text": "sho'
    assert [json.loads(got[i])["n"] for i in (0, 2, 3)] == [1, 3, 4]


@pytest.mark.skipif(fcntl is None, reason="no flock()")
def test_a_line_still_being_written_is_not_taken_for_a_torn_one(home):
    log = home / LOG
    statesafe.append(log, {"n": 1})
    in_flight = os.open(log, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(in_flight, fcntl.LOCK_SH)  # another appender, half-way through its line
    os.write(in_flight, b'{"n": 2, "text": ')
    other = threading.Thread(target=statesafe.append, args=(log, {"n": 3}))
    other.start()
    other.join(0.3)
    assert other.is_alive()  # it waits for the write in flight instead of "repairing" it
    os.write(in_flight, b'"done"}\n')
    os.close(in_flight)
    other.join(10)
    assert [json.loads(line)["n"] for line in (home / LOG).read_text().splitlines()] == [1, 2, 3]


def test_no_fsync_by_default_and_one_with_durable(home, monkeypatch):
    fsyncs = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd_path(fd)) or real(fd))
    statesafe.append(LOG, {"n": 1})
    statesafe.append(LOG, {"n": 2})
    assert fsyncs == []
    statesafe.append(LOG, {"n": 3}, durable=True)
    assert fsyncs == [str(home / LOG)]


def test_durable_append_that_creates_the_log_also_fsyncs_the_directory(home, monkeypatch):
    fsyncs = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd_path(fd)) or real(fd))
    statesafe.append("threads_freshness.log", {"n": 1}, durable=True)
    assert fsyncs == [str(home / "threads_freshness.log"), str(home)]


def test_new_log_gets_the_umask_mode(home):
    old = os.umask(0o027)
    try:
        statesafe.append(LOG, {"n": 1})
    finally:
        os.umask(old)
    assert os.stat(home / LOG).st_mode & 0o777 == 0o640


@pytest.mark.parametrize("name", [TRACKER, COMPANION, "compiled/recent_window.md"])
def test_append_to_a_file_that_must_be_rewritten_whole_is_refused(home, name):
    (home / "compiled").mkdir()
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation) as caught:
        statesafe.append(name, {"n": 1})
    assert "statesafe.write" in str(caught.value)
    assert not (home / name).exists()


def test_refused_append_leaves_an_existing_file_untouched(home):
    statesafe.write(TRACKER, {"a": 1})
    (home / "alias.log").symlink_to(home / TRACKER)  # a log name does not make the tracker a log
    before = (home / TRACKER).read_bytes()
    for name in (TRACKER, "alias.log"):
        with pytest.warns(UserWarning), pytest.raises(PolicyViolation):
            statesafe.append(name, {"n": 1})
    assert (home / TRACKER).read_bytes() == before


def test_a_log_replaced_by_a_link_to_the_tracker_is_seen(home):
    statesafe.write(TRACKER, {"a": 1})
    before = (home / TRACKER).read_bytes()
    statesafe.append(LOG, {"n": 1})  # remembered as a plain file
    os.unlink(home / LOG)
    (home / LOG).symlink_to(home / TRACKER)
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation):
        statesafe.append(LOG, {"n": 2})
    assert (home / TRACKER).read_bytes() == before
    os.unlink(home / LOG)
    statesafe.append(LOG, {"n": 3})  # and a new plain log is created again
    assert json.loads((home / LOG).read_text())["n"] == 3


def test_append_to_a_backup_is_refused(home):
    statesafe.write(TRACKER, {"a": 1})
    statesafe.write(TRACKER, {"a": 2})
    [backup] = statesafe.backups(TRACKER)
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation):
        statesafe.append(backup, {"n": 1})


def test_files_outside_the_policy_may_be_appended(home):
    statesafe.append("events.jsonl", {"n": 1})
    assert json.loads((home / "events.jsonl").read_text())["n"] == 1


def test_a_symlinked_log_appends_to_its_target(home):
    (home / "real.log").write_bytes(b"")
    (home / LOG).symlink_to(home / "real.log")
    statesafe.append(LOG, {"n": 1})
    assert (home / LOG).is_symlink() and json.loads((home / "real.log").read_text())["n"] == 1


def test_non_object_record_is_a_type_error(home):
    with pytest.raises(TypeError, match="JSON object"):
        statesafe.append(LOG, ["not", "an", "object"])


APPENDER = """
import sys, statesafe
worker = int(sys.argv[1])
for n in range(int(sys.argv[2])):
    statesafe.append("threads_refresh.log", {"worker": worker, "n": n, "pad": "x" * (n % 300)})
"""


def test_concurrent_appenders_never_tear_or_interleave(home):
    """8 processes x 2,000 appends onto a log whose last line a crash cut short: exactly 16,000
    parseable lines after the one bad line, each record once, no empty line."""
    (home / LOG).write_bytes(b'{"n": "cut short by a crash')
    workers = [subprocess.Popen([sys.executable, "-c", APPENDER, str(w), "2000"], cwd=home, env=child_env())
               for w in range(8)]
    assert all(w.wait(timeout=300) == 0 for w in workers)
    raw = (home / LOG).read_bytes()
    assert raw.endswith(b"\n")
    torn, *good = raw.split(b"\n")[:-1]
    assert torn == b'{"n": "cut short by a crash'
    records = [json.loads(line) for line in good]
    assert len(records) == 16000
    assert sorted((r["worker"], r["n"]) for r in records) == [(w, n) for w in range(8) for n in range(2000)]
    assert len({r["run_id"] for r in records}) == 16000


def test_the_refusal_warns_outside_the_sanctioned_context(home):
    """warnings.showwarning and logging handlers are user code: the guard must not let them through."""
    import warnings

    from statesafe import names, sanction
    from statesafe.errors import PolicyWarning

    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, *rest: seen.append(
            (category, filename, sanction.active()))
        for name in (TRACKER, names.backup_name(TRACKER, "20260101T000000Z")):
            with pytest.raises(PolicyViolation):
                statesafe.append(name, {"n": 1})
        with pytest.raises(PolicyViolation):
            statesafe.write(LOG, {"n": 1})
    assert seen == [(PolicyWarning, __file__, False)] * 3
