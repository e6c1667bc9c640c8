from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class ShellWriteToDestructiveFile(Rule):
    '''
    ## What it does
    Checks for shell commands run from Python (`subprocess.*`, `os.system`, `os.popen`) that edit
    or overwrite a destructive-writes file: `sed -i`, `>` or `>>` redirection, `tee`, `cp` or `mv`
    onto it, `rm`.

    ## Why is this bad?
    The shell does what `open(..., "w")` does: truncate, then write, with no backup and no atomic
    rename. Reading the file (`cp tracker.json /tmp/x`, `cat`) is fine.

    ## Example
    ```python
    subprocess.run(["sed", "-i", "s/draft/final/", "style_guide.md"], check=True)
    ```

    Use instead:
    ```python
    text = Path("style_guide.md").read_text()
    statesafe.write("style_guide.md", text.replace("draft", "final"))
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS105"
    NAME = "shell-write-to-destructive-file"
    MESSAGE = "a shell command ({api}) writes the destructive file {target} raw"
    FILE_CLASSES = frozenset({FileClass.DESTRUCTIVE})
    ACTIONS = frozenset({"shell-write", "shell-append", "shell-copy-onto", "shell-move-onto", "shell-move-away",
                         "shell-delete", "shell-touch", "shell-remove-tree"})

    VALID = [
        Valid('import subprocess\nsubprocess.run(["cp", "threads_daily_tracker.json", "/tmp/x.json"])\n'),
        Valid('import os\nos.system("cat style_guide.md | wc -l")\n'),
    ]
    INVALID = [
        Invalid('import subprocess\nsubprocess.run(["sed", "-i", "s/a/b/", "style_guide.md"], check=True)\n', line=2),
        Invalid('import os\nTRACKER = "threads_daily_tracker.json"\nos.system(f"echo {{}} > {TRACKER}")\n', line=3),
        Invalid('import subprocess\nsubprocess.call("mv new.json threads_booster_config.json", shell=True)\n', line=2),
        Invalid('import subprocess\nsubprocess.run("render | tee concept_library.md", shell=True)\n', line=2),
        Invalid('import subprocess\nsubprocess.check_call(["cp", "seed.md", "brand_voice.md"])\n', line=2),
    ]
