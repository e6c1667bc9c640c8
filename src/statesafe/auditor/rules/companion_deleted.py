from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CompanionDeleted(Rule):
    '''
    ## What it does
    Checks for a companion markdown file deleted, truncated or renamed away.

    ## Why is this bad?
    The policy keeps the prior copy of a companion file on disk until a rebuild succeeds;
    deleting it first (the "clear, then regenerate" pattern) leaves nothing if the rebuild fails.

    ## Example
    ```python
    os.remove("posts_by_date.md")
    rebuild_posts_by_date()
    ```

    Use instead:
    ```python
    statesafe.write("posts_by_date.md", render_by_date(tracker))
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS302"
    NAME = "companion-deleted"
    MESSAGE = "{api} deletes, truncates or moves away the companion file {target}"
    FILE_CLASSES = frozenset({FileClass.COMPANION})
    ACTIONS = frozenset({"delete", "truncate", "rename-away", "shell-delete", "shell-move-away", "remove-tree",
                         "shell-remove-tree"})

    VALID = [
        Valid('import os\nos.remove("posts_by_date.md.tmp")\n'),
        Valid('import os\nos.replace("posts_by_date.md.tmp", "posts_by_date.md")\n'),
    ]
    INVALID = [
        Invalid('import os\nif os.path.exists("posts_by_date.md"):\n    os.remove("posts_by_date.md")\n', line=3),
        Invalid('import subprocess\nsubprocess.run("rm -f comments.md", shell=True)\n', line=2),
    ]
