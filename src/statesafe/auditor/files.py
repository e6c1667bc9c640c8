"""Which files ``statesafe audit`` reads: Python files and ``SKILL.md`` manifests.

Directories are walked honouring ``.gitignore`` files (the ones inside the walk
and those above it up to the repository root) and the repository's
``.git/info/exclude``, skipping virtualenvs, site-packages, build and cache
folders. Inside a git work tree, a file git tracks is audited whatever those
say (a tracked file is part of the skill; ignore rules only keep untracked
files out). ``--exclude`` patterns have gitignore semantics (``tests/`` is the
folder and everything in it, ``*.py`` any such file, ``scripts/gen_*.py``
anchored at the audited folder) and exclude tracked files too.

A file named explicitly (as pre-commit does) is checked when it is Python (by
its ``.py`` suffix or a python shebang) or a skill manifest; any other named
file is skipped and counted, never parsed as Python.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MANIFEST_NAME = "SKILL.md"

#: Folder names never walked into (unless named explicitly as a PATH).
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "site-packages", "dist-packages",
    "__pycache__", "build", "dist", ".eggs", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".statesafe_cache", ".cache", "node_modules", "__pypackages__", ".ipynb_checkpoints",
})


def is_manifest(path: str) -> bool:
    return os.path.basename(path) == MANIFEST_NAME


def module_parts(path: str) -> list[str]:
    """A file's dotted name as the engine derives it from the path it was given.

    Here rather than in the engine so the runner's prefilter matches imports the
    engine's way without loading the engine.
    """
    stem = path[:-3] if path.endswith(".py") else path
    parts = [p for p in stem.split("/") if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return parts


def nearest_module(importer: str, parts: list[str], exists) -> str | None:
    """The file an absolute import of ``parts`` names from ``importer``'s folder or a folder above it."""
    rel = "/".join(parts)
    folder = importer.rpartition("/")[0]
    while True:
        stem = f"{folder}/{rel}" if folder else rel
        if exists(stem + ".py"):
            return stem + ".py"
        if exists(stem + "/__init__.py"):
            return stem + "/__init__.py"
        if not folder or folder in (".", "/"):
            return None
        folder = folder.rpartition("/")[0]


def is_test_code(path: str) -> bool:
    """A test module or conftest.py, named the way pytest collects them (test_*.py, *_test.py).

    Writes there arrange fixtures (a tracker seeded in tmp_path, a log corrupted on purpose):
    the auditor reads such files, so helpers they call are followed, but reports nothing in
    them, as the runtime guard lets a test's own writes through under pytest.
    """
    name = path.rsplit("/", 1)[-1]
    return name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")))


def is_candidate(name: str) -> bool:
    return name.endswith(".py") or name == MANIFEST_NAME


_PYTHON_SHEBANG = re.compile(rb"^#![^\n]*\bpython[0-9.]*\b")


def is_python_or_manifest(path: str) -> bool:
    """A named file the auditor reads: a ``.py`` file, a manifest, or a script with a python shebang."""
    if is_candidate(os.path.basename(path)):
        return True
    try:
        with open(path, "rb") as f:
            return bool(_PYTHON_SHEBANG.match(f.read(128)))
    except OSError:
        return True  # let the run report that it cannot read it


