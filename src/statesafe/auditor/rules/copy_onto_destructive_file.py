from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CopyOntoDestructiveFile(Rule):
    '''
    ## What it does
    Checks for `shutil.copy`, `copy2`, `copyfile`, `os.link` or `Path.hardlink_to` that put
    another file's content onto a destructive-writes file.

    ## Why is this bad?
    Copying onto the file overwrites it in place (copyfile truncates, then streams): the old
    content is gone with no backup, and a failure half-way leaves it truncated. Restoring from a
    backup goes through `statesafe restore`, which snapshots the current file first.

    ## Example
    ```python
    shutil.copy("seed/threads_daily_tracker.json", TRACKER)
    ```

    Use instead:
    ```python
    statesafe.write(TRACKER, Path("seed/threads_daily_tracker.json").read_bytes())
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS103"
    NAME = "copy-onto-destructive-file"
    MESSAGE = "{api} overwrites the destructive file {target} in place"
    FILE_CLASSES = frozenset({FileClass.DESTRUCTIVE})
    ACTIONS = frozenset({"copy-onto"})

    VALID = [
        Valid('import shutil\nshutil.copy2("threads_daily_tracker.json", "/tmp/tracker-copy.json")\n'),
        Valid('import shutil\nshutil.copy2("style_guide.md", "style_guide.md.bak-20260422T143012Z")\n'),
    ]
    INVALID = [
        Invalid('from shutil import copyfile as cp\ncp("seed.json", "data/threads_daily_tracker.json")\n', line=2),
        Invalid('import os\nos.link("draft.md", "brand_voice.md")\n', line=2),
    ]
