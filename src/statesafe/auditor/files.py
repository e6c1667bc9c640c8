"""Which files ``statesafe audit`` reads: ``.py`` files and ``SKILL.md`` manifests.

Directories are walked honouring ``.gitignore`` files (the ones inside the walk
and those above it up to the repository root), skipping virtualenvs,
site-packages, build and cache folders and anything ``--exclude`` names. A file
named explicitly (as pre-commit does) is always checked: pre-commit has already
decided it is Python, shebang scripts without a suffix included.
"""

from __future__ import annotations

import fnmatch
import os
import re
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


def is_candidate(name: str) -> bool:
    return name.endswith(".py") or name == MANIFEST_NAME


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


def _stack_above(root: str) -> IgnoreStack:
    """.gitignore files in the folders above ``root``, up to the repository's top (if any)."""
    chain, folder = [], os.path.abspath(root)
    if os.path.exists(os.path.join(folder, ".git")):
        return IgnoreStack()  # the walk starts at the repository's top
    while True:
        parent = os.path.dirname(folder)
        if parent == folder:
            return IgnoreStack()  # not inside a repository: only the walk's own .gitignore files
        folder = parent
        chain.append(folder)
        if os.path.exists(os.path.join(folder, ".git")):
            break
    stack = IgnoreStack()
    for folder in reversed(chain):
        stack = stack.enter(folder)
    return stack


# --- the walk --------------------------------------------------------------------------------

def _excluded(rel: str, name: str, excludes: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(name, glob) for glob in excludes)


def _display(root: str, rel: str) -> str:
    return rel if root in (".", "") else f"{root.rstrip('/')}/{rel}"


def _walk(root: str, excludes: Sequence[str]) -> Iterable[str]:
    top = os.path.abspath(root)
    pending = [(top, "", _stack_above(top).enter(top))]
    while pending:
        folder, rel_folder, stack = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_folder}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if _skipped_dir(entry) or stack.ignored(entry.path, True) or _excluded(rel, entry.name, excludes):
                    continue
                pending.append((entry.path, rel + "/", stack.enter(entry.path)))
            elif (is_candidate(entry.name) and entry.is_file()
                  and not stack.ignored(entry.path, False) and not _excluded(rel, entry.name, excludes)):
                yield _display(root.replace(os.sep, "/"), rel)


def _named(path: str) -> str:
    """A path as the user named it, posix-style, relative to the working directory when below it."""
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            path = rel
    return os.path.normpath(path).replace(os.sep, "/")


def discover(paths: Sequence[str], excludes: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(files, explicit): every file to audit, sorted, and those the user named one by one."""
    found: set[str] = set()
    explicit: list[str] = []
    for path in paths or ["."]:
        named = _named(path)
        if os.path.isdir(named):
            found.update(_walk(named, excludes))
        else:
            found.add(named)
            explicit.append(named)
    return sorted(found), explicit


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
