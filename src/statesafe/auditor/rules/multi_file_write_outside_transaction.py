from statesafe.auditor.rule import Invalid, Rule, Valid


class MultiFileWriteOutsideTransaction(Rule):
    '''
    ## What it does
    Checks for one function (or one call path through helpers of the audited tree) that rewrites
    two or more destructive-writes files outside a single `statesafe.transaction()`, even when
    each write on its own goes through `statesafe.write`. Writes made by shell commands it runs
    (`sed -i`, `>`, `cp`/`mv` onto a file) count too.

    ## Why is this bad?
    FAILSAFE.md's multi-file rule (`/review` writes tracker + style guide + concept library in
    one go): back up all of them before writing any, and abort the whole write phase if one
    backup fails. Separate writes can stop after the first, leaving a half-updated set that is
    worse than no write at all.

    ## Example
    ```python
    statesafe.write(TRACKER, tracker)
    statesafe.write(STYLE_GUIDE, style)
    ```

    Use instead:
    ```python
    with statesafe.transaction() as tx:
        tx.write(TRACKER, tracker)
        tx.write(STYLE_GUIDE, style)
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS501"
    NAME = "multi-file-write-outside-transaction"
    MESSAGE = "writes {files} outside one statesafe.transaction(): a failure leaves them half-updated"

    VALID = [
        Valid('import statesafe\nwith statesafe.transaction() as tx:\n'
              '    tx.write("threads_daily_tracker.json", {})\n    tx.write("style_guide.md", "")\n'),
        Valid('import statesafe\n\ndef save(path, data):\n    statesafe.write(path, data)\n\n'
              'def a():\n    save("threads_daily_tracker.json", {})\n\ndef b():\n    save("style_guide.md", "")\n'),
        Valid('import statesafe\nstatesafe.write("threads_daily_tracker.json", {})\nstatesafe.write("posts_by_date.md", "")\n'),
        Valid('import subprocess\nimport statesafe\n\ndef tune():\n'
              '    statesafe.write("threads_booster_config.json", {})\n'
              '    subprocess.run(["grep", "Tone", "brand_voice.md"], check=True)\n'),
    ]
    INVALID = [
        Invalid('import statesafe\n\ndef review(t, s):\n    statesafe.write("threads_daily_tracker.json", t)\n'
                '    statesafe.write("style_guide.md", s)\n', line=5),
        Invalid(
            'import statesafe\n\ndef save(path, data):\n    statesafe.write(path, data)\n\n'
            'def review():\n    save("threads_daily_tracker.json", {})\n    save("concept_library.md", "")\n',
            line=8,
        ),
        Invalid('import subprocess\nimport statesafe\n\ndef tune(tone):\n'
                '    statesafe.write("threads_booster_config.json", {})\n'
                '    subprocess.run(["sed", "-i", f"s/^Tone: .*/Tone: {tone}/", "brand_voice.md"], check=True)\n',
                line=6),
    ]
