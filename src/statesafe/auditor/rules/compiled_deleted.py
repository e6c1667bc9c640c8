from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CompiledDeleted(Rule):
    '''
    ## What it does
    Checks for a compiled-memory file deleted, truncated or renamed away.

    ## Why is this bad?
    If a rebuild fails, FAILSAFE.md keeps the old compiled files and reports the cache as stale;
    deleting them before the rebuild leaves the runtime with no cache at all.

    ## Example
    ```python
    shutil.rmtree("compiled")  # not seen: a directory
    os.remove("compiled/exemplar_bank.md")
    ```

    Use instead:
    ```python
    statesafe.write("compiled/exemplar_bank.md", rebuilt)
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS402"
    NAME = "compiled-deleted"
    MESSAGE = "{api} deletes, truncates or moves away the compiled file {target}"
    FILE_CLASSES = frozenset({FileClass.COMPILED})
    ACTIONS = frozenset({"delete", "truncate", "rename-away", "shell-delete", "shell-move-away"})

    VALID = [
        Valid('import os\nos.replace("compiled/exemplar_bank.md.tmp", "compiled/exemplar_bank.md")\n'),
    ]
    INVALID = [
        Invalid('import os\nos.remove("compiled/exemplar_bank.md")\n', line=2),
    ]