def _skipped_dir(entry: os.DirEntry) -> bool:
    name = entry.name
    return (name in SKIPPED_DIRS or name.endswith(".egg-info")
            or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")))  # a virtualenv by any name


# --- .gitignore ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern
    negated: bool
    dir_only: bool
    anchored: bool  # matched against the path below the .gitignore's folder, else against the name


def _translate(pattern: str) -> str:
    """A gitignore glob as a regex: ``*`` and ``?`` stop at ``/``, ``**`` crosses folders."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_gitignore(text: str) -> list[_Rule]:
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.endswith("\\ "):
            line = line.rstrip()
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith("\\"):  # "\#name", "\!name"
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        rules.append(_Rule(re.compile(_translate(line) + r"\Z", re.S), negated, dir_only, anchored))
    return rules


class IgnoreStack:
    """The .gitignore rules in force at one folder: (folder, rules) pairs, outermost first."""

    def __init__(self, layers: tuple[tuple[str, tuple[_Rule, ...]], ...] = ()):
        self.layers = layers

    def enter(self, folder: str) -> IgnoreStack:
        try:
            with open(os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace") as f:
                rules = tuple(parse_gitignore(f.read()))
        except OSError:
            return self
        return IgnoreStack(self.layers + ((os.path.join(folder, ""), rules),)) if rules else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Git's answer: the last matching rule decides, deeper .gitignore files last."""
        if not self.layers:
            return False
        verdict = False
        name = os.path.basename(path)
        for folder, rules in self.layers:
            if not path.startswith(folder):  # layers hold absolute folders ending in a separator
                continue
            below = path[len(folder):].replace(os.sep, "/")
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(below if rule.anchored else name):
                    verdict = not rule.negated
        return verdict


def _repository_top(start: str) -> str | None:
    """The work tree's top folder at or above ``start`` (the first holding ``.git``), or None."""
    folder = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _stack_above(root: str, top: str | None) -> IgnoreStack:
    """The repository's info/exclude and the .gitignore files in the folders above ``root``, up to its top."""
    folder = os.path.abspath(root)
    if top is None:
        return IgnoreStack()  # not inside a repository: only the walk's own .gitignore files
    stack = IgnoreStack()
    try:
        with open(os.path.join(top, ".git", "info", "exclude"), encoding="utf-8", errors="replace") as f:
            rules = tuple(parse_gitignore(f.read()))
        if rules:
            stack = IgnoreStack(((os.path.join(top, ""), rules),))
    except OSError:
        pass  # no info/exclude (or .git is a file: a worktree or submodule)
    chain = []
    while folder != top:
        folder = os.path.dirname(folder)
        chain.append(folder)
    for folder in reversed(chain):
        stack = stack.enter(folder)
    return stack


def tracked_files(top: str, root: str) -> set[str] | None:
    """Absolute paths of the files git tracks under ``root`` (its index), or None when git cannot say."""
    try:
        result = subprocess.run(["git", "-C", root, "ls-files", "-z", "--full-name", "--", "."],
                                capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return {os.path.join(top, os.fsdecode(name)) for name in result.stdout.split(b"\0") if name}


# --- the walk --------------------------------------------------------------------------------

def _display(root: str, rel: str) -> str:
    return rel if root in (".", "") else f"{root.rstrip('/')}/{rel}"


def _walk(root: str, excludes: Sequence[str]) -> Iterable[str]:
    start = os.path.abspath(root)
    shown = root.replace(os.sep, "/")
    top = _repository_top(start)
    excluded = IgnoreStack(((os.path.join(start, ""), tuple(parse_gitignore("\n".join(excludes)))),)) \
        if excludes else IgnoreStack()
    tracked = tracked_files(top, start) if top is not None else None
    seen: set[str] = set()
    pending = [(start, "", _stack_above(start, top).enter(start))]
    while pending:
        folder, rel_folder, stack = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_folder}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if _skipped_dir(entry) or stack.ignored(entry.path, True) or excluded.ignored(entry.path, True):
                    continue
                pending.append((entry.path, rel + "/", stack.enter(entry.path)))
            elif (is_candidate(entry.name) and entry.is_file()
                  and not stack.ignored(entry.path, False) and not excluded.ignored(entry.path, False)):
                seen.add(entry.path)
                yield _display(shown, rel)
    for path in sorted(tracked or ()):  # tracked files the ignore rules (or skipped folders) kept out
        if path not in seen and is_candidate(os.path.basename(path)) and os.path.isfile(path) \
                and not _excluded_tracked(excluded, start, path):
            yield _display(shown, os.path.relpath(path, start).replace(os.sep, "/"))


def _excluded_tracked(excluded: IgnoreStack, start: str, path: str) -> bool:
    """--exclude applies to tracked files too: the file or any folder above it (up to the walk's start)."""
    if excluded.ignored(path, False):
        return True
    folder = os.path.dirname(path)
    while len(folder) > len(start):
        if excluded.ignored(folder, True):
            return True
        folder = os.path.dirname(folder)
    return False


def _named(path: str) -> str:
    """A path as the user named it, posix-style, relative to the working directory when below it."""
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            path = rel
    return os.path.normpath(path).replace(os.sep, "/")


def discover(paths: Sequence[str], excludes: Sequence[str] = ()) -> tuple[list[str], list[str], list[str]]:
    """(files, explicit, skipped): every file to audit, sorted; those the user named one by one;
    named files that are neither Python nor a manifest (not audited)."""
    found: set[str] = set()
    explicit: list[str] = []
    skipped: list[str] = []
    for path in paths or ["."]:
        named = _named(path)
        if os.path.isdir(named):
            found.update(_walk(named, excludes))
        elif is_python_or_manifest(named):
            found.add(named)
            explicit.append(named)
        else:
            skipped.append(named)
    return sorted(found), explicit, skipped


def siblings(files: Iterable[str]) -> list[str]:
    """Candidate files beside the given ones: the context a pre-commit run resolves helpers in."""
    found = set()
    for folder in {os.path.dirname(f) for f in files}:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        found.update(f"{folder}/{name}" if folder else name for name in names if is_candidate(name))
    return sorted(found)
