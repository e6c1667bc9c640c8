"""Claude Code's installer: ``statesafe hook install claude`` and ``statesafe hook selftest claude``.

install merges two PreToolUse entries into the project's .claude/settings.json
(one for the file tools, one for Bash), leaves every other setting and hook as it
was, updates its own entries in place on a second run instead of adding more, and
writes the file the statesafe way (backup, temp, rename). The command ends in
``|| exit 2``: a statesafe that cannot even start (uninstalled, broken venv)
then refuses instead of letting every tool call through.

selftest runs recorded Claude Code payloads through the hook command exactly as
Claude Code would (through the shell, JSON on stdin) and checks each answer
against the protocol: a refusal is exit 2 with a reason on stderr (or exit 0
with a JSON deny carrying hookEventName); a pass is exit 0 with no decision.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from statesafe.errors import ConfigError
from statesafe.agents.claude import FILE_MATCHER, SHELL_TOOL

SETTINGS = Path(".claude") / "settings.json"
MATCHERS = (FILE_MATCHER, SHELL_TOOL)
TIMEOUT_SECONDS = 10
#: statesafe's own entries, to update in place: the CLI form, the module form, and the module form
#: an early development version wrote (python -m statesafe.guard.claude_decide, since removed)
_OURS = re.compile(r"statesafe(\.guard\.claude_decide\b|\.agents\.claude\b|.*\bhook claude\b)")


def _shell_path(path: Path, project: str) -> str:
    """path as Claude Code's shell should see it: under "$CLAUDE_PROJECT_DIR" when inside the project
    (so a committed settings.json works in every checkout), else absolute."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(project))
    return f'"$CLAUDE_PROJECT_DIR"/{shlex.quote(rel)}' if not rel.startswith("..") else shlex.quote(str(path))


def default_launcher(project: str) -> str:
    """The shell words that start this installation's statesafe CLI."""
    script = Path(sys.executable).parent / ("statesafe.exe" if os.name == "nt" else "statesafe")
    if script.is_file():
        return _shell_path(script, project)
    return f"{_shell_path(Path(sys.executable), project)} -m statesafe"


def hook_command(launcher: str, apply: bool) -> str:
    """The hook through the CLI, started by ``launcher`` (e.g. ``statesafe``)."""
    return f"{launcher} hook claude{' --apply' if apply else ''} || exit 2"


def _is_ours(entry_hook: object) -> bool:
    return isinstance(entry_hook, dict) and isinstance(entry_hook.get("command"), str) \
        and bool(_OURS.search(entry_hook["command"]))


def read_settings(path: Path) -> dict:
    """The settings object, {} if the file does not exist; ConfigError if it cannot be merged into."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}; nothing was changed") from None
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise ConfigError(path, f"not valid JSON ({exc}); nothing was changed") from None
    if not isinstance(settings, dict):
        raise ConfigError(path, "not a JSON object; nothing was changed")
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict) or not isinstance(hooks.get("PreToolUse", []), list):
        raise ConfigError(path, "'hooks' must be an object and 'hooks.PreToolUse' a list; nothing was changed")
    return settings


def merge(settings: dict, command: str) -> bool:
    """Add or update statesafe's PreToolUse entries in settings; True if anything changed."""
    entries = settings.setdefault("hooks", {}).setdefault("PreToolUse", [])
    wanted = {"type": "command", "command": command, "timeout": TIMEOUT_SECONDS}
    changed = False
    for matcher in MATCHERS:
        ours = [h for entry in entries if isinstance(entry, dict) and entry.get("matcher") == matcher
                and isinstance(entry.get("hooks"), list) for h in entry["hooks"] if _is_ours(h)]
        if not ours:
            entries.append({"matcher": matcher, "hooks": [dict(wanted)]})
            changed = True
        elif any(ours[0].get(key) != value for key, value in wanted.items()):
            ours[0].update(wanted)
            changed = True
    return changed


def install_claude(project: str, *, apply: bool = False, launcher: str | None = None) -> str:
    """Install the hook into PROJECT/.claude/settings.json; returns what was done, in one line.

    The command is ``statesafe hook claude`` started by ``launcher`` (default: this
    installation's statesafe).
    """
    import statesafe
    from statesafe.policy import FileClass, default_policy

    path = Path(project) / SETTINGS
    settings = read_settings(path)
    command = hook_command(launcher or default_launcher(project), apply)
    if not merge(settings, command):
        return f"statesafe: the Claude Code hook is already in {path}; nothing changed"
    existed = path.exists()
    path.parent.mkdir(exist_ok=True)
    statesafe.write(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n",
                    as_class=FileClass.DESTRUCTIVE, policy=default_policy())
    kept = ""
    if existed:
        found = statesafe.backups(path)
        kept = f" (the previous file is kept as {found[0].name})" if found else ""
    return f"statesafe: installed the Claude Code hook in {path}: {command}{kept}"


#: the installer interface of statesafe.agents (``statesafe hook install AGENT``)
install = install_claude


# --- selftest --------------------------------------------------------------------------

_TRACKER, _LOG, _BACKUP = "threads_daily_tracker.json", "threads_freshness.log", \
    "threads_daily_tracker.json.bak-20260101T000000Z"
