from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CompiledDeleted(Rule):
    '''
    ## What it does
    Checks for a compiled-memory file deleted, truncated or renamed away, or its folder removed.

    ## Why is this bad?
    If a rebuild fails, FAILSAFE.md keeps the old compiled files and reports the cache as stale;
    deleting them before the rebuild leaves the runtime with no cache at all.

    ## Example
    ```python
    shutil.rmtree("compiled")
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
    ACTIONS = frozenset({"delete", "truncate", "rename-away", "shell-delete", "shell-move-away", "remove-tree",
                         "shell-remove-tree"})

    VALID = [
        Valid('import os\nos.replace("compiled/exemplar_bank.md.tmp", "compiled/exemplar_bank.md")\n'),
        Valid('import shutil\nshutil.rmtree("build")\n'),  # a folder no policy pattern names
        Valid('import subprocess\nsubprocess.run(["rm", "-rf", "dist"])\n'),
    ]
    INVALID = [
        Invalid('import os\nos.remove("compiled/exemplar_bank.md")\n', line=2),
        Invalid('import shutil\nshutil.rmtree("compiled")\n', line=2),
        Invalid('from shutil import rmtree\nfrom pathlib import Path\nrmtree(Path(__file__).parent / "compiled")\n',
                line=3),
        Invalid('import subprocess\nsubprocess.run(["rm", "-rf", "compiled"])\n', line=2),
    ]
