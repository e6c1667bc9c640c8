"""FS903: a file nested too deeply to analyse; claims running out of recursion at any stage."""

from __future__ import annotations

import re

from statesafe.auditor.rule import Invalid, ParseFailure, Rule, Valid
from statesafe.auditor.types import Finding

#: how CPython's parser words a refusal to go deeper (it raises a SyntaxError, not a RecursionError)
_TOO_DEEP = re.compile(r"too many nested|too many levels|too complex|recursion", re.I)


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

    @classmethod
    def check_unanalyzable(cls, failure: ParseFailure) -> Finding | None:
        error = failure.error
        if isinstance(error, (RecursionError, MemoryError)):
            return failure.finding(cls, "too deep")
        if failure.stage == "compile" and isinstance(error, SyntaxError) and _TOO_DEEP.search(error.msg or ""):
            return failure.finding(cls, error.msg, error.lineno or 1)
        return None
