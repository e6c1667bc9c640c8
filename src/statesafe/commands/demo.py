"""``statesafe demo``: the writers at work in a temporary folder, in a few seconds."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import click

from statesafe.backup import backups, restore
from statesafe.errors import PolicyViolation
from statesafe.policy import default_policy
from statesafe.writers import append, write


@click.command()
@click.option("--keep", is_flag=True, help="Keep the folder afterwards and print where it is.")
def demo(keep: bool):
    """Write a tracker a few times, append to a log, get refused, restore a backup."""
    policy = default_policy()  # the demo shows FAILSAFE.md's own lists, whatever the config here says
    folder = Path(tempfile.mkdtemp(prefix="statesafe-demo-"))
    tracker = folder / policy.tracker
    log = folder / policy.logs[0]

    click.echo(f"in {folder}\n")
    for generation in range(1, 8):
        posts = [{"id": n, "text": f"post {n}"} for n in range(1, generation + 1)]
        write(tracker, {"posts": posts}, policy=policy)
    click.echo(f"wrote {tracker.name} 7 times: backup, temp, fsync, rename, directory fsync, prune each time")
    click.echo(f"backups kept ({policy.keep_backups}), newest first:")
    for backup in backups(tracker):
        click.echo(f"  {backup.name}")

    first = append(log, {"event": "refresh", "posts": 7}, policy=policy)
    append(log, {"event": "refresh", "posts": 6}, supersedes=first["run_id"], policy=policy)
    click.echo(f"\nappended 2 lines to {log.name}, the second superseding the first:")
    for line in log.read_text(encoding="utf-8").splitlines():
        click.echo(f"  {line}")

    click.echo("\nwrite() on the log is refused:")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write(log, "rewritten history\n", policy=policy)
    except PolicyViolation as exc:
        click.echo(f"  {exc}")

    oldest = backups(tracker)[-1]
    snapshot = restore(tracker, oldest)
    count = len(json.loads(tracker.read_text(encoding="utf-8"))["posts"])
    click.echo(f"\nrestored {tracker.name} from {oldest.name}: {count} posts again; "
               f"what it replaced is kept as {snapshot.name}")
    click.echo(f"\nfolder now: {', '.join(sorted(os.listdir(folder)))}")
    if keep:
        click.echo(f"\nkept {folder}")
    else:
        shutil.rmtree(folder)
