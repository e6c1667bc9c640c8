"""Skill manifests (SKILL.md): the per-file phase for them.

A manifest is not parsed as code: it is decoded (UTF-8, undecodable bytes
replaced) and handed to every rule with a ``check_manifest`` hook (FS6xx),
which read what they need of it (the front matter's allowed-tools, the shell
blocks an agent will run). The findings travel in the summary like a Python
file's FS9xx ones.
"""

from __future__ import annotations

from collections.abc import Callable

from statesafe.auditor.rule import Manifest
from statesafe.auditor.summary import ModuleSummary
from statesafe.auditor.types import Finding
from statesafe.policy import FileClass, Policy


def is_manifest(path: str) -> bool:
    return path.rsplit("/", 1)[-1].lower() == "skill.md"


def summarize(path: str, source: bytes, policy: Policy, reported: Callable[[FileClass, str], bool]) -> ModuleSummary:
    """The manifest rules' findings for one manifest; ``reported(file_class, action)`` says what the
    declarative rules report (a shell block is held to what the same command run from Python would be)."""
    from statesafe.auditor.rules import RULES

    manifest = Manifest(path, source, source.decode("utf-8", errors="replace").splitlines(), policy, reported)
    findings: list[Finding] = []
    for rule in RULES.values():
        if rule.check_manifest is not None:
            findings.extend(rule.check_manifest(manifest))
    return ModuleSummary(path=path, kind="manifest", findings=sorted(set(findings)))
