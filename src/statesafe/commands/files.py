"""The writers for shells and agents: ``write``, ``append``, ``backups``, ``restore``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from statesafe import names
from statesafe.backup import backup_source, backups as list_backups, restore as restore_backup
from statesafe.compiled import count_posts
from statesafe.errors import StatesafeError
from statesafe.writers import append as append_record, write as write_file


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--from", "source", required=True, metavar="SRC|-",
              help="Read the new content from SRC, or from standard input with '-'.")
def write(file: Path, source: str):
    """Replace FILE with the content of SRC, the way the policy asks for FILE's class."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise StatesafeError(f"{source}: cannot read: {exc.strerror or exc}") from None
    written = write_file(file, data)
    click.echo(f"wrote {written}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("record", metavar="JSON")
@click.option("--supersedes", metavar="RUN_ID", help="The run_id of the entry this one corrects.")
@click.option("--durable", is_flag=True, help="fsync the log after the line is written.")
def append(file: Path, record: str, supersedes: str | None, durable: bool):
    """Append one JSON object as a line to the log FILE; prints the run_id it was given."""
    try:
        parsed = json.loads(record)
    except ValueError as exc:
        raise StatesafeError(f"{file}: the record is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise StatesafeError(f"{file}: the record must be a JSON object, got {type(parsed).__name__}")
    fields = append_record(file, parsed, supersedes=supersedes, durable=durable)
    click.echo(fields["run_id"])


def _describe(backup: Path) -> tuple[str, str, str, str, str]:
    """(name, time, size, parses, posts) for the table."""
    parsed = names.parse_backup(backup.name)
    stamp = parsed.stamp
    when = f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
    try:
        content = backup.read_bytes()
    except OSError as exc:
        return backup.name, when, "?", f"unreadable ({exc.strerror})", "-"
    parses, posts = _parse(parsed.base, content)
    label = backup.name + ("  (corrupted snapshot)" if parsed.corrupted else "")
    return label, when, str(len(content)), parses, posts


def _parse(base: str, content: bytes) -> tuple[str, str]:
    """Whether the content parses for its file type, and a JSON tracker's post count."""
    suffix = os.path.splitext(base)[1].lower()
    try:
        if suffix == ".json":
            json.loads(content)
            posts = count_posts(content)
            return "yes", "-" if posts is None else str(posts)
        if suffix in (".jsonl", ".log"):
            for line in content.splitlines():
                if line.strip():
                    json.loads(line)
            return "yes", "-"
        content.decode("utf-8")
        return "yes (text)", "-"
    except ValueError:  # UnicodeDecodeError included
        return "NO", "-"


def _table(file: Path, found: list[Path], numbered: bool = False) -> None:
    rows = [("#",) * numbered + ("backup", "time (UTC)", "bytes", "parses", "posts")]
    rows += [(str(i),) * numbered + _describe(b) for i, b in enumerate(found, 1)]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--newest", is_flag=True,
              help="Print only the path of the newest regular backup (not a -corrupted snapshot), for scripts: "
                   "statesafe restore FILE --from \"$(statesafe backups FILE --newest)\".")
def backups(file: Path, newest: bool):
    """List FILE's backups, newest first, with what a person needs to choose one."""
    found = list_backups(file)
    if newest:
        regular = [b for b in found if not names.parse_backup(b.name).corrupted]
        if not regular:
            raise StatesafeError(f"{file}: no backups to restore from")
        click.echo(str(regular[0]))
        return
    if not found:
        click.echo(f"no backups of {file}")
        return
    _table(file, found)


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--from", "backup", metavar="BACKUP",
              help="The backup to restore (a .bak- file beside FILE). Without it, on a terminal, choose from a list.")
def restore(file: Path, backup: str | None):
    """Restore FILE from one of its backups; the current content is kept as a -corrupted snapshot."""
    if backup is None:
        backup = _choose(file)
    source = backup_source(file, backup)
    snapshot = restore_backup(file, source)
    click.echo(f"restored {file} from {source.name}")
    if snapshot is not None:
        click.echo(f"the replaced content is kept as {snapshot.name}")


def _choose(file: Path) -> str:
    """Ask a person on a terminal which backup to restore: never pick one for them."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise StatesafeError(f"{file}: say which backup with --from BACKUP "
                             f"(not on a terminal; list them with: statesafe backups {file})")
    found = list_backups(file)
    if not found:
        raise StatesafeError(f"{file}: no backups to restore from")
    _table(file, found, numbered=True)
    choice = click.prompt("restore which backup (number)", type=click.IntRange(1, len(found)))
    return str(found[choice - 1])
