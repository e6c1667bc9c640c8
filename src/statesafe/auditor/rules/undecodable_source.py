"""FS902: a file whose bytes do not decode; claims the failures of the decode stage."""

from __future__ import annotations

from statesafe.auditor.rule import Invalid, ParseFailure, Rule, Valid
from statesafe.auditor.types import Finding


class UndecodableSource(Rule):
    '''
    ## What it does
    Reports a file whose bytes do not decode in its declared encoding (UTF-8 unless a PEP 263
    coding line says otherwise); the run goes on with the other files.

    ## Why is this bad?
    Nothing in the file was checked.

    ## Example
    A `.py` file saved as Latin-1 with no coding line: `name = "caf\\xe9"`.

    Use instead:
    Save it as UTF-8, or declare `# -*- coding: latin-1 -*-`.

    ## Fix safety
    No automatic fix.
    '''

    CODE = "FS902"
    NAME = "undecodable-source"
    MESSAGE = "cannot decode this file, so it was not checked: {api}"

    VALID = [Valid(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")]
    INVALID = [Invalid(b"name = 'caf\xe9'\n", line=1)]

    @classmethod
    def check_unanalyzable(cls, failure: ParseFailure) -> Finding | None:
        """Every failure to decode (an unknown or broken coding line included) is this rule's."""
        if failure.stage != "decode":
            return None
        error = failure.error
        if isinstance(error, UnicodeDecodeError):
            reason = f"{error.encoding} cannot decode byte {error.object[error.start]:#04x} at offset {error.start}"
            return failure.finding(cls, reason, failure.source.count(b"\n", 0, error.start) + 1)
        return failure.finding(cls, str(error))
