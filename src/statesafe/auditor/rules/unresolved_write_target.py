from statesafe.auditor.rule import Invalid, Rule, Valid


class UnresolvedWriteTarget(Rule):
    '''
    ## What it does
    Under `statesafe audit --strict` only: checks for a raw write (open for writing, rename, copy,
    delete, `write_text`, a shell command that writes) whose target the auditor cannot resolve
    (a path read from input, built by code it cannot follow, or a helper nobody in the audited
    tree calls).

    ## Why is this bad?
    Such a write may reach a policy file; the default run stays silent about it to avoid noise.
    Strict mode is for skills that want every raw write either proved harmless or moved to
    statesafe.

    ## Example
    ```python
    def save(path, data):
        with open(path, "w") as f:
            json.dump(data, f)
    ```

    Use instead:
    ```python
    def save(path, data):
        statesafe.write(path, data)  # or a path the auditor can follow
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS801"
    NAME = "unresolved-write-target"
    MESSAGE = "{api} writes a path the auditor cannot resolve ({target})"
    STRICT_ONLY = True

    VALID = [
        Valid('import sys\nopen(sys.argv[1], "w").write("x")\n'),
        Valid('open("out.txt", "w").write("x")\n', strict=True),
    ]
    INVALID = [
        Invalid('import sys\nopen(sys.argv[1], "w").write("x")\n', strict=True, line=2),
    ]
