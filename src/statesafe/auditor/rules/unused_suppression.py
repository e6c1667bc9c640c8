"""FS701: suppression comments that silence nothing (the comments are read and applied by suppress.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.auditor.types import Finding

if TYPE_CHECKING:
    from statesafe.auditor.suppress import Suppression


class UnusedSuppression(Rule):
    """
    ## What it does
    Checks for suppression comments (`# statesafe: ignore[...]`, `# noqa: FS...`) that silence
    nothing.

    ## Why is this bad?
    A suppression that outlived the write it excused hides the next raw write someone adds on
    that line. Stale suppressions also make a codebase look less compliant than it is.

    ## Example
    ```python
    statesafe.write(TRACKER, data)  # statesafe: ignore[FS101]
    ```

    Use instead:
    ```python
    statesafe.write(TRACKER, data)
    ```

    ## Fix safety
    No automatic fix: remove the comment by hand.
    """

    CODE = "FS701"
    NAME = "unused-suppression"
    MESSAGE = "suppression of {code} silences nothing on this line; remove it"
    LEVEL = "warning"  # the code it guards is fine as it is

    VALID = [
        Valid('with open("threads_daily_tracker.json", "w") as f:  # statesafe: ignore[FS101]\n'
              '    f.write("{}")\n'),
        Valid('# noqa: FS101\nopen("brand_voice.md", "w").close()\n'),
        Valid('import os\nos.remove("notes.txt")  # noqa: E501\n'),
    ]
    INVALID = [
        Invalid('import statesafe\nstatesafe.write("threads_daily_tracker.json", {})  # statesafe: ignore[FS101]\n',
                line=2),
        Invalid('# noqa: FS301\nopen("brand_voice.md", "w").close()\n', line=1),
    ]

    @classmethod
    def check_suppressions(cls, path: str, suppressions: list[Suppression],
                           used: set[tuple[str, int, str]]) -> Iterator[Finding]:
        """Each code of each comment of ``path`` that silenced no finding (``used``: (path, comment
        line, code) of those that did)."""
        for s in suppressions:
            for code in s.codes:
                if (path, s.line, code) not in used:
                    yield cls.finding(path, (s.line, s.column, s.line, s.end_column), code=code)