#: (what, tool_name, tool_input, refused?) as Claude Code sends them
CASES = (
    ("Write the tracker", "Write", {"file_path": _TRACKER, "content": "{}\n"}, True),
    ("Edit the style guide", "Edit", {"file_path": "style_guide.md", "old_string": "tone", "new_string": "voice",
                                      "replace_all": False}, True),
    ("MultiEdit compiled memory", "MultiEdit", {"file_path": "compiled/account_wiki.md", "edits": [
        {"old_string": "a", "new_string": "b"}]}, True),
    ("NotebookEdit a companion file", "NotebookEdit", {"notebook_path": "posts_by_date.md", "new_source": "x",
                                                       "cell_id": "c1", "edit_mode": "replace"}, True),
    ("Edit the log", "Edit", {"file_path": _LOG, "old_string": "}", "new_string": "} ", "replace_all": False}, True),
    ("Write a backup", "Write", {"file_path": _BACKUP, "content": "{}"}, True),
    ("Write an unrelated file", "Write", {"file_path": "notes.md", "content": "hello\n"}, False),
    ("Bash > onto the tracker", "Bash", {"command": f"echo '{{}}' > {_TRACKER}"}, True),
    ("Bash sed -i", "Bash", {"command": "sed -i 's/a/b/' style_guide.md"}, True),
    ("Bash rm of a backup", "Bash", {"command": f"rm -f {_BACKUP}"}, True),
    ("Bash python -c raw write", "Bash", {"command": f"python3 -c \"open('{_TRACKER}', 'w').write('{{}}')\""}, True),
    ("Bash >> onto the log", "Bash", {"command": f"echo '{{\"ok\": 1}}' >> {_LOG}"}, False),
    ("Bash cp from the tracker", "Bash", {"command": f"cp {_TRACKER} /tmp/statesafe-selftest-copy.json"}, False),
    ("Bash statesafe write", "Bash", {"command": f"statesafe write {_TRACKER} --from /tmp/draft.json"}, False),
    ("Read the tracker", "Read", {"file_path": _TRACKER}, False),
)


def _payload(tool: str, tool_input: dict, cwd: str) -> dict:
    if tool == "Bash":
        tool_input = {"description": "selftest", "timeout": 120000, "run_in_background": False, **tool_input}
    return {"session_id": "statesafe-selftest", "transcript_path": os.path.join(cwd, "transcript.jsonl"),
            "cwd": cwd, "permission_mode": "default", "hook_event_name": "PreToolUse",
            "tool_name": tool, "tool_input": tool_input, "tool_use_id": "toolu_selftest"}


def judge(returncode: int, stdout: str, stderr: str) -> str:
    """'deny', 'pass', or what is wrong with the answer under the PreToolUse protocol."""
    if returncode == 2:
        return "deny" if stderr.strip() else "exit 2 without a reason on stderr"
    if returncode != 0:
        return f"exit {returncode}: Claude Code would let the tool run"
    if not stdout.strip():
        return "pass"
    try:
        specific = json.loads(stdout)["hookSpecificOutput"]
    except (ValueError, KeyError, TypeError):
        return "stdout is not a hookSpecificOutput JSON"
    if specific.get("hookEventName") != "PreToolUse":
        return "JSON deny without hookEventName: Claude Code ignores it"
    decision = specific.get("permissionDecision")
    return "deny" if decision == "deny" and specific.get("permissionDecisionReason") else f"answered {decision!r}"


def _installed_commands(project: str) -> dict[str, str]:
    try:
        settings = read_settings(Path(project) / SETTINGS)
    except ConfigError:
        return {}
    found = {}
    for entry in settings.get("hooks", {}).get("PreToolUse", []):
        if isinstance(entry, dict) and entry.get("matcher") in MATCHERS and isinstance(entry.get("hooks"), list):
            found.update({entry["matcher"]: h["command"] for h in entry["hooks"] if _is_ours(h)})
    return found


def selftest(project: str, echo: Callable[[str], None]) -> int:
    """Run CASES through the hook as Claude Code would; print a table; return the number of failures."""
    installed = _installed_commands(project)
    fallback = hook_command(default_launcher(project), apply=False)
    echo(f"hook command(s): {', '.join(sorted(set(installed.values()))) or fallback}"
         + ("" if installed else f"  (not installed in {os.path.abspath(project)}: testing the default)"))
    failures = 0
    with tempfile.TemporaryDirectory(prefix="statesafe-selftest-") as skill:
        files = {_TRACKER: '{"posts": []}\n', "style_guide.md": "tone\n", "compiled/account_wiki.md": "a\n",
                 "posts_by_date.md": "x\n", _LOG: '{"ok": 0}\n', _BACKUP: "{}\n", "statesafe.toml": ""}
        for name, text in files.items():
            Path(skill, name).parent.mkdir(exist_ok=True)
            Path(skill, name).write_text(text, encoding="utf-8")
        env = {**os.environ, "CLAUDE_PROJECT_DIR": os.path.abspath(project)}
        for what, tool, tool_input, refused in CASES:
            matcher = "Bash" if tool == "Bash" else FILE_MATCHER
            command = installed.get(matcher, fallback)
            started = time.perf_counter()
            result = subprocess.run(command, shell=True, input=json.dumps(_payload(tool, tool_input, skill)),
                                    capture_output=True, text=True, cwd=skill, env=env, timeout=TIMEOUT_SECONDS)
            elapsed = (time.perf_counter() - started) * 1000
            got = judge(result.returncode, result.stdout, result.stderr)
            ok = got == ("deny" if refused else "pass")
            failures += not ok
            echo(f"{'ok  ' if ok else 'FAIL'} {what:34} expected {'deny' if refused else 'pass'}, got {got} "
                 f"({elapsed:.0f} ms)")
        changed = [name for name, text in files.items() if Path(skill, name).read_text(encoding="utf-8") != text]
        if changed:
            failures += 1
            echo(f"FAIL files changed during the selftest: {', '.join(changed)}")
    echo("selftest passed" if not failures else f"selftest: {failures} failure(s)")
    return failures
