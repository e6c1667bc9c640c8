"""``statesafe audit`` and ``statesafe rule``: the auditor's command line.

Only prints and picks the exit code, a bitmask as in Fixit: 1 when findings
remain, 2 for errors (unreadable files, unknown codes in suppressions); click's
usage errors and ConfigError (via the group) are 2 as well. Importing this
module stays cheap (no libcst) so a pre-commit run over files that never touch
a policy file never loads the engine.
"""

from __future__ import annotations

import difflib
import os
import sys
import traceback
from collections.abc import Sequence

import click

from statesafe.errors import StatesafeError

FINDINGS = 1
ERRORS = 2


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Output format.")
@click.option("--strict", is_flag=True,
              help="Also report writes whose target cannot be resolved (parses every file: slower).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Skip files and folders matching GLOB, a gitignore pattern (repeatable): 'tests/' is the "
                   "folder, '*.gen.py' any such file; files named explicitly are still checked.")
@click.option("--baseline", type=click.Path(dir_okay=False), metavar="FILE",
              help="Report only findings not recorded in FILE; a missing FILE is created from this run.")
@click.option("--fix", is_flag=True, help="Rewrite fixable raw writes to statesafe.write / statesafe.append.")
@click.option("--diff", is_flag=True, help="With --fix: print the changes as a diff instead of writing them.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write .statesafe_cache/.")
@click.pass_context
def audit(ctx: click.Context, paths: Sequence[str], output_format: str, strict: bool, excludes: Sequence[str],
          baseline: str | None, fix: bool, diff: bool, no_cache: bool):
    """Flag writes to policy files that bypass the policy, in the .py files and SKILL.md under PATHs (default: .).

    Exit status: 0 clean, 1 findings remain, 2 usage, configuration or read errors.
    """
    def run():
        from statesafe.auditor import runner

        try:  # each file under the policy nearest to it
            return runner.audit(paths, None, strict=strict, excludes=excludes, use_cache=not no_cache)
        except (StatesafeError, KeyboardInterrupt):
            raise
        except Exception:  # a bug, not a finding: say so, and keep exit 1 meaning "findings"
            traceback.print_exc()
            click.echo("statesafe: error: internal error in the auditor (traceback above); please report it",
                       err=True)
            ctx.exit(ERRORS)

    report = run()
    findings = report.findings
    status = 0
    if fix or diff:
        findings, fix_status = _fix(report.findings, preview=diff)
        status |= fix_status
        if not diff and findings != report.findings:  # something was rewritten: judge the new files
            report = run()
            findings = report.findings
    if baseline:
        findings = _against_baseline(findings, baseline)
    for error in report.errors:
        click.echo(f"statesafe: error: {error}", err=True)
    from statesafe.auditor.formats import FORMATS
    from statesafe.auditor.baseline import source_lines

    formatter = FORMATS[output_format](color=sys.stdout.isatty() and output_format == "text",
                                       checked=report.checked, lines=source_lines(), skipped=report.skipped)
    click.echo(formatter.render(findings), nl=False, color=formatter.color)
    if findings:
        status |= FINDINGS
    if report.errors:
        status |= ERRORS
    ctx.exit(status)


def _against_baseline(findings, path: str):
    from statesafe.auditor import baseline as baseline_mod

    lines = baseline_mod.source_lines()
    if not os.path.exists(path):
        baseline_mod.save(findings, lines, path)
        click.echo(f"statesafe: baseline {path} written with {len(findings)} finding(s); "
                   f"later runs report only new ones", err=True)
        return []
    return baseline_mod.new_findings(findings, baseline_mod.load(path), lines, path)


def _fix(findings, *, preview: bool):
    """Apply (or, with ``preview``, print) the engine's fixes file by file.

    Returns the findings no fix addresses and an exit status (2 if a file could
    not be rewritten). Files are saved through ``statesafe.write``: an atomic
    replace, never the in-place rewrite a fixer usually does.
    """
    from statesafe.auditor.fix import fix_source

    status = 0
    by_path: dict[str, list] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    remaining = []
    for path, found in sorted(by_path.items()):
        fixable = [f for f in found if f.fix]
        if not fixable:
            remaining.extend(found)
            continue
        try:
            with open(path, "rb") as f:
                before = f.read()
            after = fix_source(path, before, fixable)
        except OSError as exc:
            click.echo(f"statesafe: error: {path}: cannot read for --fix: {exc.strerror or exc}", err=True)
            remaining.extend(found)
            status |= ERRORS
            continue
        if after is None or after == before:
            remaining.extend(found)
            continue
        remaining.extend(f for f in found if not f.fix)
        if preview:
            diff = difflib.unified_diff(before.decode("utf-8", "replace").splitlines(keepends=True),
                                        after.decode("utf-8", "replace").splitlines(keepends=True),
                                        f"a/{path}", f"b/{path}")
            click.echo("".join(diff), nl=False)
            remaining.extend(fixable)  # nothing was written: they are still there
            continue
        try:
            import statesafe

            statesafe.write(path, after)
        except (StatesafeError, OSError) as exc:
            click.echo(f"statesafe: error: {path}: fix not saved: {exc}", err=True)
            remaining.extend(fixable)
            status |= ERRORS
            continue
        click.echo(f"fixed {path}: {', '.join(f'{f.code} line {f.line}' for f in fixable)}", err=True)
    return sorted(remaining), status


@click.command()
@click.argument("code", required=False)
def rule(code: str | None):
    """Print the documentation of rule CODE (e.g. FS101); without CODE, list every rule."""
    from statesafe.auditor.formats import rule_classes

    rules = rule_classes()
    if code is None:
        for known in sorted(rules):
            click.echo(f"{known}  {rules[known].NAME}: {rules[known].summary()}")
        return
    found = rules.get(code.upper())
    if found is None:
        raise click.UsageError(f"unknown rule {code!r} (known: {', '.join(sorted(rules))})")
    click.echo(f"# {found.NAME} ({found.CODE})\n")
    fix = "available" if found.AUTOFIX else "none"
    click.echo(f"Fix: {fix}\n")
    click.echo(found.doc())
