"""Suppression comments: ``# statesafe: ignore[FS101]`` and ``# noqa: FS101``.

A comment at the end of a line silences those codes on that line (on any line
of a finding that spans several); a comment alone on its line silences them on
the next line of code. Codes are required (a blanket ignore would hide the very
writes the policy is about), an unknown ``FS`` code is an error, and a code that
silenced nothing is reported as a finding of its own, as ruff's RUF100 does:
after the comments are applied, every rule with a ``check_suppressions`` hook
(FS701) is shown each file's comments and the codes they silenced. Other tools'
codes in a ``noqa`` are left alone.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass

from statesafe.auditor.types import Finding

_IGNORE = re.compile(r"#\s*statesafe:\s*ignore\b(\[([^\]]*)\])?", re.I)
_NOQA = re.compile(r"#\s*noqa\s*:\s*([A-Za-z]+[0-9]+\w*(?:[\s,]+[A-Za-z]+[0-9]+\w*)*)", re.I)
_OURS = re.compile(r"FS\d+\Z")


@dataclass(frozen=True)
class Suppression:
    line: int  # where the comment is
    column: int
    end_column: int
    applies_to: int  # the line of code it silences
    codes: tuple[str, ...]


def parse(path: str, source: bytes, known: frozenset[str]) -> tuple[list[Suppression], list[str]]:
    """The suppression comments of one file and the errors in them (one line each)."""
    found, errors = [], []
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return [], []  # the engine reports the file as unanalyzable
    code_lines = sorted({tok.start[0] for tok in tokens if tok.type not in (
        tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
        tokenize.ENCODING, tokenize.ENDMARKER)} | {line for tok in tokens if tok.type == tokenize.STRING
                                                   for line in range(tok.start[0], tok.end[0] + 1)})
    has_code = set(code_lines)
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        line, column = tok.start
        codes: list[str] = []
        ignore = _IGNORE.search(tok.string)
        if ignore:
            listed = [c.strip() for c in (ignore.group(2) or "").split(",") if c.strip()]
            if not listed:
                errors.append(f"{path}:{line}: '# statesafe: ignore' needs the codes it silences, "
                              f"e.g. '# statesafe: ignore[FS101]'")
            codes += listed
        noqa = _NOQA.search(tok.string)
        if noqa:
            codes += [c for c in re.split(r"[\s,]+", noqa.group(1)) if c.upper().startswith("FS")]
        if not codes:
            continue
        valid = []
        for code in dict.fromkeys(c.upper() for c in codes):
            if not _OURS.match(code) or code not in known:
                errors.append(f"{path}:{line}: unknown rule code {code!r} in suppression comment")
            else:
                valid.append(code)
        if not valid:
            continue
        if line in has_code:
            applies_to = line
        else:
            applies_to = next((n for n in code_lines if n > line), line)
        found.append(Suppression(line, column, column + len(tok.string), applies_to, tuple(valid)))
    return found, errors


def known_codes() -> frozenset[str]:
    from statesafe.auditor.rules import RULES  # the rules alone: no libcst
    return frozenset(RULES)


def apply(findings: list[Finding], sources: Mapping[str, bytes],
          known: frozenset[str] | None = None) -> tuple[list[Finding], list[str]]:
    """Findings minus the suppressed ones, plus the findings of the rules judging the comments
    (one FS701 per code that silenced nothing).

    ``sources``: the files that may hold suppression comments, by path; ``known``:
    the valid codes (default: every rule's).
    """
    if not sources:
        return findings, []
    known = known_codes() if known is None else known
    kept: list[Finding] = []
    errors: list[str] = []
    by_path: dict[str, list[Suppression]] = {}
    for path, source in sources.items():
        found, problems = parse(path, source, known)
        by_path[path] = found
        errors.extend(problems)
    used: set[tuple[str, int, str]] = set()
    for finding in findings:
        hit = next((s for s in by_path.get(finding.path, ())
                    if finding.code in s.codes and finding.line <= s.applies_to <= finding.end_line), None)
        if hit is None:
            kept.append(finding)
        else:
            used.add((finding.path, hit.line, finding.code))
    from statesafe.auditor.rules import RULES

    for rule in RULES.values():
        if rule.check_suppressions is not None:
            for path, found in by_path.items():
                kept.extend(rule.check_suppressions(path, found, used))
    return kept, errors
