"""``statesafe hook``: the agent hook commands (Claude Code).

``statesafe hook claude`` answers one PreToolUse call (see
:mod:`statesafe.guard.claude_decide`, which also runs without click for speed),
``statesafe hook install claude`` puts it in .claude/settings.json, and
``statesafe hook selftest`` checks the installed command against recorded payloads.
"""

from __future__ import annotations

import sys

import click

from statesafe.errors import StatesafeError

@click.group()
def hook():
    """Agent hooks: keep an AI agent's own file tools inside the write policy."""


@hook.command(short_help="The Claude Code PreToolUse hook (tool call as JSON on stdin).")
@click.option("--apply", is_flag=True,
              help="Perform a refused Write/Edit/MultiEdit the policy's way (statesafe write / append) and tell "
                   "the agent it is done; only when edits are auto-accepted (acceptEdits, bypassPermissions).")
@click.option("--json", "as_json", is_flag=True,
              help="Refuse with exit 0 and a hookSpecificOutput JSON deny instead of exit 2 + stderr.")
def claude(apply: bool, as_json: bool):
    """Claude Code PreToolUse hook: reads the tool call as JSON on stdin; refuses raw writes to policy files."""
    from statesafe.guard.claude_decide import decide_raw, respond

    sys.exit(respond(decide_raw(sys.stdin.buffer.read(), apply=apply), as_json))


@hook.command(short_help="Add the hook to the project's .claude/settings.json.")
@click.argument("agent", type=click.Choice(["claude"]))
@click.option("--apply", is_flag=True, help="Install the hook in apply mode (see `statesafe hook claude --help`).")
@click.option("--project", type=click.Path(file_okay=False, exists=True), default=".",
              help="The project whose .claude/settings.json gets the hook (default: here).")
@click.option("--command", "launcher", metavar="TEXT",
              help="How Claude Code should start statesafe, e.g. 'statesafe' to rely on PATH "
                   "(default: this installation's statesafe).")
def install(agent: str, apply: bool, project: str, launcher: str | None):
    """Add the PreToolUse hook to the project's .claude/settings.json (merged; the old file backed up)."""
    from statesafe.guard.claude_install import install_claude

    click.echo(install_claude(project, apply=apply, launcher=launcher))


@hook.command(short_help="Check the installed hook against recorded Claude Code payloads.")
@click.option("--project", type=click.Path(file_okay=False, exists=True), default=".",
              help="Test the hook command installed in this project's .claude/settings.json, if any.")
def selftest(project: str):
    """Feed recorded Claude Code payloads through the hook, as Claude Code runs it, and check each answer."""
    from statesafe.guard.claude_install import selftest as run_selftest

    failures = run_selftest(project, click.echo)
    if failures:
        raise StatesafeError(f"hook selftest: {failures} case(s) failed")
