"""Agent hooks: keep an AI agent's own file tools inside the write policy.

The auditor reads a skill's code and the runtime guard (:mod:`statesafe.guard`)
watches its Python processes; neither sees the agent's own tool calls. A hook
does: the agent runs it before each tool call, and it refuses a raw write to a
policy file with the compliant command in the reason.

One judge for every agent (:mod:`statesafe.agents.judge`: Effects in, a decision
out) and one adapter per agent, registered in :data:`ADAPTERS` by the name the
command line takes (``statesafe hook AGENT``, ``statesafe hook install AGENT``,
``statesafe hook selftest AGENT``). An adapter is two modules:

- ``hook``: reads the agent's payload, asks the judge, answers in the agent's
  protocol. It provides ``main(argv) -> exit code`` (the call on stdin) and
  ``OPTIONS`` (flag -> help). It runs once per tool call in a fresh process, so it
  stays light: no click, no writers, no auditor, not the runtime guard.
- ``installer``: ``install(project, *, apply=False, launcher=None) -> str`` puts
  the hook into the agent's settings; ``selftest(project, echo) -> int`` runs
  recorded payloads through the installed command and returns the failures.

Today: ``claude`` (Claude Code's PreToolUse hook). This module imports nothing of
them: the console script's fast path (statesafe/__main__.py) reads the registry
on every hook call.
"""

from __future__ import annotations

from collections import namedtuple


class Adapter(namedtuple("Adapter", "name title event hook installer")):
    """One agent's hook: its modules (imported when used) and how messages name it.

    name: the AGENT argument of the command line; title: the agent, as help and messages
    name it; event: the agent's pre-tool-call hook event; hook: the module answering one
    tool call (``main(argv)``, ``OPTIONS``); installer: the module with
    ``install(project, *, apply, launcher)`` and ``selftest(project, echo)``.
    A namedtuple: typing (for NamedTuple) costs ~3 ms of a hook process's start.
    """

    __slots__ = ()


#: agent name -> its adapter
ADAPTERS: dict[str, Adapter] = {
    "claude": Adapter("claude", "Claude Code", "PreToolUse", "statesafe.agents.claude",
                      "statesafe.agents.claude_install"),
}
#: the agent of ``statesafe hook selftest`` without an AGENT (the only one there was before it took one)
DEFAULT_AGENT = "claude"


def hook_module(name: str):
    """The module answering AGENT's tool calls (``main(argv)``, ``OPTIONS``), or None for an unknown agent."""
    adapter = ADAPTERS.get(name)
    if adapter is None:
        return None
    import importlib

    return importlib.import_module(adapter.hook)


def installer_module(name: str):
    """The module installing and self-testing AGENT's hook; KeyError for an unknown agent."""
    import importlib

    return importlib.import_module(ADAPTERS[name].installer)
