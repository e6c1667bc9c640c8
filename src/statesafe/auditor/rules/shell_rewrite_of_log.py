from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class ShellRewriteOfLog(Rule):
    '''
    ## What it does
    Checks for shell commands run from Python that truncate, edit, replace or delete an
    append-only log: `>` redirection, `tee` without `-a`, `sed -i`, `cp`/`mv` onto it, `rm`.

    ## Why is this bad?
    Only appending keeps a log's history; `>>` and `tee -a` are fine, everything else rewrites or
    drops entries.

    ## Example
    ```python
    os.system("tail -n 100 threads_refresh.log > threads_refresh.log.tmp && mv threads_refresh.log.tmp threads_refresh.log")
    ```

    Use instead:
    ```python
    statesafe.append("threads_refresh.log", record)
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS205"
    NAME = "shell-rewrite-of-log"
    MESSAGE = "a shell command ({api}) rewrites or deletes the append-only log {target}"
    FILE_CLASSES = frozenset({FileClass.LOG})
    ACTIONS = frozenset({"shell-write", "shell-copy-onto", "shell-move-onto", "shell-move-away", "shell-delete",
                         "shell-remove-tree"})

    VALID = [
        Valid('import os\nos.system("echo done >> threads_refresh.log")\n'),
        Valid('import subprocess\nsubprocess.run("date | tee -a threads_freshness.log", shell=True)\n'),
    ]
    INVALID = [
        Invalid('import os\nos.system("tail -n 100 threads_refresh.log > t && mv t threads_refresh.log")\n', line=2),
        Invalid('import subprocess\nsubprocess.run(["rm", "-f", "threads_freshness.log"])\n', line=2),
    ]
