from statesafe.auditor.rule import Invalid, Rule, Valid


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
