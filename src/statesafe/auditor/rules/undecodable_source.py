from statesafe.auditor.rule import Invalid, Rule, Valid


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
