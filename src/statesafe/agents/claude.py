"""Claude Code's adapter: what ``statesafe hook claude`` answers to a PreToolUse call, without click.

Claude Code runs the hook before each Write, Edit, MultiEdit, NotebookEdit and
Bash call, with the call as JSON on stdin. This module reads the payload
(``hook_event_name``, ``tool_name``, ``tool_input``, ``cwd``, ``permission_mode``),
turns the call into Effects for :mod:`statesafe.agents.judge` (a file tool's
``file_path`` resolved against the payload's ``cwd``; a Bash command read by the
shell reader) and answers the way Claude Code reads it. A raw write to a policy
file is refused with the compliant command in the reason; everything else passes
with no output (the hook never answers "allow": that would skip the user's prompt).

Protocol: a refusal is exit 2 with the reason on stderr (stdout stays empty);
``--json`` answers exit 0 with a ``hookSpecificOutput`` deny carrying
``hookEventName`` instead. Never both.

Fail closed: any other non-zero exit lets the tool run, so the hook catches its
own errors and still decides: a tool call it cannot read, or a policy it cannot
load, is refused; an internal error is refused when the call names anything that
could be a policy file. The installed command ends in ``|| exit 2`` so that even
a statesafe that cannot start refuses rather than allows.

Hot path: the hook starts a fresh process for every tool call, so this module
imports only the judge (the policy model and the effects table); shell parsing
loads for Bash, the writers for ``--apply`` (:mod:`statesafe.agents.claude_apply`).
``statesafe hook claude`` comes straight here from the console script
(statesafe/__main__.py) without loading click; ``python -m statesafe.agents.claude``
gives the same answer.
"""

from __future__ import annotations

import json
import os
import sys

from statesafe.agents.judge import (
    PASS,
    Classifier,
    Decision,
    absolute,
    after_crash,
    broken_policy,
    command_words,
    judge,
    judge_command,
    unreadable,
    write_effect,
)
from statesafe.errors import ConfigError

#: the tools that write one file, and the tool_input key naming it
FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
FILE_MATCHER = "Write|Edit|MultiEdit|NotebookEdit"
#: the shell tool: its command is read by the shell reader
SHELL_TOOL = "Bash"
#: permission modes in which the user has already accepted the agent's edits: only there does
#: --apply perform them (a PreToolUse hook runs before the permission prompt)
APPLY_MODES = {"acceptEdits", "bypassPermissions"}
#: the options ``statesafe hook claude`` takes, with their help (the click command is built from these)
OPTIONS = {
    "--apply": "Perform a refused Write/Edit/MultiEdit the policy's way (statesafe write / append) and tell "
               "the agent it is done; only when edits are auto-accepted (acceptEdits, bypassPermissions).",
    "--json": "Refuse with exit 0 and a hookSpecificOutput JSON deny instead of exit 2 + stderr.",
}


class BadPayload(ValueError):
    """A tool call the hook cannot read: refused, since its target is unknown."""


# --- the decision ----------------------------------------------------------------------

def decide(payload: object, *, apply: bool = False) -> Decision:
    """The hook's answer to one tool call; never raises (see the module docstring)."""
    try:
        return _decide(payload, apply)
    except BadPayload as exc:
        return unreadable(str(exc))
    except Exception as exc:  # noqa: BLE001 - a crash must not become an allow
        return _after_crash(payload, f"internal error: {type(exc).__name__}: {exc}")


def decide_raw(raw: bytes, *, apply: bool = False) -> Decision:
    """decide() on the bytes Claude Code sends."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return unreadable(f"stdin is not JSON: {exc}")
    return decide(payload, apply=apply)


def _decide(payload: object, apply: bool) -> Decision:
    if not isinstance(payload, dict):
        raise BadPayload(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("hook_event_name", "PreToolUse") != "PreToolUse":
        return PASS
    tool = payload.get("tool_name")
    if not isinstance(tool, str):
        raise BadPayload("no tool_name")
    if tool not in FILE_TOOLS and tool != SHELL_TOOL:
        return PASS  # unknown tools pass
    tool_input = payload.get("tool_input")
    cwd = payload.get("cwd") or os.getcwd()
    if not isinstance(tool_input, dict) or not isinstance(cwd, str):
        raise BadPayload("tool_input is not an object" if not isinstance(tool_input, dict) else "cwd is not a string")
    if tool == SHELL_TOOL:
        command = tool_input.get("command")
        if not isinstance(command, str):
            raise BadPayload("Bash without a command string")
        return judge_command(command, cwd)
    file_path = tool_input.get(FILE_TOOLS[tool])
    if not isinstance(file_path, str) or not file_path:
        raise BadPayload(f"{tool} without {FILE_TOOLS[tool]}")
    path = absolute(file_path, cwd)
    if apply and tool != "NotebookEdit" and payload.get("permission_mode") in APPLY_MODES:
        return _apply(tool, tool_input, path, cwd)
    what = "Write would overwrite" if tool == "Write" else f"{tool} would edit in place"
    return judge([write_effect(path, tool)], cwd, what=what)


def _apply(tool: str, tool_input: dict, path: str, cwd: str) -> Decision:
    """Apply mode: a Write/Edit/MultiEdit of a policy file is performed through the writers, then refused."""
    try:
        file_class, policy = Classifier(cwd).which(path)
    except ConfigError as exc:
        return broken_policy(exc, [path], cwd)
    if file_class is None:
        return PASS
    from statesafe.agents.claude_apply import apply_edit

    return Decision(True, apply_edit(tool, tool_input, path, file_class, policy, cwd))


def _after_crash(payload: object, problem: str) -> Decision:
    """The names the call holds (its file path, the words of its command) for the judge's after_crash."""
    if not isinstance(payload, dict):
        return after_crash(problem, os.getcwd(), None)
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else os.getcwd()
    names: list[str] = []
    tool_input = payload.get("tool_input")
    if isinstance(tool_input, dict):
        for key in ("file_path", "notebook_path", "command"):
            value = tool_input.get(key)
            if isinstance(value, str):
                names += [value] if key != "command" else command_words(value)
    return after_crash(problem, cwd, names)


# --- the protocol ----------------------------------------------------------------------

USAGE = "usage: statesafe hook claude [--apply] [--json]  (payload as JSON on stdin)"


def respond(decision: Decision, as_json: bool) -> int:
    """Write the answer the way Claude Code reads it; return the exit code."""
    if not decision.deny:
        if decision.note:
            print(decision.note, file=sys.stderr)
        return 0
    if as_json:
        print(json.dumps({"hookSpecificOutput": {
            "hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": decision.reason}}))
        return 0
    print(decision.reason, file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    """The hook: read the call on stdin, answer, return the exit code (an unknown option refuses)."""
    if not set(argv) <= OPTIONS.keys():
        print(f"statesafe: refused: the hook was started with unknown options {argv}; {USAGE}", file=sys.stderr)
        return 2
    return respond(decide_raw(sys.stdin.buffer.read(), apply="--apply" in argv), "--json" in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
