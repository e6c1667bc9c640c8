"""Running a rule's VALID / INVALID cases (used by the tests and the docs generator)."""

from __future__ import annotations

from statesafe.auditor import suppress
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
    """What ``statesafe audit`` reports on the case's tree: suppression comments applied (FS701)."""
    files = {path: code if isinstance(code, bytes) else code.encode()
             for path, code in {case.path: case.code, **case.files}.items()}
    findings, errors = suppress.apply(audit_files(files, strict=case.strict), files)
    assert not errors, errors
    return findings


def case_fix(case: Valid, findings: list[Finding]) -> str | None:
    source = case.code if isinstance(case.code, bytes) else case.code.encode()
    fixed = fix_source(case.path, source, [f for f in findings if f.path == case.path])
    return None if fixed is None else fixed.decode()
