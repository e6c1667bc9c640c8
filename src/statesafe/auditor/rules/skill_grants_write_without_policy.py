"""FS601: a skill manifest granting Write or Edit that never references the write policy."""

from __future__ import annotations

import re
from collections.abc import Iterator

from statesafe.auditor.rule import Invalid, Manifest, Rule, Valid
from statesafe.auditor.types import Finding

#: the agent tools that write files
WRITE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
#: a manifest that names either has read the policy (FAILSAFE.md) or the tool that enforces it
_REFERENCE = re.compile(rb"failsafe|statesafe", re.I)


class SkillGrantsWriteWithoutPolicy(Rule):
    '''
    ## What it does
    Checks for a skill manifest (`SKILL.md`) whose front matter `allowed-tools` grants `Write`,
    `Edit` or `MultiEdit` but whose text never references the write policy (`FAILSAFE.md` or
    `statesafe`).

    ## Why is this bad?
    FAILSAFE.md: every sub-skill with Write or Edit in allowed-tools must honor the policy. An
    agent following a manifest that never mentions it will edit the tracker with Write/Edit,
    in place and without a backup.

    ## Example
    ```markdown
    ---
    name: review
    allowed-tools: Read, Write, Edit
    ---
    Update threads_daily_tracker.json with the new scores.
    ```

    Use instead:
    ```markdown
    ---
    name: review
    allowed-tools: Read, Write, Edit
    ---
    Follow FAILSAFE.md: write state files only with `statesafe write`.
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS601"
    NAME = "skill-grants-write-without-policy"
    MESSAGE = "allowed-tools grants {api} but the manifest never references the write policy (FAILSAFE.md)"

    VALID = [
        Valid('---\nname: review\nallowed-tools: Read, Write\n---\nFollow FAILSAFE.md for every write.\n',
              path="skill/SKILL.md"),
        Valid('---\nname: stats\nallowed-tools: Read, Bash(python:*)\n---\nPrint stats.\n', path="skill/SKILL.md"),
        Valid('---\nname: report\nallowed-tools: Read Bash(python3 scripts/write_report.py:*)\n---\nReport.\n',
              path="skill/SKILL.md"),  # "write" inside a Bash pattern grants no Write tool
    ]
    INVALID = [
        Invalid('---\nname: review\nallowed-tools: Read, Write, Edit\n---\nUpdate the tracker.\n',
                path="skill/SKILL.md", line=3),
        Invalid('---\nname: review\nallowed-tools:\n  - Read\n  - Edit\n---\nUpdate the tracker.\n',
                path="skills/review/SKILL.md", line=3),
        Invalid('---\nname: review\nallowed-tools: Read Write Edit\n---\nUpdate the tracker.\n',
                path="skill/SKILL.md", line=3),  # space separated, as Claude Code also accepts
        Invalid('---\nname: tune\nallowed-tools: "Read Edit(brand_voice.md) Bash(python3 scripts/*)"\n---\n'
                'Adjust the tone.\n', path="skill/SKILL.md", line=3),
    ]

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> Iterator[Finding]:
        grant = _write_grant(manifest.lines)
        if grant and not _REFERENCE.search(manifest.source):
            line, tools = grant
            yield cls.finding(manifest.path, (line, 0, line, len(manifest.lines[line - 1])), api=" and ".join(tools))


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
        tools = [name for item in items for name in _tool_names(item) if name in WRITE_TOOLS]
        return (index + 1, tools) if tools else None
    return None


def _tool_names(value: str) -> list[str]:
    """The tool names of an allowed-tools value, in every form Claude Code accepts: a comma or
    space separated string (quoted or not), a YAML flow list, or one item of a block list.
    A tool pattern's parentheses may hold spaces and commas (``Bash(python3 scripts/*)``): they
    belong to the tool, whose name is what comes before them."""
    names, current, depth = [], "", 0
    for char in value.strip().strip("[]") + " ":
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if depth == 0 and (char.isspace() or char == ","):
            name = current.strip().strip("'\"").split("(")[0].strip("'\" ")
            if name:
                names.append(name)
            current = ""
        else:
            current += char
    return names
