"""The audit cache: what a warm ``statesafe audit`` knows without reading or parsing a file.

Lives in ``.statesafe_cache/`` in the working directory (``STATESAFE_CACHE_DIR``
overrides), with its own ``.gitignore`` of ``*`` and a ``CACHEDIR.TAG``, so
neither git nor backup tools pick it up. Everything sits under one key made of
statesafe's version, the engine's source files (size and mtime) and the policy;
a new key replaces the old folder. Two layers:

* the index: path -> stat (size, mtime, ctime, inode) -> content hash and the
  prefilter's facts about the bytes. A file whose mtime is within two seconds
  of being recorded is not trusted by stat alone (a same-size edit in the same
  clock tick would look unchanged), only by content.
* summaries: (path, content hash) -> the engine's per-module summary, one file each.
* the last import closure, keyed by every module's path and content hash, and
  the last cross-module result, keyed by the analysed files' paths and hashes:
  a warm run neither rebuilds the import graph nor loads the engine (libcst).

Every file is written to a temp beside it and renamed into place, so a reader
never sees half a cache; a cache that cannot be read is treated as empty.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from statesafe import __version__
from statesafe.policy import Policy

DIR_NAME = ".statesafe_cache"
ENV_DIR = "STATESAFE_CACHE_DIR"
#: the layout and the pickled types; a new one replaces the folders of the others. v2: symbolic
#: values are values.py's classes (v1 held string-tagged tuples); v3: a sink carries its open() mode as a value; v4: Members; v5: DictComprehension, Item keys that are values
FORMAT = "v5"
RACY_NS = 2_000_000_000
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_MARKER = re.compile(rb"statesafe:\s*ignore|noqa\s*:[^\n]*\bfs\d")  # on lowered bytes


@dataclass
class Entry:
    digest: str
    mentions: bool  # spells a policy file name (a prefilter seed)
    marked: bool | None = None  # may hold a suppression comment; None until a run reports on the file
    imports: tuple | None = None  # (level, dotted) pairs, filled in when a run needs the import graph


def _marked(data: bytes) -> bool:
    """May hold a suppression comment (a regex over every file would cost more than the rest)."""
    low = data.lower()
    return (b"statesafe" in low or b"noqa" in low) and bool(_MARKER.search(low))


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _engine_stamp() -> str:
    """Changes whenever the auditor's code does (an installed release, or a checkout being edited)."""
    root = os.path.dirname(os.path.abspath(__file__))
    stamp = [__version__, sys.version]
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamp.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(sorted(stamp))


def key(policy: Policy, strict: bool) -> str:
    fields = (policy.destructive, policy.logs, policy.companion, policy.compiled, policy.keep_backups,
              policy.compiled_fields, policy.tracker, strict, _engine_stamp())
    return digest(repr(fields).encode())[:20]


def _write_atomic(path: str, data: bytes) -> None:
    """Temp + rename, without ``statesafe.write``: a cache needs no durability, and that writer
    fsyncs and lists the folder on every write (measured: 12x slower for 800 summaries in one
    folder, 1.3 s against 0.1 s, growing with the folder) and would lock and back up a cache
    file that a policy glob such as ``*.pickle`` happens to match."""
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        os.chmod(temp, 0o666 & ~_UMASK)  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


class Cache:
    def __init__(self, folder: str | None):
        self.folder = folder
        self.index: dict[str, tuple[tuple, Entry]] = {}
        self.closure: tuple[str, frozenset[str]] | None = None
        self.resolved: tuple[str, list] | None = None
        self.dirty = False
        self.warned = False
        if folder:
            try:
                with open(os.path.join(folder, "index.pickle"), "rb") as f:
                    self.index, self.closure, self.resolved = pickle.load(f)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
                self.index, self.closure, self.resolved = {}, None, None

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def open(cls, policy: Policy, strict: bool) -> Cache:
        top = os.environ.get(ENV_DIR) or os.path.join(os.getcwd(), DIR_NAME)
        folder = os.path.join(top, f"{FORMAT}-" + key(policy, strict))
        if not os.path.isdir(folder):
            try:
                os.makedirs(os.path.join(folder, "summaries"))
                _write_atomic(os.path.join(top, ".gitignore"), b"# written by statesafe\n*\n")
                _write_atomic(os.path.join(top, "CACHEDIR.TAG"),
                              b"Signature: 8a477f597d28d172789f06886806bc55\n# statesafe audit cache\n")
                for old in os.listdir(top):  # one key at a time: the previous ones are stale
                    if re.match(r"v\d+-", old) and os.path.join(top, old) != folder:
                        shutil.rmtree(os.path.join(top, old), ignore_errors=True)
            except OSError as exc:
                print(f"statesafe: warning: audit cache disabled: {exc}", file=sys.stderr)
                return cls.disabled()
        return cls(folder)

    def entry(self, path: str, mentions: Callable[[bytes], bool]) -> tuple[Entry, bytes | None]:
        """The file's entry, and its bytes when they had to be read (None: the stat matched)."""
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        known = self.index.get(path)
        if known is not None and known[0] == stamp:
            return known[1], None
        with open(path, "rb") as f:
            data = f.read()
        hashed = digest(data)
        if known is not None and known[1].digest == hashed:
            entry = known[1]
        else:
            entry = Entry(hashed, mentions(data))
        racy = time.time_ns() - st.st_mtime_ns < RACY_NS
        self.index[path] = ((None,) if racy else stamp, entry)
        self.dirty = True
        return entry, data

    def marked(self, path: str, read: Callable[[str], bytes]) -> bool:
        """Whether the file may hold a suppression comment: asked only of the files reported on
        (a pre-commit run reads the files beside the named ones, and need not scan them for this)."""
        entry = self.index[path][1]
        if entry.marked is None:
            entry.marked = path.endswith(".py") and _marked(read(path))
            self.dirty = True
        return entry.marked

    def set_imports(self, path: str, imports: tuple) -> None:
        self.index[path][1].imports = imports
        self.dirty = True

    def known_closure(self, key: str) -> frozenset[str] | None:
        return self.closure[1] if self.closure and self.closure[0] == key else None

    def set_closure(self, key: str, needed: frozenset[str]) -> None:
        self.closure = (key, needed)
        self.dirty = True

    def known_findings(self, key: str) -> list | None:
        return list(self.resolved[1]) if self.resolved and self.resolved[0] == key else None

    def set_findings(self, key: str, findings: list) -> None:
        self.resolved = (key, list(findings))
        self.dirty = True

    def _summary_path(self, path: str, content: str) -> str:
        return os.path.join(self.folder, "summaries", digest(f"{path}\0{content}".encode()) + ".pickle")

    def summary(self, path: str, content: str):
        if not self.folder:
            return None
        try:
            with open(self._summary_path(path, content), "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
            return None

    def put_summary(self, path: str, content: str, summary) -> None:
        if self.folder:
            self._store(self._summary_path(path, content), pickle.dumps(summary, pickle.HIGHEST_PROTOCOL))

    def save(self) -> None:
        if self.folder and self.dirty:
            self._store(os.path.join(self.folder, "index.pickle"),
                        pickle.dumps((self.index, self.closure, self.resolved), pickle.HIGHEST_PROTOCOL))
            self.dirty = False

    def _store(self, path: str, data: bytes) -> None:
        try:
            _write_atomic(path, data)
        except OSError as exc:
            if not self.warned:
                print(f"statesafe: warning: audit cache not written: {exc}", file=sys.stderr)
                self.warned = True
