"""Readers: what a command line or a snippet of Python would do to files, as Effects.

:mod:`statesafe.readers.shell` reads command lines (the agent's Bash tool, ``subprocess``
strings in skill code); :mod:`statesafe.readers.python` reads ``python -c`` code. Both
return :class:`statesafe.effects.Effect` s and know nothing of the policy. What they may
ask of the machine goes through a :class:`Filesystem`: the agent hook judges a command
where it will run (:data:`LOCAL`); the auditor reads code that will run elsewhere and
passes :class:`Nowhere`, so nothing on the auditing machine colours its answer.
"""

from __future__ import annotations

import os
import re

_DIFF_LIMIT = 4 << 20  # bytes of a file read for its text (a diff fed to patch)


class Filesystem:
    """The machine a command would run on: its environment, its files and folders."""

    def expand_vars(self, text: str) -> str:
        return os.path.expandvars(text)

    def expand_user(self, text: str) -> str:
        return os.path.expanduser(text)

    def glob(self, pattern: str) -> list[str]:
        import glob

        return glob.glob(pattern)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def read_text(self, path: str) -> str:
        """A regular file's text (a FIFO or /dev/zero would block or never end); "" if there is none."""
        import stat

        try:
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
            with open(path, "rb", opener=lambda name, _: os.open(name, flags)) as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    return ""
                return f.read(_DIFF_LIMIT).decode("utf-8", "replace")
        except OSError:
            return ""  # a missing file: the command fails, nothing is written


#: the machine this process runs on
LOCAL = Filesystem()

_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


class Nowhere(Filesystem):
    """A machine nothing is known of: variables and ``~`` are ``unknown``, no file or folder exists."""

    def __init__(self, unknown: str):
        self.unknown = unknown

    def expand_vars(self, text: str) -> str:
        return _VARIABLE.sub(self.unknown, text)

    def expand_user(self, text: str) -> str:
        return self.unknown + text[1:] if text.startswith("~") else text

    def glob(self, pattern: str) -> list[str]:
        return []

    def is_dir(self, path: str) -> bool:
        return False

    def exists(self, path: str) -> bool:
        return False

    def read_text(self, path: str) -> str:
        return ""
