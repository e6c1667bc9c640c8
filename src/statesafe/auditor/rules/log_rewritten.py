from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class LogRewritten(Rule):
    '''
    ## What it does
    Checks for an append-only log opened in any mode but append (`"w"`, `"r+"`, `"x"`, also
    through `logging.FileHandler` / `basicConfig` with `mode="w"`), written with
    `Path.write_text` / `write_bytes`, or rewritten with `fileinput`.

    ## Why is this bad?
    FAILSAFE.md: logs are append-only; read-modify-write is not allowed and old entries are never
    rewritten (a correction is a new entry with `supersedes`). Opening a log with `"w"` truncates
    its whole history, and a crash in the middle loses it.

    ## Example
    ```python
    lines = open(LOG).readlines()[-1000:]
    with open(LOG, "w") as f:
        f.writelines(lines)
    ```

    Use instead:
    ```python
    statesafe.append(LOG, {"run_id": run_id, "supersedes": old_run_id, ...})
    ```

    ## Fix safety
    No automatic fix: a rewrite has no behaviour-keeping equivalent under the policy.
    '''

    CODE = "FS201"
    NAME = "log-rewritten"
    MESSAGE = "{api} rewrites the append-only log {target}: open it in append mode (statesafe.append)"
    FILE_CLASSES = frozenset({FileClass.LOG})
    ACTIONS = frozenset({"write"})

    VALID = [
        Valid('import json\nwith open("threads_refresh.log", "a") as f:\n    f.write(json.dumps({"run": 1}) + "\\n")\n'),
        Valid('lines = open("threads_refresh.log").readlines()\n'),
        Valid('import statesafe\nstatesafe.append("threads_refresh.log", {"run": 1})\n'),
        Valid('import logging\nlogging.getLogger().addHandler(logging.FileHandler("threads_refresh.log"))\n'),
    ]
    INVALID = [
        Invalid('LOG = "threads_freshness.log"\nlines = open(LOG).readlines()[-100:]\n'
                'with open(LOG, "w") as f:\n    f.writelines(lines)\n', line=3),
        Invalid('from pathlib import Path\nlog = Path("logs") / "threads_skill_learnings.log"\n'
                'log.write_text("")\n', line=3),
        Invalid('with open("threads_refresh.log", "r+") as f:\n    f.seek(0)\n    f.write("x\\n")\n', line=1),
        Invalid('import logging\nlogging.basicConfig(filename="threads_refresh.log", filemode="w")\n', line=2),
    ]
