"""Data types shared by the auditor's engine, rules, runner and formatters (imports nothing of ours)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem. Positions are libcst's: 1-based lines, 0-based columns, end exclusive.

    Formatters convert columns for SARIF / GitHub (1-based) in one place.
    """

    path: str  # posix path as the user named it (relative to the working directory when below it)
    line: int
    column: int
    end_line: int
    end_column: int
    code: str  # "FS101"
    name: str  # kebab-case rule name, stating the bad pattern ("raw-write-to-destructive-file")
    message: str
    target: str | None = None  # the policy file the write reaches, as resolved
    file_class: str | None = None  # FileClass value of the target
    fix: str | None = None  # what --fix would do, when a safe fix exists
    via: str | None = None  # "path:line" of the call site that makes the target a policy file
    #: other places the finding involves, (path, line, what happens there): the helper's replace
    #: that a call site reaches, the backup a rename lacks (SARIF relatedLocations)
    related: tuple[tuple[str, int, str], ...] = ()

    def order(self) -> tuple:
        """The sort key findings are listed by (their dataclass order, as one tuple built once:
        sorting by it is several times cheaper than comparing findings pairwise)."""
        return (self.path, self.line, self.column, self.end_line, self.end_column, self.code, self.name,
                self.message, self.target or "", self.file_class or "", self.fix or "", self.via or "", self.related)

    def to_dict(self) -> dict:
        """Every field, in declaration order (the JSON format's keys); related places as objects."""
        row = asdict(self)
        row["related"] = [{"path": path, "line": line, "message": text} for path, line, text in self.related]
        return row
