"""What ``statesafe hook claude`` answers: the Claude Code PreToolUse decision, without click.

Claude Code runs the hook before each Write, Edit, MultiEdit, NotebookEdit and
Bash call, with the call as JSON on stdin. A raw write to a policy file is
refused with the compliant command in the reason; everything else passes with
no output (the hook never answers "allow": that would skip the user's prompt).

Protocol: a refusal is exit 2 with the reason on stderr (stdout stays empty);
``--json`` answers exit 0 with a ``hookSpecificOutput`` deny carrying
``hookEventName`` instead. Never both.

Fail closed: any other non-zero exit lets the tool run, so the hook catches its
own errors and still decides: a tool call it cannot read, or a policy it cannot
load, is refused; an internal error is refused when the call names anything that
could be a policy file. The installed command ends in ``|| exit 2`` so that even
a statesafe that cannot start refuses rather than allows.

Hot path: the hook starts a fresh process for every tool call, so this module
imports only the policy model (shell parsing and the writers load when needed).
``statesafe hook claude`` comes straight here from the console script
(statesafe/__main__.py) without loading click; ``python -m
statesafe.guard.claude_decide`` gives the same answer.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple

from statesafe.errors import ConfigError
from statesafe.policy import FileClass, load_policy

#: the tools that write one file, and the tool_input key naming it
FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
FILE_MATCHER = "Write|Edit|MultiEdit|NotebookEdit"
#: permission modes in which the user has already accepted the agent's edits: only there does
#: --apply perform them (a PreToolUse hook runs before the permission prompt)
APPLY_MODES = {"acceptEdits", "bypassPermissions"}
#: files looked at under a directory that rm -r / find -delete would remove
TREE_LIMIT = 5000


class Decision(namedtuple("Decision", "deny reason note", defaults=("", ""))):
    """deny; reason: sent to the agent with a refusal; note: a warning on stderr when the call passes.

    A namedtuple, not a dataclass: dataclasses imports inspect, several ms of every hook start.
    """

    __slots__ = ()


PASS = Decision(False)


class BadPayload(ValueError):
    """A tool call the hook cannot read: refused, since its target is unknown."""


# --- reasons ---------------------------------------------------------------------------

def shown_path(path: str, cwd: str) -> str:
    import shlex

    rel = os.path.relpath(path, cwd)
    return shlex.quote(path if rel.startswith("..") else rel)


def advice(file_class: FileClass, path: str, cwd: str) -> str:
    """The compliant way to do what was refused, as a command the agent can run."""
    shown = shown_path(path, cwd)
    if file_class is FileClass.LOG:
        return (f"It is an append-only log: add one JSON record with "
                f"`statesafe append {shown} '{{\"key\": \"value\"}}'` (or `>>` one JSON line); never rewrite it.")
    if file_class is FileClass.BACKUP:
        from statesafe.names import parse_backup

        parsed = parse_backup(os.path.basename(path))
        base = shown_path(os.path.join(os.path.dirname(path), parsed.base), cwd) if parsed else "FILE"
        return (f"Backups are made and pruned only by statesafe and never changed. To bring this one back: "
                f"`statesafe restore {base} --from {shown}`.")
    draft = f"`statesafe write {shown} --from DRAFT`"
    if file_class is FileClass.COMPANION:
        return ("Companion files are views rebuilt from the tracker, not patched: write the complete rebuilt "
                f"file to a draft (e.g. under /tmp), then run {draft}.")
    if file_class is FileClass.COMPILED:
        return ("Compiled memory is rebuilt from the tracker, not hand-edited: run the skill's rebuild, or write "
                f"the complete file with its metadata fields to a draft, then run {draft}.")
    return (f"Write the complete new content to a draft file (e.g. under /tmp), then run {draft} "
            "(or pipe it in with `--from -`): it backs the file up, writes a temp and renames it into place.")


def refusal(what: str, path: str, file_class: FileClass, cwd: str) -> str:
    article = "an" if file_class.value[0] in "aeiou" else "a"
    return (f"statesafe: refused: {what} {shown_path(path, cwd)}, {article} {file_class.value} file under the "
            f"write policy (FAILSAFE.md). {advice(file_class, path, cwd)}")


# --- classification --------------------------------------------------------------------

class _Classifier:
    """Classes by the policy of the payload's cwd and, failing that, of the file's own folder."""

    def __init__(self, cwd: str):
        self.policy = load_policy(cwd)

    def __call__(self, path: str) -> FileClass | None:
        found = self.policy.classify(path)
        if found is None:
            local = load_policy(os.path.dirname(path))
            if local != self.policy:
                found = local.classify(path)
        return found

    def tree(self, root: str, name: str | None) -> tuple[list[tuple[str, FileClass]], bool]:
        """Policy files under root (matching find's -name when given), and whether the walk was cut short.

        Names are matched as they stand, without resolving links: removing or moving a
        folder takes its links, not what they point to. The policies asked are the
        cwd's and the folder's own.
        """
        import fnmatch

        policies = [self.policy]
        local = load_policy(root)
        if local != self.policy:
            policies.append(local)
        found, seen = [], 0
        for directory, dirnames, filenames in os.walk(root):
            for entry in filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]:
                seen += 1
                if seen > TREE_LIMIT:
                    return found, True
                if (name is not None and not fnmatch.fnmatch(entry, name)) or not any(
                        policy.may_match_name(entry) for policy in policies):
                    continue
                path = os.path.join(directory, entry)
                file_class = next(filter(None, (policy.classify_name(path) for policy in policies)), None)
                if file_class is not None:
                    found.append((path, file_class))
        return found, False


def _absolute(path: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))


# --- the decision ----------------------------------------------------------------------

def decide(payload: object, *, apply: bool = False) -> Decision:
    """The hook's answer to one tool call; never raises (see the module docstring)."""
    try:
        return _decide(payload, apply)
    except BadPayload as exc:
        return _unreadable(str(exc))
    except Exception as exc:  # noqa: BLE001 - a crash must not become an allow
        return _after_crash(payload, f"internal error: {type(exc).__name__}: {exc}")


def decide_raw(raw: bytes, *, apply: bool = False) -> Decision:
    """decide() on the bytes Claude Code sends."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _unreadable(f"stdin is not JSON: {exc}")
    return decide(payload, apply=apply)


def _unreadable(problem: str) -> Decision:
    return Decision(True, f"statesafe: refused: the hook could not read this tool call ({problem}), so it "
                          "cannot tell whether it writes a policy file.")


def _decide(payload: object, apply: bool) -> Decision:
    if not isinstance(payload, dict):
        raise BadPayload(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("hook_event_name", "PreToolUse") != "PreToolUse":
        return PASS
    tool = payload.get("tool_name")
    if not isinstance(tool, str):
        raise BadPayload("no tool_name")
    if tool not in FILE_TOOLS and tool != "Bash":
        return PASS
    tool_input = payload.get("tool_input")
    cwd = payload.get("cwd") or os.getcwd()
    if not isinstance(tool_input, dict) or not isinstance(cwd, str):
        raise BadPayload("tool_input is not an object" if not isinstance(tool_input, dict) else "cwd is not a string")
    if tool == "Bash":
        command = tool_input.get("command")
        if not isinstance(command, str):
            raise BadPayload("Bash without a command string")
        return _bash(command, cwd)
    file_path = tool_input.get(FILE_TOOLS[tool])
    if not isinstance(file_path, str) or not file_path:
        raise BadPayload(f"{tool} without {FILE_TOOLS[tool]}")
    path = _absolute(file_path, cwd)
    try:
        file_class = _Classifier(cwd)(path)
    except ConfigError as exc:
        return _broken_policy(exc, [path], cwd)
    if file_class is None:
        return PASS
    if apply and tool != "NotebookEdit" and payload.get("permission_mode") in APPLY_MODES:
        from statesafe.guard.claude_apply import apply_edit

        return Decision(True, apply_edit(tool, tool_input, path, file_class, cwd))
    what = "Write would overwrite" if tool == "Write" else f"{tool} would edit in place"
    return Decision(True, refusal(what, path, file_class, cwd))


def _bash(command: str, cwd: str) -> Decision:
    from statesafe.readers.shell import ShellSyntaxError, effects

    try:
        found = effects(command, cwd)
    except ShellSyntaxError as exc:
        return _after_crash({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": cwd},
                            f"the command could not be parsed ({exc})")
    try:
        return _judge_effects(found, cwd)
    except ConfigError as exc:
        return _broken_policy(exc, [effect.target for effect in found], cwd)


def _judge_effects(found: list, cwd: str) -> Decision:
    """Refuse every effect on a policy file but an append to a log."""
    from statesafe.effects import Kind

    classify = _Classifier(cwd)
    reasons, notes = [], []
    for effect in found:
        if effect.tree:
            hits, cut_short = classify.tree(effect.target, effect.name)
            if cut_short:
                notes.append(f"statesafe: {effect.how} reaches more than {TREE_LIMIT} files under "
                             f"{effect.target}; only the first {TREE_LIMIT} were checked")
            hits.insert(0, (effect.target, classify(effect.target)))  # `rm -r tracker.json`: the name itself
        else:
            hits = [(effect.target, classify(effect.target))]
        for path, file_class in hits:
            if file_class is None or (effect.kind is Kind.APPEND and file_class is FileClass.LOG):
                continue
            reason = refusal(f"{effect.how} would {effect.kind.verb}", path, file_class, cwd)
            if reason not in reasons:
                reasons.append(reason)
    if reasons:
        return Decision(True, "\n".join(reasons))
    return Decision(False, note="\n".join(notes))


def _broken_policy(exc: ConfigError, targets: list[str], cwd: str) -> Decision:
    """Policy unreadable: refuse every write but the one that fixes the broken file."""
    broken = os.path.realpath(exc.path) if exc.path else None
    if all(os.path.realpath(target) == broken for target in targets):
        return PASS
    return Decision(True, f"statesafe: refused: the write policy cannot be read ({exc}), so statesafe cannot "
                          "tell which files are protected; writes here are refused until that file is fixed "
                          "(`statesafe policy` shows the effective policy).")


def _after_crash(payload: object, problem: str) -> Decision:
    """When the hook could not decide normally: refuse if anything named could be a policy file.

    A crude word split on purpose (the real parser is what failed): every run of
    characters between whitespace, quotes and shell operators is a candidate name.
    """
    import re

    names: list[str] = []
    cwd = os.getcwd()
    if isinstance(payload, dict):
        cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else cwd
        tool_input = payload.get("tool_input")
        if isinstance(tool_input, dict):
            for key in ("file_path", "notebook_path", "command"):
                value = tool_input.get(key)
                if isinstance(value, str):
                    names += [value] if key != "command" else re.findall(r"[^\s'\"`;&|<>()=]+", value)
    try:
        policy = load_policy(cwd)
        suspects = [n for n in names if policy.classify_name(_absolute(n, cwd))
                    or policy.may_match_name(os.path.basename(n.rstrip("/")))]
    except Exception:  # noqa: BLE001 - cannot even load the policy: anything named is suspect
        suspects = names
    if suspects or not isinstance(payload, dict):
        return Decision(True, f"statesafe: refused: {problem}; the call names {', '.join(suspects[:3]) or 'a file'}, "
                              "which may be a policy file, so it is refused to be safe. Use "
                              "`statesafe write FILE --from DRAFT` or `statesafe append LOG JSON`.")
    return Decision(False, note=f"statesafe: {problem}; passed, since it names no policy file")


# --- the protocol ----------------------------------------------------------------------

USAGE = "usage: python -m statesafe.guard.claude_decide [--apply] [--json]  (payload as JSON on stdin)"


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
    if not set(argv) <= {"--apply", "--json"}:
        print(f"statesafe: refused: the hook was started with unknown options {argv}; {USAGE}", file=sys.stderr)
        return 2
    return respond(decide_raw(sys.stdin.buffer.read(), apply="--apply" in argv), "--json" in argv)


if __name__ == "__main__":  # python -m: run the module proper, so apply mode and this share one copy
    from statesafe.guard import claude_decide

    sys.exit(claude_decide.main(sys.argv[1:]))
