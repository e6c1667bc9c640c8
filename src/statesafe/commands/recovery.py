"""``statesafe recover``: finish or roll back interrupted transactions, remove stale temps."""

from __future__ import annotations

from pathlib import Path

import click

from statesafe.errors import StatesafeError
from statesafe.recovery import recover as recover_directory


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
def recover(directory: Path | None):
    """Settle interrupted transactions and remove stale temps in or below DIRECTORY (default: here).

    Prints what it did. Exit 0: nothing to do; 1: something was recovered or removed;
    2: something could not be recovered (said on stderr).
    """
    report = recover_directory(directory)
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise StatesafeError(f"{len(report.errors)} item(s) could not be recovered (see above)")
    if report.changed:
        raise SystemExit(1)
    if not report.busy:
        click.echo("nothing to recover")
