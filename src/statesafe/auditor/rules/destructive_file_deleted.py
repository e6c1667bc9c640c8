from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class DestructiveFileDeleted(Rule):
    '''
    ## What it does
    Checks for a destructive-writes file removed (`os.remove`, `os.unlink`, `Path.unlink`),
    truncated (`os.truncate`) or renamed away, or the folder holding it removed (`shutil.rmtree`).

    ## Why is this bad?
    The file is the skill's persistent state; deleting or truncating it outside statesafe leaves
    no backup to recover from, and renaming it away leaves the skill without its state until
    something writes a new one.

    ## Example
    ```python
    os.remove(TRACKER)
    ```

    Use instead:
    ```python
    statesafe.write(TRACKER, {"posts": []})  # reset, with the old file kept as a backup
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS104"
    NAME = "destructive-file-deleted"
    MESSAGE = "{api} deletes, truncates or moves away the destructive file {target}"
    FILE_CLASSES = frozenset({FileClass.DESTRUCTIVE})
    ACTIONS = frozenset({"delete", "truncate", "rename-away", "remove-tree"})

    VALID = [
        Valid('import os\nos.remove("threads_daily_tracker.json.tmp-20260101T000000Z-1-ab")\n'),
        Valid('import os\nfor old in ["style_guide.md.bak-20250101T000000Z"]:\n    os.remove(old)\n'),
    ]
    INVALID = [
        Invalid('import os as o\no.remove("threads_daily_tracker.json")\n', line=2),
        Invalid('import os\nos.truncate("concept_library.md", 0)\n', line=2),
        Invalid('import os\nos.unlink(os.path.join("data", "threads_booster_config.json"))\n', line=2),
        Invalid('import os\nos.rename("style_guide.md", "style_guide.old")\n', line=2),
        Invalid('from pathlib import Path\nPath("brand_voice.md").rename("brand_voice.old")\n', line=2),
        Invalid('import shutil\nshutil.rmtree(".")  # threads_daily_tracker.json lives here\n', line=2),
    ]
