"""``statesafe hook``: the agent hook commands, one set per adapter of :data:`statesafe.agents.ADAPTERS`.

``statesafe hook AGENT`` answers one tool call (the adapter's ``main``; the console
script sends ``statesafe hook claude`` there without loading click, for speed),
``statesafe hook install AGENT`` puts the hook into the agent's settings, and
``statesafe hook selftest [AGENT]`` checks the installed command against recorded
payloads (AGENT defaults to claude, the only agent before it took one). An
unknown AGENT is a usage error.
"""

from __future__ import annotations

import sys

import click

from statesafe.agents import ADAPTERS, DEFAULT_AGENT, hook_module, installer_module
from statesafe.errors import StatesafeError


class _Agent(click.ParamType):
    """An agent of the registry (read when the command runs): anything else is a usage error."""

    name = "agent"

    def convert(self, value, param, ctx):
        if value in ADAPTERS:
            return value
        self.fail(f"unknown agent {value!r} (known: {', '.join(sorted(ADAPTERS))})", param, ctx)


_AGENTS = _Agent()


class _HookGroup(click.Group):
    """install and selftest, plus one answering command per agent, built when asked for."""

    def list_commands(self, ctx):
        return [*sorted(ADAPTERS), *super().list_commands(ctx)]

    def get_command(self, ctx, name):
        if name in ADAPTERS:
            return _answering_command(name)
        return super().get_command(ctx, name)


def _answering_command(name: str) -> click.Command:
    """``statesafe hook NAME [OPTIONS]``: the adapter's options as flags, its main() as the action."""
    adapter, module = ADAPTERS[name], hook_module(name)
    options = {flag.lstrip("-").replace("-", "_"): flag for flag in module.OPTIONS}

    def answer(**given):
        sys.exit(module.main([flag for key, flag in options.items() if given[key]]))

    return click.Command(
        name, callback=answer,
        params=[click.Option([flag], is_flag=True, help=help) for flag, help in module.OPTIONS.items()],
        short_help=f"The {adapter.title} {adapter.event} hook (tool call as JSON on stdin).",
        help=f"{adapter.title} {adapter.event} hook: reads the tool call as JSON on stdin; refuses raw writes "
             "to policy files.")


@click.group(cls=_HookGroup)
def hook():
    """Agent hooks: keep an AI agent's own file tools inside the write policy."""


@hook.command(short_help="Add an agent's hook to the project's settings.")
@click.argument("agent", type=_AGENTS)
@click.option("--apply", is_flag=True, help="Install the hook in apply mode (see `statesafe hook AGENT --help`).")
@click.option("--project", type=click.Path(file_okay=False, exists=True), default=".",
              help="The project whose agent settings get the hook (default: here).")
@click.option("--command", "launcher", metavar="TEXT",
              help="How the agent should start statesafe, e.g. 'statesafe' to rely on PATH "
                   "(default: this installation's statesafe).")
def install(agent: str, apply: bool, project: str, launcher: str | None):
    """Add AGENT's hook to the project's settings (claude: the PreToolUse hook in .claude/settings.json;
    merged, the old file backed up)."""
    click.echo(installer_module(agent).install(project, apply=apply, launcher=launcher))


@hook.command(short_help="Check the installed hook against recorded payloads.")
@click.argument("agent", type=_AGENTS, required=False, default=DEFAULT_AGENT)
@click.option("--project", type=click.Path(file_okay=False, exists=True), default=".",
              help="Test the hook command installed in this project's agent settings, if any.")
def selftest(agent: str, project: str):
    """Feed recorded AGENT payloads (default: claude) through the hook, as the agent runs it, and check
    each answer."""
    failures = installer_module(agent).selftest(project, click.echo)
    if failures:
        raise StatesafeError(f"hook selftest: {failures} case(s) failed")
