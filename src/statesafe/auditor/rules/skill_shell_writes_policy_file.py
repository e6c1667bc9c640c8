from statesafe.auditor.rule import Invalid, Rule, Valid


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
