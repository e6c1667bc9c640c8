"""The ``statesafe`` command line.

Subcommands live beside what they drive and are imported only when run, so
``statesafe hook claude`` (answering every agent tool call) never loads libcst.
Every StatesafeError becomes one line on stderr, ``statesafe: error: ...``, exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings

import click

from statesafe import __version__
from statesafe.errors import PolicyWarning, StatesafeError

#: name -> (module:attribute, one-line help shown by ``statesafe --help``)
COMMANDS = {
    "audit": ("statesafe.auditor.cli:audit", "Flag writes to policy files that bypass the policy."),
    "rule": ("statesafe.auditor.cli:rule", "Print a rule's documentation."),
    "write": ("statesafe.commands.files:write", "Write a file the policy's way (backup, temp, rename)."),
    "append": ("statesafe.commands.files:append", "Append one JSON record to an append-only log."),
    "backups": ("statesafe.commands.files:backups", "List a file's backups, newest first."),
    "restore": ("statesafe.commands.files:restore", "Restore a file from one of its backups."),
    "recover": ("statesafe.commands.recovery:recover", "Finish or roll back interrupted writes; remove stale temps."),
    "check": ("statesafe.commands.compiled:check", "List compiled files that are stale or malformed."),
    "policy": ("statesafe.commands.policy:policy", "Print the effective policy and where each part came from."),
    "run": ("statesafe.guard.run:run", "Run a command with every Python process in it guarded."),
    "hook": ("statesafe.agents.cli:hook", "Agent hooks (Claude Code PreToolUse)."),
    "init": ("statesafe.commands.init:init", "Adopt statesafe in an existing skill folder."),
    "demo": ("statesafe.commands.demo:demo", "Show the writers at work in a temporary folder."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name, (target, _) in COMMANDS.items() if _available(target)]

    def get_command(self, ctx, name):
        if name not in COMMANDS or not _available(COMMANDS[name][0]):
            return None
        module, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        # A refusal is reported once, as the error line below, not also as a PolicyWarning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolicyWarning)
            try:
                return super().invoke(ctx)
            except StatesafeError as exc:
                click.echo(f"statesafe: error: {exc}", err=True)
                ctx.exit(2)


def _available(target: str) -> bool:
    module = target.split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="statesafe")
def main():
    """statesafe keeps a skill's persistent state files safe from half-written and in-place writes."""
