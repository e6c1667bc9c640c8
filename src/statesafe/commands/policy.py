"""``statesafe policy``: the effective policy and where each part of it came from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from statesafe.policy import find_source, load_file, load_policy


@click.command()
@click.option("--config", "config", type=click.Path(path_type=Path, dir_okay=False),
              help="Read this statesafe.toml, pyproject.toml or FAILSAFE.md instead of searching.")
@click.option("--json", "as_json", is_flag=True, help="Print the policy as JSON.")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def policy(config: Path | None, as_json: bool, path: Path | None):
    """Print the effective policy for PATH (a file or folder; default: here) and the source of each part.

    A file gets the policy nearest to it: its folder's statesafe.toml, [tool.statesafe] in
    pyproject.toml or FAILSAFE.md, else the nearest above (what the writers, the guard, the
    hook and `statesafe audit` apply to it).
    """
    if config is not None:
        effective = load_file(config)
        origin = str(config)
    else:
        start = path or Path.cwd()
        if not start.is_dir():
            start = start.parent if str(start.parent) else Path.cwd()
        effective = load_policy(start)
        found = find_source(start.resolve())
        origin = str(found) if found else "none found; built-in default"
    rows = effective.describe()
    if as_json:
        click.echo(json.dumps({"source": origin, "policy": {
            key: {"value": list(value) if isinstance(value, tuple) else value, "from": source}
            for key, value, source in rows}}, indent=2))
        return
    click.echo(f"policy source: {origin}")
    for key, value, source in rows:
        click.echo(f"\n{key}  (from {source})")
        if isinstance(value, tuple):
            for item in value:
                click.echo(f"  - {item}")
        else:
            click.echo(f"  {value}")
