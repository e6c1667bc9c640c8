"""``statesafe run -- CMD [ARGS...]``: CMD runs guarded, and so does every Python process it starts.

The guard travels in the environment (:mod:`statesafe.guard.boot`): ``PYTHONPATH``
gets a directory whose ``sitecustomize.py`` installs it at start-up (then runs any
sitecustomize it shadows), and ``STATESAFE_GUARD`` / ``STATESAFE_GUARD_POLICY``
carry the mode and the directory whose policy applies. CMD replaces this process (exec), so its exit
status and signals pass through unchanged.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import click

from statesafe.guard.boot import environment
from statesafe.policy import load_policy


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--mode", type=click.Choice(["enforce", "warn"]), default="enforce", show_default=True,
              help="enforce: refuse raw writes to policy files; warn: report them and let them happen.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(mode: str, command: tuple[str, ...]) -> None:
    """Run COMMAND with every Python process in it guarded.

    \b
        statesafe run -- python scripts/refresh.py --dir data
        statesafe run --mode warn -- make test

    A raw write to a policy file raises PolicyViolation in the process that tries
    it, and that process exits non-zero even if it catches the error. The policy
    is the one in effect in the current directory. Non-Python programs run as
    usual; the Python processes they start are guarded.
    """
    load_policy()  # a broken policy source fails here, once, as "statesafe: error: ..."
    env = {**os.environ, **environment(mode, os.getcwd(), os.environ)}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name == "nt":  # no exec on Windows: wait and pass the status on
            sys.exit(subprocess.call(list(command), env=env))
        os.execvpe(command[0], list(command), env)
    except OSError as exc:
        click.echo(f"statesafe: error: {command[0]}: {exc.strerror or exc}", err=True)
        sys.exit(127 if exc.errno == errno.ENOENT else 126)
