"""Running a rule's VALID / INVALID cases (used by the tests and the docs generator)."""

from __future__ import annotations

from statesafe.auditor.engine import resolve, summarize
from statesafe.auditor.fix import fix_source
from statesafe.auditor.rule import Valid
from statesafe.auditor.types import Finding
from statesafe.policy import Policy, default_policy


def audit_files(files: dict[str, str | bytes], *, strict: bool = False, policy: Policy | None = None) -> list[Finding]:
    """Findings for an in-memory tree (path -> source)."""
    policy = policy or default_policy()
    summaries = [summarize(path, source if isinstance(source, bytes) else source.encode(), policy)
                 for path, source in files.items()]
    return resolve(summaries, policy, strict=strict)


def case_findings(case: Valid) -> list[Finding]:
    files = {case.path: case.code, **case.files}
    return audit_files(files, strict=case.strict)


def case_fix(case: Valid, findings: list[Finding]) -> str | None:
    source = case.code if isinstance(case.code, bytes) else case.code.encode()
    fixed = fix_source(case.path, source, [f for f in findings if f.path == case.path])
    return None if fixed is None else fixed.decode()
