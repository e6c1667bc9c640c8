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
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")


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
    for first, block in _shell_blocks(lines):
        for action, target, how in shell.operations(block):
            file_class = policy.classify_name(target)
            if file_class is None or not raw_write(file_class, action):
                continue
            line, column = _locate(lines, first, len(block.splitlines()), action, target)
            command = lines[line - 1].strip()
            findings.append(Finding(path, line, column, line, len(lines[line - 1]), rule.CODE, rule.NAME,
                                    rule.message(api=command, how=how, target=target, file_class=file_class.value),
                                    target=target, file_class=file_class.value))
    return ModuleSummary(path=path, kind="manifest", findings=sorted(set(findings)))


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


def _shell_blocks(lines: list[str]):
    """(first line number, text) of each shell-fenced block; console prompts stripped."""
    fence, language, first, body = None, False, 0, []
    for number, line in enumerate(lines, 1):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, language, first, body = match.group(1), match.group(2).lower() in SHELL_LANGUAGES, number + 1, []
            continue
        if match and match.group(1).startswith(fence) and not match.group(2):
            if language:
                yield first, "\n".join(body) + "\n"
            fence = None
            continue
        stripped = line.lstrip()
        body.append(stripped[2:] if stripped.startswith("$ ") else line)


def _locate(lines: list[str], first: int, count: int, action: str, target: str) -> tuple[int, int]:
    """The line (and its indent) of the block that does it: read alone, it has the same effect.

    Failing that (a command split over lines), the first line naming the file, then the block's first.
    """
    numbers = range(first, first + count)
    found = next((n for n in numbers if (action, target) in {(a, t) for a, t, _ in shell.operations(lines[n - 1])}),
                 None) or next((n for n in numbers if target.rsplit("/", 1)[-1] in lines[n - 1]), first)
    line = lines[found - 1]
    return found, len(line) - len(line.lstrip())
