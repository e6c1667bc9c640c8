from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class StatesafeWriteToLog(Rule):
    '''
    ## What it does
    Checks for `statesafe.write` (or `tx.write` in a transaction) aimed at an append-only log.

    ## Why is this bad?
    `statesafe.write` replaces a file as a whole; the policy forbids rewriting a log, and
    statesafe refuses it at run time with a PolicyViolation. The script fails the first time it
    reaches the call.

    ## Example
    ```python
    statesafe.write("threads_refresh.log", lines)
    ```

    Use instead:
    ```python
    statesafe.append("threads_refresh.log", record)
    ```

    ## Fix safety
    No automatic fix: a whole-file write and an append do different things.
    '''

    CODE = "FS203"
    NAME = "statesafe-write-to-log"
    MESSAGE = "{api} on the append-only log {target} raises PolicyViolation: use statesafe.append"
    FILE_CLASSES = frozenset({FileClass.LOG})
    ACTIONS = frozenset({"statesafe-write", "tx-write"})

    VALID = [
        Valid('import statesafe\nstatesafe.append("threads_refresh.log", {"ok": True})\n'),
        Valid('import statesafe\nstatesafe.write("threads_daily_tracker.json", {})\n'),
    ]
    INVALID = [
        Invalid('import statesafe\nLOG = "threads_refresh.log"\nstatesafe.write(LOG, "x\\n")\n', line=3),
        Invalid('import statesafe\nwith statesafe.transaction() as tx:\n    tx.write("threads_freshness.log", "")\n',
                line=3),
    ]
