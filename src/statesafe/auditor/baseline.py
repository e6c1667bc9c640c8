"""``--baseline FILE``: adopt the auditor on an existing codebase; only new findings fail.

The first run with a FILE that does not exist records every current finding in
it (JSON, sorted, meant to be committed) and passes. Later runs drop the
findings the baseline knows. A finding is known by its fingerprint: the file
(relative to the baseline's folder, so the run's working directory does not
matter), the code, the target and the text of the line it is on, whitespace
collapsed; not by its line number, so edits above it do not revive it. Equal
fingerprints are matched as a multiset: a second copy of a known raw write in
the same file is new.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable

from statesafe.auditor.types import Finding
from statesafe.errors import ConfigError

FORMAT_KEY = "statesafe-baseline"
FORMAT_VERSION = 1

Lines = Callable[[str], list[str]]


def line_text(lines: Lines, finding: Finding) -> str:
    text = lines(finding.path)
    return " ".join(text[finding.line - 1].split()) if 0 < finding.line <= len(text) else ""


def fingerprint(finding: Finding, lines: Lines, folder: str = ".") -> tuple[str, str, str, str]:
    path = os.path.relpath(os.path.abspath(finding.path), os.path.abspath(folder)).replace(os.sep, "/")
    return (path, finding.code, finding.target or "", line_text(lines, finding))


def source_lines() -> Lines:
    """A reader of files' lines, each file read once; unreadable files have no lines."""
    seen: dict[str, list[str]] = {}

    def read(path: str) -> list[str]:
        if path not in seen:
            try:
                with open(path, "rb") as f:
                    seen[path] = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                seen[path] = []
        return seen[path]
    return read


def load(path: str) -> Counter:
    try:
        with open(path, "rb") as f:
            document = json.load(f)
    except OSError as exc:
        raise ConfigError(path, f"cannot read baseline: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(path, f"baseline is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get(FORMAT_KEY) != FORMAT_VERSION \
            or not isinstance(document.get("findings"), list):
        raise ConfigError(path, f"not a statesafe baseline (expected {{{FORMAT_KEY!r}: {FORMAT_VERSION}, "
                                f"'findings': [...]}})")
    try:
        return Counter((e["path"], e["code"], e.get("target") or "", e["context"]) for e in document["findings"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(path, f"malformed baseline entry: missing {exc}") from None


def new_findings(findings: Iterable[Finding], known: Counter, lines: Lines, baseline_path: str) -> list[Finding]:
    """The findings the baseline does not account for."""
    left = Counter(known)
    folder = os.path.dirname(os.path.abspath(baseline_path))
    fresh = []
    for finding in sorted(findings):
        key = fingerprint(finding, lines, folder)
        if left[key] > 0:
            left[key] -= 1
        else:
            fresh.append(finding)
    return fresh


def render(findings: Iterable[Finding], lines: Lines, baseline_path: str) -> str:
    folder = os.path.dirname(os.path.abspath(baseline_path))
    entries = []
    for finding in findings:
        path, code, target, context = fingerprint(finding, lines, folder)
        entries.append({"path": path, "code": code, "target": target or None, "context": context,
                        "line": finding.line, "message": finding.message})
    entries.sort(key=lambda e: (e["path"], e["line"], e["code"], e["context"]))
    return json.dumps({FORMAT_KEY: FORMAT_VERSION, "findings": entries}, indent=2) + "\n"


def save(findings: Iterable[Finding], lines: Lines, baseline_path: str) -> None:
    """Write the baseline through statesafe's own atomic writer (never half a baseline)."""
    import statesafe

    statesafe.write(baseline_path, render(findings, lines, baseline_path))
