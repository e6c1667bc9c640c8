"""FS602: a shell block of a skill manifest that writes a policy file raw."""

from __future__ import annotations

import re
from collections.abc import Iterator

from statesafe.auditor import shell
from statesafe.auditor.rule import Invalid, Manifest, Rule, Valid
from statesafe.auditor.types import Finding

#: fence languages whose blocks an agent runs in a shell
SHELL_LANGUAGES = {"bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession"}
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")


class SkillShellWritesPolicyFile(Rule):
    '''
    ## What it does
    Checks for shell blocks in a skill manifest (`SKILL.md`, fenced as `bash`, `sh`, `shell`,
    `zsh` or `console`) that write a policy file raw: `>` / `sed -i` / `tee` / `cp` / `mv` / `rm`
    on a destructive, companion or compiled file, or anything but `>>` / `tee -a` on a log.
    Renaming a rebuilt file onto a companion or compiled file is the rebuild pattern and passes.

    ## Why is this bad?
    An agent runs these blocks as written: the manifest teaches it the in-place write the policy
    forbids.

    ## Example
    ````markdown
    ```bash
    sed -i 's/"draft"/"final"/' threads_daily_tracker.json
    ```
    ````

    Use instead:
    ````markdown
    ```bash
    statesafe write threads_daily_tracker.json < new_tracker.json
    ```
    ````

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS602"
    NAME = "skill-shell-writes-policy-file"
    MESSAGE = "shell block runs `{api}`: {how} writes the {file_class} file {target} raw"

    VALID = [
        Valid('# Review\n\nFollow FAILSAFE.md.\n\n```bash\necho \'{"ok": true}\' >> threads_refresh.log\n'
              'cp threads_daily_tracker.json /tmp/copy.json\n```\n', path="skill/SKILL.md"),
        Valid('# Notes\n\n```python\nopen("threads_daily_tracker.json", "w")\n```\n', path="skill/SKILL.md"),
        Valid("# Notes\n\nSee FAILSAFE.md.\n\n```bash\ncat > notes.md <<'EOF'\nrm style_guide.md\nEOF\n```\n",
              path="skill/SKILL.md"),
    ]
    INVALID = [
        Invalid('# Review\n\nFollow FAILSAFE.md.\n\n```bash\nsed -i \'s/a/b/\' threads_daily_tracker.json\n```\n',
                path="skill/SKILL.md", line=6),
        Invalid('# Refresh\n\nSee FAILSAFE.md.\n\n```sh\npython build.py > compiled/account_wiki.md\n'
                'echo x > threads_refresh.log\n```\n', path="skill/SKILL.md", line=6),
        Invalid("# Style\n\nSee FAILSAFE.md.\n\n```bash\ncat > notes.md <<'EOF'\nrm style_guide.md\nEOF\n"
                "cat > style_guide.md <<'EOF'\n# Style\nEOF\n```\n", path="skill/SKILL.md", line=9),
    ]

    @classmethod
    def check_manifest(cls, manifest: Manifest) -> Iterator[Finding]:
        """Each operation of each shell block that a declarative rule would report, were the same
        command run from Python, once per line."""
        lines = manifest.lines
        for first, block in _shell_blocks(lines):
            for action, target, how in shell.operations(block):
                file_class = manifest.policy.classify_name(target)
                if file_class is None or not manifest.reported(file_class, action):
                    continue
                line, column = _locate(lines, first, len(block.splitlines()), action, target)
                yield cls.finding(manifest.path, (line, column, line, len(lines[line - 1])),
                                  api=lines[line - 1].strip(), how=how, target=target,
                                  file_class=file_class.value)


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
