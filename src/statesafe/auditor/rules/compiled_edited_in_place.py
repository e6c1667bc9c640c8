from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class CompiledEditedInPlace(Rule):
    '''
    ## What it does
    Checks for a compiled-memory file (`compiled/account_wiki.md`, `compiled/cluster_wiki.json`,
    ...) written in place: opened for writing or appending, `write_text`, a copy onto it, or a
    shell command that edits it.

    ## Why is this bad?
    Compiled memory is a cache rebuilt from the tracker by one builder, never hand-edited. A
    write that fails half-way must keep the old compiled file, so the rebuild has to go to a temp
    renamed into place (statesafe.write does both, and checks the required metadata fields).

    ## Example
    ```python
    Path("compiled/cluster_wiki.json").write_text(json.dumps(clusters))
    ```

    Use instead:
    ```python
    statesafe.write("compiled/cluster_wiki.json", {"_meta": statesafe.compiled_metadata(...), **clusters})
    ```

    ## Fix safety
    No automatic fix: statesafe.write checks compiled content for its metadata fields, so moving a
    write that lacks them would change behaviour.
    '''

    CODE = "FS401"
    NAME = "compiled-edited-in-place"
    MESSAGE = "{api} writes the compiled file {target} in place: rebuild it to a temp and rename"
    FILE_CLASSES = frozenset({FileClass.COMPILED})
    ACTIONS = frozenset({"write", "append", "append-chunked", "touch", "copy-onto", "shell-write", "shell-append",
                         "shell-copy-onto", "shell-touch"})

    VALID = [
        Valid('import os\nopen("compiled/account_wiki.md.tmp", "w").write("---\\n")\n'
              'os.replace("compiled/account_wiki.md.tmp", "compiled/account_wiki.md")\n'),
        Valid('with open("account_wiki.md", "w") as f:\n    f.write("not under compiled/")\n'),
    ]
    INVALID = [
        Invalid('from pathlib import Path\nOUT = Path("memory") / "compiled"\n'
                '(OUT / "recent_window.md").write_text("# recent")\n', line=3),
        Invalid('import json\nwith open("compiled/post_feature_index.jsonl", "a") as f:\n'
                '    f.write(json.dumps({"id": 1}) + "\\n")\n', line=2),
    ]
