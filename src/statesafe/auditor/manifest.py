"""Skill manifests (SKILL.md): the allowed-tools grant and the shell blocks an agent will run."""

from __future__ import annotations

import re

from statesafe.auditor import shell
from statesafe.auditor.summary import ModuleSummary
from statesafe.auditor.types import Finding
from statesafe.policy import Policy

WRITE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
SHELL_LANGUAGES = {"bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession"}
_REFERENCE = re.compile(rb"failsafe|statesafe", re.I)
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


def is_manifest(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower() == "skill.md"


def summarize(path: str, source: bytes, policy: Policy, raw_write) -> ModuleSummary:
    """Findings FS601/FS602 for one manifest; ``raw_write(file_class, action)`` says what the rules report."""
    from statesafe.auditor.rules import RULES

    text = source.decode("utf-8", errors="replace")
    lines = text.splitlines()
    findings: list[Finding] = []
    grant = _write_grant(lines)
    if grant and not _REFERENCE.search(source):
        line, tools = grant
        rule = RULES["FS601"]
        findings.append(Finding(path, line, 0, line, len(lines[line - 1]), rule.CODE, rule.NAME,
                                rule.message(api=" and ".join(tools))))
    rule = RULES["FS602"]
    for line, column, command in _shell_commands(lines):
        for action, target in shell.operations(command):
            file_class = policy.classify_name(target)
            if file_class is not None and raw_write(file_class, action):
                findings.append(Finding(path, line, column, line, len(lines[line - 1]), rule.CODE, rule.NAME,
                                        rule.message(api=command.strip(), target=target,
                                                     file_class=file_class.value),
                                        target=target, file_class=file_class.value))
    return ModuleSummary(path=path, kind="manifest", findings=findings)


def _write_grant(lines: list[str]) -> tuple[int, list[str]] | None:
    """(line of allowed-tools, write tools granted) from the front matter, or None."""
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        line = lines[index]
        if line.strip() == "---":
            return None
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in ("allowed-tools", "allowed_tools"):
            continue
        items = [value]
        for following in lines[index + 1:]:
            if not following.strip().startswith("- "):
                break
            items.append(following.strip()[2:])
        tools = []
        for item in items:
            for part in item.strip().strip("[]").split(","):
                name = part.strip().strip("'\"").split("(")[0].strip()
                if name in WRITE_TOOLS:
                    tools.append(name)
        return (index + 1, tools) if tools else None
    return None


def _shell_commands(lines: list[str]):
    """(line, column, command) for each command in a shell-fenced block, continuations joined."""
    fence = None
    pending: tuple[int, int, str] | None = None
    for number, line in enumerate(lines, 1):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = (match.group(2), match.group(3).lower() in SHELL_LANGUAGES)
            continue
        if match and match.group(2).startswith(fence[0]) and not match.group(3):
            fence = None
            pending = None
            continue
        if not fence[1]:
            continue
        stripped = line.strip()
        column = len(line) - len(line.lstrip())
        if stripped.startswith("$ "):
            stripped, column = stripped[2:], column + 2
        if pending:
            start_line, start_column, so_far = pending
            stripped, number, column = so_far + " " + stripped, start_line, start_column
        if stripped.endswith("\\"):
            pending = (number, column, stripped[:-1])
            continue
        pending = None
        if stripped and not stripped.startswith("#"):
            yield number, column, stripped

