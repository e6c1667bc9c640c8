from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class LogDeletedOrReplaced(Rule):
    '''
    ## What it does
    Checks for an append-only log deleted, truncated, renamed away, or replaced by a rename or
    copy onto it (log rotation done by hand).

    ## Why is this bad?
    The append-only nature is the log's only safety mechanism (it has no backups). Deleting or
    truncating it, or renaming a rewritten copy over it, silently drops entries other tools rely on.

    ## Example
    ```python
    os.replace("threads_refresh.log.new", "threads_refresh.log")
    ```

    Use instead:
    ```python
    statesafe.append("threads_refresh.log", {"run_id": run_id, "supersedes": wrong_run_id})
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS202"
    NAME = "log-deleted-or-replaced"
    MESSAGE = "{api} deletes, truncates or replaces the append-only log {target}"
    FILE_CLASSES = frozenset({FileClass.LOG})
    ACTIONS = frozenset({"delete", "truncate", "rename-away", "rename-onto", "copy-onto", "remove-tree"})

    VALID = [
        Valid('import shutil\nshutil.copy("threads_refresh.log", "/tmp/refresh-copy.log")\n'),
        Valid('import os\nos.remove("threads_refresh.log.tmp")\n'),
    ]
    INVALID = [
        Invalid('import os\nos.replace("threads_refresh.log.new", "threads_refresh.log")\n', line=2),
        Invalid('from pathlib import Path\nPath("threads_freshness.log").unlink()\n', line=2),
        Invalid('import os\nos.truncate("threads_skill_learnings.log", 0)\n', line=2),
        # backed up first or not: the policy gives a log no backups, only appends (FS102 alone excuses that)
        Invalid('import os, shutil\nshutil.copy2("threads_refresh.log", "threads_refresh.log.bak-20260101T000000Z")\n'
                'os.replace("threads_refresh.log.new", "threads_refresh.log")\n', line=3),
    ]
