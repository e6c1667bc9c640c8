"""Output formats for ``statesafe audit --format``: text, json, sarif, github.

Findings carry libcst's positions (1-based lines, 0-based columns); every
format shows 1-based columns, as editors, ruff, SARIF and GitHub do, and
:func:`one_based` is the only place that converts. Formatters register
themselves by ``NAME`` (Fixit's model); each returns the whole output as text.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from statesafe import __version__
from statesafe.auditor.types import Finding

FORMATS: dict[str, type[Formatter]] = {}
#: GitHub shows at most this many annotations of one level per step and drops the rest silently.
GITHUB_STEP_LIMIT = 10
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_TEXT_LIMIT = 1024  # GitHub's limit for shortDescription / fullDescription


def one_based(finding: Finding) -> tuple[int, int, int, int]:
    """(line, column, end_line, end_column) with 1-based columns; the end stays exclusive."""
    return finding.line, finding.column + 1, finding.end_line, finding.end_column + 1


def level(finding: Finding) -> str:
    rule = rule_classes().get(finding.code)
    return rule.LEVEL if rule is not None else "error"


class Formatter:
    NAME: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        FORMATS[cls.NAME] = cls

    def __init__(self, *, color: bool = False, checked: int = 0, lines: Callable[[str], list[str]] | None = None,
                 skipped: int = 0):
        self.color = color
        self.checked = checked
        self.lines = lines
        self.skipped = skipped  # named files that are neither Python nor a skill manifest

    def render(self, findings: Sequence[Finding]) -> str:
        raise NotImplementedError


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Text(Formatter):
    """``path:line:col: CODE message``, one a line, then a summary line."""

    NAME = "text"

    def _style(self, text: str, **style) -> str:
        if not self.color:
            return text
        import click
        return click.style(text, **style)

    def line(self, finding: Finding) -> str:
        line, column, _, _ = one_based(finding)
        where = self._style(f"{finding.path}:{line}:{column}:", bold=True)
        code = self._style(finding.code, fg="red" if level(finding) == "error" else "yellow", bold=True)
        via = f" (via {finding.via})" if finding.via and finding.via not in finding.message else ""
        related = "".join(f"\n    {path}:{line}: {text}" for path, line, text in finding.related)
        return f"{where} {code} {finding.message}{via}{related}"

    def summary(self, findings: Sequence[Finding]) -> str:
        checked = _plural(self.checked, "file") + " checked"
        if self.skipped:
            checked += f", {self.skipped} skipped: neither Python nor a skill manifest"
        if not findings:
            return self._style(f"No findings ({checked}).", fg="green")
        files = len({f.path for f in findings})
        fixable = sum(1 for f in findings if f.fix)
        hint = f"; {fixable} fixable with --fix" if fixable else ""
        return f"Found {_plural(len(findings), 'finding')} in {_plural(files, 'file')} ({checked}{hint})."

    def render(self, findings):
        return "".join(self.line(f) + "\n" for f in findings) + self.summary(findings) + "\n"


class Json(Formatter):
    """A JSON list of objects, one per finding (1-based columns, exclusive end)."""

    NAME = "json"

    def render(self, findings):
        positions = ("line", "column", "end_line", "end_column")
        rows = [{**f.to_dict(), **dict(zip(positions, one_based(f)))} for f in findings]
        return json.dumps(rows, indent=2) + "\n"


def rule_classes() -> dict:
    from statesafe.auditor.rules import RULES  # the rules alone: no libcst
    return RULES


def _clip(text: str) -> str:
    return text if len(text) <= SARIF_TEXT_LIMIT else text[:SARIF_TEXT_LIMIT - 1] + "…"


def _artifact(path: str) -> dict:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


class Sarif(Formatter):
    """SARIF 2.1.0 for GitHub code scanning; rule descriptors come from the rules' own docs."""

    NAME = "sarif"

    def render(self, findings):
        rules = rule_classes()
        codes = sorted(rules)
        descriptors = []
        for code in codes:
            rule = rules[code]
            doc = rule.doc()
            descriptors.append({
                "id": code, "name": rule.NAME,
                "shortDescription": {"text": _clip(rule.summary())},
                "fullDescription": {"text": _clip(doc)},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": rule.LEVEL},
                "properties": {"tags": ["statesafe", f"FS{code[2]}xx"]},
            })
        results = []
        for f in findings:
            line, column, end_line, end_column = one_based(f)
            result = {
                "ruleId": f.code, "level": level(f), "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": _artifact(f.path),
                    "region": {"startLine": max(line, 1), "startColumn": max(column, 1),
                               "endLine": max(end_line, line, 1), "endColumn": max(end_column, 1)}}}],
                "properties": {k: v for k, v in (("target", f.target), ("fileClass", f.file_class),
                                                 ("via", f.via), ("fix", f.fix)) if v},
            }
            if f.related:
                result["relatedLocations"] = [
                    {"id": index, "message": {"text": text}, "physicalLocation": {
                        "artifactLocation": _artifact(path), "region": {"startLine": max(line, 1)}}}
                    for index, (path, line, text) in enumerate(f.related)]
            if f.code in rules:
                result["ruleIndex"] = codes.index(f.code)
            if self.lines is not None:
                from statesafe.auditor.baseline import fingerprint
                stable = hashlib.sha256(repr(fingerprint(f, self.lines)).encode()).hexdigest()[:32]
                result["partialFingerprints"] = {"statesafeFingerprint/v1": stable}
            results.append(result)
        document = {
            "$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "statesafe", "version": __version__,
                                    "semanticVersion": __version__, "rules": descriptors}},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": results,
            }],
        }
        return json.dumps(document, indent=2) + "\n"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class Github(Formatter):
    """GitHub Actions workflow annotations, a warning when GitHub would drop some, then the text lines."""

    NAME = "github"

    def render(self, findings):
        out = []
        for kind in ("error", "warning"):
            count = sum(1 for f in findings if level(f) == kind)
            if count > GITHUB_STEP_LIMIT:
                out.append(f"::warning title={escape_property('statesafe')}::" + escape_data(
                    f"{count} {kind} findings: GitHub shows only the first {GITHUB_STEP_LIMIT} annotations "
                    f"per step, so {count - GITHUB_STEP_LIMIT} are not annotated. All are listed in this "
                    f"step's log; upload --format sarif to code scanning to see them in the UI."))
        for f in findings:
            line, column, end_line, end_column = one_based(f)
            props = ",".join(f"{key}={escape_property(str(value))}" for key, value in (
                ("title", f"statesafe ({f.code})"), ("file", f.path), ("line", line), ("endLine", end_line),
                ("col", column), ("endColumn", end_column)))
            out.append(f"::{level(f)} {props}::{escape_data(f.message)}")
        text = Text(checked=self.checked, skipped=self.skipped)
        out.extend(text.line(f) for f in findings)
        out.append(text.summary(findings))
        return "\n".join(out) + "\n"
