"""What the end-to-end tests drive: the installed ``statesafe`` console script, a terminal, strace.

Kept apart from the tests so each test reads as the user's session it replays.
"""

from __future__ import annotations

import functools
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from test_examples import EPOCH

_SCRIPT = Path(sys.executable).with_name("statesafe")
#: the console script a user types; ``python -m statesafe`` only if it is not installed beside this python
STATESAFE = [str(_SCRIPT)] if _SCRIPT.exists() else (
    [found] if (found := shutil.which("statesafe")) else [sys.executable, "-m", "statesafe"])

#: ``path:line:col: CODE message``, the line a person reads for each finding
FINDING_LINE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<column>\d+): (?P<code>FS\d{3}) (?P<message>\S.*)$")
SUMMARY_LINE = re.compile(r"^Found (?P<findings>\d+) findings in (?P<files>\d+) files "
                          r"\((?P<checked>\d+) files checked(?:; (?P<fixable>\d+) fixable with --fix)?\)\.$")


@functools.cache
def strace_can_inject() -> bool:
    """Whether strace is here and allowed to trace (containers may forbid ptrace)."""
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-e", "trace=none", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def env(**extra: str) -> dict[str, str]:
    """The user's environment with reproducible timestamps (the skills honour SOURCE_DATE_EPOCH)."""
    return {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), **extra}


def statesafe(*args: str, cwd: Path, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """``statesafe ARGS`` in ``cwd``, as typed in a shell (no terminal: stdin is ``input`` or empty)."""
    return subprocess.run([*STATESAFE, *args], cwd=cwd, env=env(), input=input or "", capture_output=True,
                          text=True, timeout=timeout)


def script(skill: Path, name: str, workdir: Path, *args: str, prefix: tuple[str, ...] = (),
           check: bool = True) -> subprocess.CompletedProcess:
    """``[prefix] python scripts/NAME.py --dir WORKDIR ARGS`` from the skill's folder, as its README says."""
    command = [*prefix, sys.executable, f"scripts/{name}.py", "--dir", str(workdir), *args]
    done = subprocess.run(command, cwd=skill, env=env(), capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done


def copy_skill(skill: Path, destination: Path) -> Path:
    """A copy of an example skill as a user would check it out (no audit cache, no bytecode)."""
    return Path(shutil.copytree(skill, destination, ignore=shutil.ignore_patterns(
        ".statesafe_cache", "__pycache__", "data")))


def hook(payload: dict, *options: str, cwd: Path) -> subprocess.CompletedProcess:
    """One PreToolUse call answered by ``statesafe hook claude``, fed the JSON Claude Code sends."""
    return subprocess.run([*STATESAFE, "hook", "claude", *options], cwd=cwd, env=env(), input=json.dumps(payload),
                          capture_output=True, text=True, timeout=30)


class Terminal:
    """A command on a pseudo-terminal, read and answered like a person at a keyboard."""

    def __init__(self, command: list[str], cwd: Path):
        master, slave = pty.openpty()
        self.process = subprocess.Popen(command, cwd=cwd, env=env(), stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True)
        os.close(slave)
        self.master: int | None = master
        self.seen = ""
        self.consumed = 0  # how much of ``seen`` earlier expects matched

    def expect(self, text: str, timeout: float = 30) -> str:
        """What was shown since the last expect, up to ``text`` shown anew (fails after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.consumed:]:
            assert time.monotonic() < deadline, f"{text!r} never shown; the terminal shows:\n{self.seen}"
            if not self._read(deadline - time.monotonic()) and self.process.poll() is not None:
                raise AssertionError(f"{text!r} never shown before the command ended:\n{self.seen}")
        start, self.consumed = self.consumed, self.seen.index(text, self.consumed) + len(text)
        return self.seen[start:self.consumed]

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc) -> None:
        """A session that failed half way must not leave the command waiting at its prompt."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.master is not None:
            os.close(self.master)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """The exit status and everything the terminal showed."""
        deadline = time.monotonic() + timeout
        while self._read(max(deadline - time.monotonic(), 0.01)):
            pass
        status = self.process.wait(timeout=max(deadline - time.monotonic(), 1))
        os.close(self.master)
        self.master = None
        return status, self.seen

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the other side closed
            return False
        self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return bool(chunk)
