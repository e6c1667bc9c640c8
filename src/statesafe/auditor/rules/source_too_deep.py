from statesafe.auditor.rule import Invalid, Rule, Valid


class SourceTooDeep(Rule):
    '''
    ## What it does
    Reports a file nested too deeply for the auditor to walk (the parser or the analysis ran out
    of recursion); the run goes on with the other files.

    ## Why is this bad?
    Nothing in the file was checked. Generated code is the usual cause.

    ## Example
    ```python
    x = ((((((((((...))))))))))  # thousands of levels
    ```

    Use instead:
    Exclude generated files with `--exclude`, or flatten the expression.

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS903"
    NAME = "source-too-deep"
    MESSAGE = "this file is nested too deeply to analyze, so it was not checked"

    VALID = [Valid("x = " + "(" * 50 + "1" + ")" * 50 + "\n")]
    INVALID = [Invalid("x = " + "-" * 100000 + "1\n", line=1)]
