"""statesafe write / append / backups / restore / demo on the command line."""

from __future__ import annotations

import json
import warnings
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import statesafe
from statesafe.cli import main
from fs_support import LOG, TRACKER, child_env


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_write_from_a_file_and_from_stdin(home):
    (home / "new.json").write_text('{"posts": [1]}\n')
    assert cli("write", TRACKER, "--from", "new.json").exit_code == 0
    result = cli("write", TRACKER, "--from", "-", input='{"posts": [1, 2]}\n')
    assert result.exit_code == 0 and "wrote" in result.output
    assert json.loads((home / TRACKER).read_text()) == {"posts": [1, 2]}
    assert len(statesafe.backups(TRACKER)) == 1


def test_write_errors_are_one_line_exit_2(home):
    result = cli("write", TRACKER, "--from", "missing.json")
    assert result.exit_code == 2
    assert result.output.startswith("statesafe: error: missing.json: cannot read") and result.output.count("\n") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refusal is the error line, not also a warning
        result = cli("write", LOG, "--from", "-", input="x")
    assert result.exit_code == 2 and result.output.startswith("statesafe: error: PolicyViolation")
    assert result.output.count("\n") == 1


def test_a_write_that_fails_on_an_os_error_is_one_line_exit_2(home):
    result = cli("write", f"missing/{TRACKER}", "--from", "-", input="{}")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("statesafe: error: ") and "No such file or directory (errno 2)" in result.output
    with pytest.raises(statesafe.WriteError) as caught:
        statesafe.write(home / "missing" / TRACKER, {})
    assert isinstance(caught.value, OSError) and caught.value.errno == 2


def test_append_prints_the_run_id_and_records_supersedes(home):
    first = cli("append", LOG, '{"n": 1}')
    assert first.exit_code == 0
    run_id = first.output.strip()
    assert cli("append", LOG, '{"n": 2}', "--supersedes", run_id, "--durable").exit_code == 0
    records = [json.loads(line) for line in (home / LOG).read_text().splitlines()]
    assert records[0]["run_id"] == run_id and records[1]["supersedes"] == run_id


@pytest.mark.parametrize("record, problem", [("{bad", "not valid JSON"), ("[1]", "must be a JSON object")])
def test_append_rejects_bad_records(home, record, problem):
    result = cli("append", LOG, record)
    assert result.exit_code == 2 and problem in result.output and result.output.startswith("statesafe: error:")
    assert not (home / LOG).exists()


def test_backups_table_newest_first_with_parse_and_post_count(home):
    assert cli("backups", TRACKER).output == f"no backups of {TRACKER}\n"
    for count in (1, 2, 3):
        statesafe.write(TRACKER, {"posts": list(range(count))})
    damaged = home / f"{TRACKER}.bak-20200101T000000Z"
    damaged.write_text('{"posts": [')
    (home / f"{TRACKER}.bak-20200102T000000Z-corrupted").write_text("[1, 2, 3, 4]")
    result = cli("backups", TRACKER)
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["backup", "time", "(UTC)", "bytes", "parses", "posts"]
    assert [row.split()[0] for row in rows] == [b.name for b in statesafe.backups(TRACKER)]
    assert rows[0].split()[-2:] == ["yes", "2"] and rows[1].split()[-2:] == ["yes", "1"]
    assert "(corrupted snapshot)" in rows[2] and rows[2].split()[-2:] == ["yes", "4"]
    assert rows[3].split()[-2:] == ["NO", "-"]


def test_restore_with_from(home):
    statesafe.write(TRACKER, {"posts": [1]})
    statesafe.write(TRACKER, {"posts": [1, 2]})
    [backup] = statesafe.backups(TRACKER)
    result = cli("restore", TRACKER, "--from", backup.name)
    assert result.exit_code == 0 and "corrupted" in result.output
    assert json.loads((home / TRACKER).read_text()) == {"posts": [1]}


def test_restore_refuses_foreign_files_one_line_exit_2(home):
    statesafe.write(TRACKER, {"posts": [1]})
    (home / "other.json").write_text("{}")
    result = cli("restore", TRACKER, "--from", "other.json")
    assert result.exit_code == 2 and result.output.startswith("statesafe: error:") and "refusing" in result.output


def test_restore_without_from_and_without_a_terminal_is_an_error(home):
    statesafe.write(TRACKER, {"posts": [1]})
    statesafe.write(TRACKER, {"posts": [1, 2]})
    result = cli("restore", TRACKER)
    assert result.exit_code == 2 and "--from" in result.output
    assert json.loads((home / TRACKER).read_text()) == {"posts": [1, 2]}


def test_restore_on_a_terminal_lists_and_asks(home):
    for count in (1, 2, 3):
        statesafe.write(TRACKER, {"posts": list(range(count))})
    primary, secondary = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "statesafe", "restore", TRACKER], cwd=home, env=child_env(),
                             stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = read_until(primary, b"(number)")
    assert b"posts" in output and output.count(b".bak-") == 2  # the list, then the question
    assert json.loads((home / TRACKER).read_text()) == {"posts": [0, 1, 2]}  # nothing picked for us
    os.write(primary, b"2\n")
    output += read_until(primary, b"kept as")
    assert child.wait(timeout=30) == 0, output
    os.close(primary)
    assert json.loads((home / TRACKER).read_text()) == {"posts": [0]}


def read_until(fd, marker, timeout=30.0):
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data += os.read(fd, 4096)
            except OSError:
                break
    return data


def test_demo_runs_and_cleans_up(home):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "refused" in result.output and "restored" in result.output
    folder = result.output.splitlines()[0].removeprefix("in ")
    assert not os.path.exists(folder)
