"""The folders ``statesafe check`` and ``statesafe recover`` look through.

Unlike the auditor's walk, ``.gitignore`` is not honoured: state files are
usually ignored by git, and they are exactly what these commands are for.
Version-control folders, virtualenvs, caches and ``node_modules`` are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

SKIPPED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox",
                     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", "site-packages"})


def folders(root: str | os.PathLike) -> Iterator[tuple[Path, list[str]]]:
    """(folder, its non-folder entry names) for ``root`` and every folder below it worth a look."""
    for current, subdirs, others in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED and not d.endswith(".egg-info")
                            and not os.path.exists(os.path.join(current, d, "pyvenv.cfg")))
        yield Path(current), sorted(others)
