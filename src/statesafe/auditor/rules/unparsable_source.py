from statesafe.auditor.rule import Invalid, Rule, Valid


class UnparsableSource(Rule):
    '''
    ## What it does
    Reports a Python file the auditor cannot parse (a syntax error); the run goes on with the
    other files.

    ## Why is this bad?
    Nothing in the file was checked: a raw write to the tracker in it would go unnoticed.

    ## Example
    ```python
    def save(path:
    ```

    Use instead:
    ```python
    def save(path):
        ...
    ```

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS901"
    NAME = "unparsable-source"
    MESSAGE = "cannot parse this file, so it was not checked: {api}"

    VALID = [Valid("x = 1\n")]
    INVALID = [Invalid("def save(path:\n    pass\n", line=1)]
