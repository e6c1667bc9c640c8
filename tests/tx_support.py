"""Helpers shared by the transaction, recovery and crash tests: files whose content names
their generation, and a look at what a directory holds."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from pathlib import Path

import statesafe
from statesafe import names
from statesafe.sanction import sanctioned
from statesafe.names import is_journal_name

#: A 3-file set over two folders: two destructive files and a companion in a subfolder,
#: so the journal needs a pointer as well as the primary.
FILES = ("threads_daily_tracker.json", "style_guide.md", "sub/posts_by_date.md")


def payload(gen: int, name: str, pad: int = 0) -> str:
    """Content that says which generation and file it belongs to (and fails to parse if torn)."""
    return json.dumps({"gen": gen, "file": name, "pad": "x" * pad}) + "\n"


def generation(root: Path, name: str) -> int | None:
    """The generation ``root/name`` holds; None if it does not exist."""
    try:
        text = (root / name).read_text()
    except FileNotFoundError:
        return None
    record = json.loads(text)
    assert record["file"] == name
    return record["gen"]


def generations(root: Path, files=FILES) -> dict[str, int | None]:
    return {name: generation(root, name) for name in files}


def one_generation(root: Path, files=FILES) -> int | None:
    """The one generation every file is at; fails the test if they differ."""
    found = generations(root, files)
    assert len(set(found.values())) == 1, f"files from different generations: {found}"
    return next(iter(found.values()))


def leftovers(root: Path) -> list[str]:
    """Journals and temps anywhere under ``root``: none may remain after recovery."""
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, _, files in os.walk(root) for n in files
                  if is_journal_name(n) or names.parse_temp(n))


def journals(root: Path) -> list[Path]:
    return sorted(Path(d, n) for d, _, files in os.walk(root) for n in files if is_journal_name(n))


def write_generation(tx, root: Path, gen: int, files=FILES, pad: int = 0) -> None:
    for name in files:
        tx.write(root / name, payload(gen, name, pad))


#: The os calls that change the filesystem or make a change durable: each is a step a kill can precede.
STEPS = ("open", "write", "fsync", "replace", "link", "unlink")


def fresh(root: Path) -> Path:
    """``root`` with FILES at generation 1 (copied from a template made once per parent folder:
    the crash enumerations need dozens and fsyncs are slow on a busy machine)."""
    template = root.parent / ".generation-1"
    if not template.exists():
        (template / "sub").mkdir(parents=True)
        with statesafe.transaction() as tx:
            write_generation(tx, template, 1)
    with sanctioned():
        shutil.copytree(template, root)
    return root


def commit_dying(root: Path, gen: int, when, fail=lambda name, args: False, files=FILES) -> bool:
    """Commit ``gen`` in a forked child SIGKILLed just before the first filesystem call (one of
    STEPS) for which ``when(name, args)`` is true; False if the commit finished first (or
    failed: calls ``fail(name, args)`` accepts raise EIO, as a failing disk would)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            for name in STEPS:
                real = getattr(os, name)

                def dying(*args, _real=real, _name=name, **kwargs):
                    if when(_name, args):
                        os.kill(os.getpid(), signal.SIGKILL)
                    if fail(_name, args):
                        raise OSError(errno.EIO, os.strerror(errno.EIO))
                    return _real(*args, **kwargs)

                setattr(os, name, dying)
            with statesafe.transaction() as tx:
                write_generation(tx, root, gen, files)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def committed(root: Path) -> bool:
    """Whether a primary journal in state "commit" is on disk: the transaction must roll forward."""
    return any(json.loads(p.read_text()).get("state") == "commit" for p in journals(root))


def before_installing(name: str, args: tuple) -> bool:
    """Kill point: the first rename of a temp onto a member (the commit point has passed)."""
    return name == "replace" and os.path.basename(args[1]) in {os.path.basename(f) for f in FILES}
