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
    ]
    INVALID = [
        Invalid('---\nname: review\nallowed-tools: Read, Write, Edit\n---\nUpdate the tracker.\n',
                path="skill/SKILL.md", line=3),
        Invalid('---\nname: review\nallowed-tools:\n  - Read\n  - Edit\n---\nUpdate the tracker.\n',
                path="skills/review/SKILL.md", line=3),
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
        tools = []
        for item in items:
            for part in item.strip().strip("[]").split(","):
                name = part.strip().strip("'\"").split("(")[0].strip()
                if name in WRITE_TOOLS:
                    tools.append(name)
        return (index + 1, tools) if tools else None
    return None
