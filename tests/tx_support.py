"""Helpers shared by the transaction, recovery and crash tests: files whose content names
their generation, and a look at what a directory holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from statesafe import names
from statesafe.transactions import is_journal_name

#: A 3-file set over two folders: two destructive files and a companion in a subfolder,
#: so the journal needs a pointer as well as the primary.
FILES = ("threads_daily_tracker.json", "style_guide.md", "sub/posts_by_date.md")


def payload(gen: int, name: str, pad: int = 0) -> str:
    """Content that says which generation and file it belongs to (and fails to parse if torn)."""
    return json.dumps({"gen": gen, "file": name, "pad": "x" * pad}) + "\n"


def generation(root: Path, name: str) -> int | None:
    """The generation ``root/name`` holds; None if it does not exist."""
    try:
        text = (root / name).read_text()
    except FileNotFoundError:
        return None
    record = json.loads(text)
    assert record["file"] == name
    return record["gen"]


def generations(root: Path, files=FILES) -> dict[str, int | None]:
    return {name: generation(root, name) for name in files}


def one_generation(root: Path, files=FILES) -> int | None:
    """The one generation every file is at; fails the test if they differ."""
    found = generations(root, files)
    assert len(set(found.values())) == 1, f"files from different generations: {found}"
    return next(iter(found.values()))


def leftovers(root: Path) -> list[str]:
    """Journals and temps anywhere under ``root``: none may remain after recovery."""
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, _, files in os.walk(root) for n in files
                  if is_journal_name(n) or names.parse_temp(n))


def journals(root: Path) -> list[Path]:
    return sorted(Path(d, n) for d, _, files in os.walk(root) for n in files if is_journal_name(n))


def write_generation(tx, root: Path, gen: int, files=FILES, pad: int = 0) -> None:
    for name in files:
        tx.write(root / name, payload(gen, name, pad))
