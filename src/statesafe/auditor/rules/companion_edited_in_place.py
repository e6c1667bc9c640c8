from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CompanionEditedInPlace(Rule):
    '''
    ## What it does
    Checks for a companion markdown file (`posts_by_date.md`, `posts_by_topic.md`, `comments.md`)
    written in place: opened for writing or appending, `write_text`, a copy onto it, or a shell
    command that edits it.

    ## Why is this bad?
    Companion files are views of the tracker, rebuilt, never patched. FAILSAFE.md asks for the
    rebuild to be written to a fresh file and renamed into place at the end, so a rebuild that
    fails half-way leaves the prior copy on disk. Writing the file directly leaves it half-built.
    Renaming a fresh temp onto it is the pattern the policy asks for and is not reported.

    ## Example
    ```python
    with open("posts_by_date.md", "w") as f:
        f.write(render_by_date(tracker))
    ```

    Use instead:
    ```python
    statesafe.write("posts_by_date.md", render_by_date(tracker))
    ```

    ## Fix safety
    The fix rewrites `with open(P, "w", encoding="utf-8") as f: f.write(S)`,
    `open(P, "w", encoding="utf-8").write(S)` and `Path(P).write_text(S, encoding="utf-8")` into
    `statesafe.write(P, S)`: the same text, as UTF-8, written to a temp and renamed into place.
    Without `encoding="utf-8"` the original writes in the locale's encoding, so it is fixed only
    when it writes an ASCII literal.
    '''

    CODE = "FS301"
    NAME = "companion-edited-in-place"
    MESSAGE = "{api} writes the companion file {target} in place: rebuild it to a temp and rename"
    FILE_CLASSES = frozenset({FileClass.COMPANION})
    ACTIONS = frozenset({"write", "append", "append-chunked", "touch", "copy-onto", "shell-write", "shell-append",
                         "shell-copy-onto", "shell-touch"})

    VALID = [
        Valid('import os\nwith open("posts_by_date.md.tmp", "w") as f:\n    f.write("# Posts")\n'
              'os.replace("posts_by_date.md.tmp", "posts_by_date.md")\n'),
        Valid('import statesafe\nstatesafe.write("comments.md", "# Comments\\n")\n'),
    ]
    INVALID = [
        Invalid(
            'def rebuild(text):\n    with open("posts_by_topic.md", "w", encoding="utf-8") as f:\n'
            '        f.write(text)\n',
            line=2,
            expected_replacement='import statesafe\n\ndef rebuild(text):\n'
            '    statesafe.write("posts_by_topic.md", text)\n',
        ),
        Invalid('with open("comments.md", "a") as f:\n    f.write("- new comment\\n")\n', line=1),
        # the locale's encoding: statesafe.write's UTF-8 could change the bytes, so no fix
        Invalid('def rebuild(text):\n    with open("posts_by_topic.md", "w") as f:\n        f.write(text)\n', line=2),
    ]
