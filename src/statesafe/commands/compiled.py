"""``statesafe check``: compiled memory that is stale or malformed."""

from __future__ import annotations

from pathlib import Path

import click

from statesafe.compiled import check_compiled


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, exists=True))
def check(directory: Path | None):
    """List compiled files in or below DIRECTORY (default: here) that are stale or malformed.

    Stale: its source_tracker_hash is not the hash of the current tracker. Malformed: it lacks
    a required field or the place to carry it. Exit 1 if any is listed, 0 if none.
    """
    found = check_compiled(directory)
    for path, problem in found:
        click.echo(f"{path}: {problem}")
    if found:
        click.echo(f"{len({path for path, _ in found})} compiled file(s) need a rebuild "
                   "(the tracker wins; rebuild compiled memory from it)", err=True)
        raise SystemExit(1)
