"""The policy model: the one place that decides which class a path belongs to.

Writers, the auditor and the guard all ask :meth:`Policy.classify`; none of them
matches names on its own. The policy comes from the nearest of, walking up from
the working directory: ``statesafe.toml``, ``[tool.statesafe]`` in
``pyproject.toml``, or a policy document (``FAILSAFE.md``) read from its
"Files under this policy" lists. With none of them, FAILSAFE.md's own lists apply.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import os
import re
from pathlib import Path

from statesafe.errors import ConfigError
from statesafe.names import BACKUP_MARK, parse_backup


class FileClass(str, enum.Enum):
    DESTRUCTIVE = "destructive"
    LOG = "append-only log"
    COMPANION = "companion"
    COMPILED = "compiled"
    BACKUP = "backup"


#: Config keys for the four pattern lists, in the order a name is tried.
CLASS_KEYS = {
    "destructive": FileClass.DESTRUCTIVE,
    "append-only": FileClass.LOG,
    "companion": FileClass.COMPANION,
    "compiled": FileClass.COMPILED,
}

DEFAULTS: dict[str, object] = {
    "destructive": (
        "threads_daily_tracker.json",
        "style_guide.md",
        "concept_library.md",
        "brand_voice.md",
        "threads_booster_config.json",
    ),
    "append-only": ("threads_freshness.log", "threads_refresh.log", "threads_skill_learnings.log"),
    "companion": ("posts_by_date.md", "posts_by_topic.md", "comments.md"),
    "compiled": (
        "compiled/account_wiki.md",
        "compiled/post_feature_index.jsonl",
        "compiled/cluster_wiki.json",
        "compiled/exemplar_bank.md",
        "compiled/recent_window.md",
    ),
    "keep-backups": 5,
    "compiled-fields": ("generated_at", "source_tracker_hash", "posts_count", "confidence_level", "coverage_notes"),
    "tracker": "threads_daily_tracker.json",
}

KEYS = tuple(DEFAULTS) + ("policy-document",)
CONFIG_NAME = "statesafe.toml"
DOCUMENT_NAME = "FAILSAFE.md"
DEFAULT_SOURCE = "built-in default (FAILSAFE.md 1.0.0)"
_GLOB_CHARS = re.compile(r"[*?\[]")


class _Pattern:
    """One pattern split into path components (the last one the file name)."""

    __slots__ = ("parts", "file_class", "_literal")

    def __init__(self, parts: tuple[str, ...], file_class: FileClass):
        self.parts = parts
        self.file_class = file_class
        self._literal = list(parts) if not any(_GLOB_CHARS.search(part) for part in parts) else None

    def matches(self, parts: list[str]) -> bool:
        n = len(self.parts)
        if self._literal is not None:  # most patterns: a plain comparison, no fnmatch
            return parts[-n:] == self._literal
        return len(parts) >= n and all(
            fnmatch.fnmatchcase(have, want) for have, want in zip(parts[-n:], self.parts)
        )


class Policy:
    """An effective policy: four pattern lists plus the rules that go with them.

    A plain class, not a dataclass: this module is on the guard's start-up path and
    dataclasses costs more to import than the whole guard. Equal policies enforce the
    same rules, wherever they came from.
    """

    __slots__ = ("destructive", "logs", "companion", "compiled", "keep_backups", "compiled_fields",
                 "tracker", "sources", "root", "_entries", "_by_name", "_globbed")

    def __init__(self, *, destructive: tuple[str, ...], logs: tuple[str, ...], companion: tuple[str, ...],
                 compiled: tuple[str, ...], keep_backups: int, compiled_fields: tuple[str, ...], tracker: str,
                 sources: dict[str, str] | None = None,
                 root: Path | None = None):
        self.destructive = destructive
        self.logs = logs
        self.companion = companion
        self.compiled = compiled
        self.keep_backups = keep_backups
        self.compiled_fields = compiled_fields
        self.tracker = tracker
        #: where each key came from: a file path (absent = DEFAULT_SOURCE)
        self.sources = sources or {}
        #: directory of the config that defined this policy (None for the default)
        self.root = root
        self._entries = tuple(
            _Pattern(tuple(p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")), cls)
            for patterns, cls in ((destructive, FileClass.DESTRUCTIVE), (logs, FileClass.LOG),
                                  (companion, FileClass.COMPANION), (compiled, FileClass.COMPILED))
            for pattern in patterns)
        self._by_name: dict[str, list[_Pattern]] = {}
        for entry in self._entries:
            if not _GLOB_CHARS.search(entry.parts[-1]):
                self._by_name.setdefault(entry.parts[-1], []).append(entry)
        self._globbed = tuple(e for e in self._entries if _GLOB_CHARS.search(e.parts[-1]))

    def _rules(self) -> tuple:
        return (self.destructive, self.logs, self.companion, self.compiled, self.keep_backups,
                self.compiled_fields, self.tracker)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self._rules() == other._rules()

    def __hash__(self) -> int:
        return hash(self._rules())

    def __repr__(self) -> str:
        return f"Policy(destructive={self.destructive!r}, logs={self.logs!r}, ...; root={self.root!r})"

    def file_names(self) -> tuple[tuple[str, bool], ...]:
        """(last component, whether it is a glob) of every pattern: for byte-level prefilters."""
        return tuple((e.parts[-1], bool(_GLOB_CHARS.search(e.parts[-1]))) for e in self._entries)

    def folder_names(self) -> tuple[str, ...]:
        """The literal folder parts of the patterns (``compiled`` of ``compiled/*.md``): folders that
        hold policy files by name, for byte-level prefilters of code that may remove them."""
        return tuple(dict.fromkeys(part for e in self._entries for part in e.parts[:-1]
                                   if not _GLOB_CHARS.search(part)))

    def literal_patterns(self) -> tuple[str, ...]:
        """The patterns without any glob: paths that can be looked up directly under a root."""
        return tuple("/".join(e.parts) for e in self._entries
                     if not any(_GLOB_CHARS.search(part) for part in e.parts))

    def may_match_name(self, name: str) -> bool:
        """Cheap pre-check on a bare file name: False means no path ending in it is a policy file."""
        if name in self._by_name or BACKUP_MARK in name:
            return True
        return bool(self._globbed) and any(fnmatch.fnmatchcase(name, p.parts[-1]) for p in self._globbed)

    def classify_name(self, path: str | bytes | os.PathLike) -> FileClass | None:
        """Class of a path taken as written (no filesystem access): for names in source code."""
        text = os.fsdecode(path).replace("\\", "/")
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if not parts:
            return None
        name = parts[-1]
        for entry in self._by_name.get(name, ()):
            if entry.matches(parts):
                return entry.file_class
        for entry in self._globbed:
            if entry.matches(parts):
                return entry.file_class
        if BACKUP_MARK in name:
            parsed = parse_backup(name)
            if parsed and self.classify_name("/".join(parts[:-1] + [parsed.base])):
                return FileClass.BACKUP
        return None

    def classify_tree(self, path: str) -> FileClass | None:
        """Class of the policy files a folder holds by name alone, taken as written (no filesystem access).

        For code read statically (``shutil.rmtree('compiled')``): a folder holds policy
        files when a pattern's folder part ends in its name (``compiled/*.md``), and the
        working directory itself (``.``, the empty path) holds every pattern's files. A
        pattern with no folder part could match in any folder, so it alone does not make
        a folder hold a policy file. Destructive files first, then logs, companions, compiled.
        """
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        found = set()
        for entry in self._entries:
            if not parts:
                found.add(entry.file_class)
                continue
            for end in range(1, len(entry.parts)):  # the folder is entry.parts[:end]
                held = entry.parts[:end]
                if len(parts) >= end and all(fnmatch.fnmatchcase(have, want)
                                             for have, want in zip(parts[-end:], held)):
                    found.add(entry.file_class)
                    break
        return next((cls for cls in FileClass if cls in found), None)

    def classify_partial(self, text: str, unknown: str = "\x00") -> tuple[FileClass, bool, str] | None:
        """A path known only in part (``unknown`` marks each run of characters not known
        statically: ``logs/<unknown>.md``) against the patterns: (class, always, pattern) for the
        first pattern every value can match (always True), else for one some value may match
        (always False); None when no value can match any pattern.

        An unknown run stands for characters within one path component (a date, a key, a
        slug); a component that is wholly unknown may be any folder. Destructive first.
        """
        parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts:
            return None
        maybe = None
        for entry in sorted(self._entries, key=lambda e: list(FileClass).index(e.file_class)):
            n = len(entry.parts)
            have = parts[-n:]
            if len(have) < n:  # fewer components than the pattern: only an unknown first one may hide folders
                if not parts[0].strip(unknown) == "":
                    continue
                have = [unknown] * (n - len(have)) + have
            verdicts = [_component_match(got, want, unknown) for got, want in zip(have, entry.parts)]
            if "never" in verdicts:
                continue
            if all(v == "always" for v in verdicts):
                return entry.file_class, True, "/".join(entry.parts)
            if maybe is None:
                maybe = (entry.file_class, False, "/".join(entry.parts))
        return maybe

    def classify(self, path: str | bytes | os.PathLike) -> FileClass | None:
        """Class of a real path, after resolving symlinks (a link to the tracker is the tracker)."""
        return self.classify_name(os.path.realpath(os.fsdecode(path)))

    def describe(self) -> list[tuple[str, object, str]]:
        """(key, value, source) rows for ``statesafe policy``."""
        values = {"destructive": self.destructive, "append-only": self.logs, "companion": self.companion,
                  "compiled": self.compiled, "keep-backups": self.keep_backups,
                  "compiled-fields": self.compiled_fields, "tracker": self.tracker}
        return [(key, value, self.sources.get(key, DEFAULT_SOURCE)) for key, value in values.items()]


def _tokens(text: str, unknown: str | None) -> list[str]:
    """A component as match tokens: "*" any run, "?" any one character, "[" a class, else a literal
    character. ``unknown`` (in a path known in part) is any run; in a pattern, ``*``/``?``/``[...]`` are."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if unknown is not None:
            out.append("*" if c == unknown else "=" + c)
        elif c in "*?":
            out.append(c)
        elif c == "[" and "]" in text[i + 2:]:
            out.append("[")
            i = text.index("]", i + 2)
        else:
            out.append("=" + c)
        i += 1
    return out


def _intersects(a: list[str], b: list[str]) -> bool:
    """Whether two token lists can match one common string (a small DP over both)."""
    memo: dict[tuple[int, int], bool] = {}

    def one(x: str, y: str) -> bool:  # two one-character tokens that may be the same character
        return x[0] != "=" or y[0] != "=" or x == y

    def f(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            memo[key] = False
            if i == len(a) and j == len(b):
                memo[key] = True
            elif i < len(a) and a[i] == "*":
                memo[key] = f(i + 1, j) or (j < len(b) and f(i, j + 1))
            elif j < len(b) and b[j] == "*":
                memo[key] = f(i, j + 1) or (i < len(a) and f(i + 1, j))
            elif i < len(a) and j < len(b):
                memo[key] = one(a[i], b[j]) and f(i + 1, j + 1)
        return memo[key]

    return f(0, 0)


def _component_match(got: str, want: str, unknown: str) -> str:
    """"always", "never" or "maybe": does every / no / some value of ``got`` match the glob ``want``?"""
    if unknown not in got:
        return "always" if fnmatch.fnmatchcase(got, want) else "never"
    if not _intersects(_tokens(got, unknown), _tokens(want, None)):
        return "never"
    # With only literals and "*" in the glob, fnmatch over the marked text is exact inclusion:
    # each unknown run must fall inside a "*" (no literal of the glob can be the marker).
    if not re.search(r"[?\[]", want) and fnmatch.fnmatchcase(got, want):
        return "always"
    return "maybe"


def _from_values(values: dict, sources: dict[str, str], root: Path | None) -> Policy:
    return Policy(
        destructive=tuple(values["destructive"]),
        logs=tuple(values["append-only"]),
        companion=tuple(values["companion"]),
        compiled=tuple(values["compiled"]),
        keep_backups=int(values["keep-backups"]),
        compiled_fields=tuple(values["compiled-fields"]),
        tracker=str(values["tracker"]),
        sources=sources,
        root=root,
    )


def default_policy() -> Policy:
    return _from_values(dict(DEFAULTS), {}, None)


# --- reading a policy document (FAILSAFE.md) ---------------------------------------------

_HEADINGS = (("destructive", "destructive"), ("append-only", "append-only"),
             ("companion", "companion"), ("compiled", "compiled"))
_TICKED = re.compile(r"`([^`]+)`")


def parse_document(path: Path) -> dict[str, object]:
    """The policy keys a FAILSAFE.md-style document states.

    The lists come from the bullets under "Files under this policy", grouped by
    the line that introduces each group ("Destructive writes — ...:"); the
    keep-count, the compiled fields and the tracker come from the prose when stated.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read policy document: {exc}") from None
    section = re.search(r"^#+\s*Files under this policy\s*$(.*?)(?=^#{1,2}\s|\Z)", text, re.M | re.S | re.I)
    if not section:
        raise ConfigError(path, "no 'Files under this policy' section: not a policy document")
    found: dict[str, object] = {}
    current = None
    for line in section.group(1).splitlines():
        stripped = line.strip()
        if stripped.startswith(("-", "*")) and current:
            names = _TICKED.findall(stripped)
            if names:
                found.setdefault(current, []).append(names[0])
        elif stripped and not stripped.startswith("---"):
            lowered = stripped.lower()
            current = next((key for key, word in _HEADINGS if lowered.startswith(word)), None)
            if current is None:
                raise ConfigError(path, f"unrecognised file group {stripped!r} under 'Files under this policy'")
    if not found:
        raise ConfigError(path, "'Files under this policy' lists no files")
    found = {key: tuple(names) for key, names in found.items()}
    keep = re.search(r"keep at most the \**(\d+) most recent", text, re.I)
    if keep:
        found["keep-backups"] = int(keep.group(1))
    fields = re.search(r"must include ([^\n]+)", text, re.I)
    if fields and len(_TICKED.findall(fields.group(1))) > 1:
        found["compiled-fields"] = tuple(_TICKED.findall(fields.group(1)))
    tracker = re.search(r"derived from `([^`]+)`", text, re.I)
    if tracker:
        found["tracker"] = tracker.group(1)
    return found


# --- reading a config file -------------------------------------------------------------

def _load_toml(path: Path) -> dict:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"invalid TOML: {exc}") from None


def _check(path: Path, table: dict) -> dict:
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(path, f"unknown key {key!r} (known: {', '.join(KEYS)})")
        if key in CLASS_KEYS or key == "compiled-fields":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip("/") for v in value):
                raise ConfigError(path, f"{key!r} must be a list of non-empty strings, got {value!r}")
        elif key == "keep-backups":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(path, f"'keep-backups' must be a whole number >= 1, got {value!r}")
        elif not isinstance(value, str) or not value:
            raise ConfigError(path, f"{key!r} must be a non-empty string, got {value!r}")
    return table


def _policy_from_table(path: Path, table: dict) -> Policy:
    table = _check(path, table)
    values = dict(DEFAULTS)
    sources: dict[str, str] = {}
    document = table.get("policy-document")
    if document:
        doc_path = (path.parent / document)
        if not doc_path.is_file():
            raise ConfigError(path, f"'policy-document' names {document!r}, which is not a file")
        for key, value in parse_document(doc_path).items():
            values[key], sources[key] = value, str(doc_path)
    for key, value in table.items():
        if key in DEFAULTS:
            values[key] = tuple(value) if isinstance(value, list) else value
            sources[key] = str(path)
    return _from_values(values, sources, path.parent)


def policy_from_document(path: Path) -> Policy:
    values = dict(DEFAULTS)
    found = parse_document(path)
    values.update(found)
    return _from_values(values, {key: str(path) for key in found}, path.parent)


def load_file(path: Path) -> Policy:
    """The policy one file defines: statesafe.toml, a pyproject.toml or a policy document."""
    path = Path(path)
    if path.name == "pyproject.toml":
        table = _load_toml(path).get("tool", {}).get("statesafe")
        if table is None:
            raise ConfigError(path, "no [tool.statesafe] table")
        if not isinstance(table, dict):
            raise ConfigError(path, "[tool.statesafe] must be a table")
        return _policy_from_table(path, table)
    if path.suffix == ".toml":
        return _policy_from_table(path, _load_toml(path))
    return policy_from_document(path)


def find_source(start: Path) -> Path | None:
    """The nearest policy source at or above ``start``, or None."""
    for directory in (start, *start.parents):
        found = source_in(directory)
        if found is not None:
            return found
    return None


def source_in(directory: Path) -> Path | None:
    """The policy source of this folder itself (not above it), or None: statesafe.toml, then
    pyproject.toml with a [tool.statesafe] table, then FAILSAFE.md."""
    candidate = directory / CONFIG_NAME
    if candidate.is_file():
        return candidate
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file() and b"[tool.statesafe" in pyproject.read_bytes():
        return pyproject
    document = directory / DOCUMENT_NAME
    if document.is_file():
        return document
    return None


@functools.lru_cache(maxsize=64)
def _load_cached(start: str) -> Policy:
    source = find_source(Path(start))
    return load_file(source) if source else default_policy()


#: absolute directory as given -> policy: skips resolving the same working directory on every
#: call (the writers and the guard ask on every append or open); cleared with load_policy's cache
_by_given: dict[str, Policy] = {}
_BY_GIVEN_MAX = 256


def load_policy(start: str | os.PathLike | None = None) -> Policy:
    """The effective policy for ``start`` (default: the working directory); cached per directory.

    Raises ConfigError, naming the file and the problem, when the nearest source is broken.
    """
    given = os.fspath(start) if start is not None else os.getcwd()
    found = _by_given.get(given) if isinstance(given, str) and os.path.isabs(given) else None
    if found is None:
        found = _load_cached(os.path.realpath(given))
        if isinstance(given, str) and os.path.isabs(given):
            if len(_by_given) >= _BY_GIVEN_MAX:
                _by_given.clear()
            _by_given[given] = found
    return found


def _clear_caches() -> None:
    _by_given.clear()
    _load_cached.cache_clear()


load_policy.cache_clear = _clear_caches  # type: ignore[attr-defined]
