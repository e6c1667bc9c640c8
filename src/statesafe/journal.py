"""A transaction's journal: its format, reading and writing it, and bringing one member to the
generation it decided.

No locks are taken here: the callers hold them (:mod:`statesafe.transactions` while it commits,
:mod:`statesafe.recovery` while it settles an interrupted transaction). The format and the
guarantee after a crash at each step are in docs/transactions.md.

``.statesafe-tx-<id>.journal`` lives beside the files, one in every directory the transaction
touched. The **primary** (in the directory of the first file in sorted order) holds the record:
its ``state`` (:data:`COMMIT` or :data:`ROLLBACK`), the paths of every journal, and per member
its target, whether it existed, and the files made for it (``backup``, ``prior``, ``temp``,
``undo``). Every other journal is a **pointer**: the primary's path and the targets, so that each
member finds the transaction from its own directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from statesafe import fsutil
from statesafe.errors import StatesafeError, WriteError
from statesafe.names import JOURNAL_PREFIX, JOURNAL_SUFFIX, is_journal_name

FORMAT = 1
#: The primary's ``state``: roll the members forward (the temps go in) or back (the undo images do).
COMMIT, ROLLBACK = "commit", "rollback"


def path_in(directory: Path, txid: str) -> Path:
    """Where transaction ``txid``'s journal in ``directory`` lives."""
    return directory / f"{JOURNAL_PREFIX}{txid}{JOURNAL_SUFFIX}"


def journals_in(directory: Path) -> list[Path]:
    """The journals in ``directory``, sorted; none if it does not exist."""
    try:
        return sorted(Path(e.path) for e in os.scandir(directory) if is_journal_name(e.name))
    except FileNotFoundError:
        return []


def load(journal: Path) -> dict:
    """A journal's record; FileNotFoundError if it is gone, StatesafeError if unusable."""
    try:
        with open(journal, "rb") as f:
            record = json.loads(f.read())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise StatesafeError(f"{journal}: cannot read transaction journal: {exc}; "
                             "inspect it (see docs/transactions.md) before writing its files") from None
    version = record.get("statesafe_transaction") if isinstance(record, dict) else None
    if version != FORMAT:
        raise StatesafeError(f"{journal}: not a statesafe transaction journal of format {FORMAT} "
                             f"(found {version!r})")
    return record


def targets(record: dict) -> list[Path]:
    """The files a record (primary or pointer) names."""
    if "primary" in record:  # a pointer
        return [Path(t) for t in record["targets"]]
    return [Path(m["target"]) for m in record["members"]]


def write_record(journal: Path, record: dict, anchor: Path, like: os.stat_result | None) -> None:
    """Put ``record`` at ``journal`` atomically (no directory fsync: the caller makes it durable).

    The temp is named as a temp of ``anchor`` (a member whose lock we hold), so a crash leaves
    an ordinary stale temp of a file, removed like any other.
    """
    temp = fsutil.write_temp(anchor, json.dumps(record, indent=1).encode(), like)
    try:
        fsutil.replace(temp, journal)
    except BaseException:
        fsutil.discard(temp)
        raise


def unlink(path: Path) -> bool:
    """Remove ``path``; False if it was already gone."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteError(path, "remove", exc) from exc


def _exists(path: str | None) -> bool:
    return path is not None and os.path.lexists(path)


def pending(member: dict) -> bool:
    """Whether a member still has a file the journal's decision consumes."""
    return any(_exists(member.get(key)) for key in ("temp", "undo", "prior"))


def settle_member(member: dict, state: str) -> bool:
    """Bring one member (its record) to the generation ``state`` decided; True if its file changed.

    The caller holds the member's lock. Idempotent: every step is keyed on a file that the step
    itself consumes.
    """
    target = Path(member["target"])
    changed = False
    if state == COMMIT:
        if _exists(member["temp"]):
            fsutil.replace(Path(member["temp"]), target)
            changed = True
    elif _exists(member.get("undo")):
        undo = Path(member["undo"])
        if member["existed"]:
            fsutil.replace(undo, target)
        else:  # the undo is a marker: the file did not exist before, so remove it
            unlink(target)
            fsutil.fsync_directory(target.parent, target)
            unlink(undo)
        changed = True
    for key in ("temp", "prior"):
        if member.get(key) and member.get(key) != member.get("undo"):
            fsutil.discard(Path(member[key]))
    return changed


def delete_journals(record: dict) -> None:
    """Primary first (the transaction is over), then the pointers.

    No directory fsync: should power loss undo a removal, the journal comes back with nothing
    pending (or as a pointer without its primary) and is simply removed again.
    """
    for journal in map(Path, record["journals"]):
        unlink(journal)
