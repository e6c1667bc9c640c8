"""FS901: a Python file that does not parse; claims the syntax errors of the parse stages."""

from __future__ import annotations

from statesafe.auditor.rule import Invalid, ParseFailure, Rule, Valid
from statesafe.auditor.types import Finding


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

    @classmethod
    def check_unanalyzable(cls, failure: ParseFailure) -> Finding | None:
        """A syntax error stands once libcst refuses the file too (CPython's parser alone may only
        be older than the syntax), worded as CPython words it; null bytes stop CPython's parser."""
        error = failure.error
        if failure.stage == "compile" and isinstance(error, ValueError):
            return failure.finding(cls, str(error))
        if failure.stage != "parse" or isinstance(error, RecursionError):
            return None
        earlier = failure.earlier
        if isinstance(earlier, SyntaxError):
            return failure.finding(cls, f"{earlier.msg} (line {earlier.lineno})", earlier.lineno or 1)
        return failure.finding(cls, f"{error.message} (line {error.raw_line})", error.raw_line)
