"""Compiled memory: where its required fields live, how they are made, and how staleness is found.

Every compiled file carries the policy's required fields (``Policy.compiled_fields``;
by default generated_at, source_tracker_hash, posts_count, confidence_level,
coverage_notes), placed by format, the same for the writers, ``statesafe check``, the auditor
and the guard:

- ``.md`` / ``.markdown``: a front-matter block at the very top, ``---`` ... ``---``,
  one ``key: value`` per line (values as JSON scalars, which YAML reads alike).
- ``.json``: a top-level object with the fields at top level or under ``"_meta"``.
- ``.jsonl`` / ``.ndjson``: the first line is a JSON object with them at top level or
  under ``"_meta"``.
- any other suffix: front matter if the text starts with ``---``, else a JSON object,
  else a first-line JSON object.

:func:`require_fields` is what ``statesafe.write`` and ``tx.write`` call to refuse
compiled content without them; :func:`validate` lists the problems;
:func:`compiled_metadata` computes the fields from the tracker; :func:`check_compiled`
finds compiled files that are stale (their ``source_tracker_hash`` is not the current
tracker's) or malformed. The tracker of a compiled file is the nearest file named
``Policy.tracker`` in its folder or a folder above (``compiled/x.md`` -> ``./tracker``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from pathlib import Path

from statesafe import scan
from statesafe.errors import StaleError
from statesafe.policy import FileClass, Policy, load_policy

HASH_ALGORITHM = "sha256"
_HASH_RE = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
_KEY_RE = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(.*)$")
_MARKDOWN = (".md", ".markdown")
_JSON = (".json",)
_JSONL = (".jsonl", ".ndjson")


# --- making the fields -----------------------------------------------------------------

def tracker_hash(data: bytes) -> str:
    """The ``source_tracker_hash`` of a tracker's bytes: ``sha256:<hex>``."""
    return f"{HASH_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def count_posts(data: bytes) -> int | None:
    """Posts in a JSON tracker: a top-level list, or the list under ``"posts"``; None if neither."""
    try:
        tracker = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(tracker, dict):
        tracker = tracker.get("posts")
    return len(tracker) if isinstance(tracker, list) else None


def _now() -> datetime.datetime:
    """UTC now, or SOURCE_DATE_EPOCH when set (reproducible builds and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc)
    return datetime.datetime.now(datetime.timezone.utc)


def compiled_metadata(tracker_path: str | os.PathLike, *, confidence_level, coverage_notes,
                      posts_count: int | None = None, tracker_bytes: bytes | None = None) -> dict:
    """The five required fields for content built from the tracker at ``tracker_path``.

    Pass ``tracker_bytes`` when you already read the tracker (under its lock), so the hash
    describes exactly the bytes the content was built from. ``posts_count`` defaults to the
    tracker's own count (a top-level list or a ``"posts"`` list).
    """
    if tracker_bytes is None:
        try:
            with open(tracker_path, "rb") as f:
                tracker_bytes = f.read()
        except OSError as exc:  # no tracker, no content to describe: a refusal, not a traceback
            raise StaleError(f"{os.fspath(tracker_path)}: cannot read the tracker: "
                             f"{exc.strerror or exc} (errno {exc.errno})") from exc
    if posts_count is None:
        posts_count = count_posts(tracker_bytes)
        if posts_count is None:
            raise StaleError(f"{os.fspath(tracker_path)}: cannot count posts (no top-level list or "
                             f"'posts' list); pass posts_count")
    return {
        "generated_at": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_tracker_hash": tracker_hash(tracker_bytes),
        "posts_count": posts_count,
        "confidence_level": confidence_level,
        "coverage_notes": coverage_notes,
    }


def front_matter(meta: dict) -> str:
    """A markdown front-matter block carrying ``meta`` (values as JSON scalars)."""
    return "---\n" + "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in meta.items()) + "---\n"


# --- reading the fields ----------------------------------------------------------------

def _scalar(text: str):
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        if len(text) >= 2 and text[0] == text[-1] == "'":
            return text[1:-1].replace("''", "'")
        return text


def _front_matter_fields(text: str) -> dict:
    """``key: value`` pairs of a leading ``---`` block (a value may continue on indented lines)."""
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != "---":
        raise ValueError("no front matter: the file must start with a '---' line")
    fields: dict = {}
    key = None
    for line in lines[1:]:
        if line.rstrip() in ("---", "..."):
            return fields
        match = _KEY_RE.match(line)
        if match and not line[0].isspace():
            key = match[1]
            fields[key] = _scalar(match[2]) if match[2].strip() not in ("", "|", ">", "|-", ">-") else ""
        elif key is not None and line.strip():
            fields[key] = f"{fields[key]}\n{line.strip()}".lstrip("\n")  # a block or list value
    raise ValueError("front matter is not closed: no second '---' line")


def _object_fields(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    meta = value.get("_meta")
    return {**value, **meta} if isinstance(meta, dict) else value


def read_fields(path: str | os.PathLike, data: bytes) -> dict:
    """The metadata a compiled file's content carries; ValueError says why none could be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc}") from None
    suffix = Path(path).suffix.lower()
    first_line = text.split("\n", 1)[0]
    if suffix in _MARKDOWN:
        return _front_matter_fields(text)
    if suffix in _JSON:
        return _object_fields(text, "the content")
    if suffix in _JSONL:
        return _object_fields(first_line, "the first line")
    if first_line.rstrip() == "---":
        return _front_matter_fields(text)
    try:
        return _object_fields(text, "the content")
    except ValueError:
        return _object_fields(first_line, "the first line")


def _field_problems(fields: dict, required: tuple[str, ...]) -> list[str]:
    problems = []
    missing = [name for name in required if fields.get(name) in (None, "")]
    if missing:
        problems.append(f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    stamp = fields.get("generated_at")
    if "generated_at" in required and stamp not in (None, ""):
        try:
            datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"generated_at is not an ISO 8601 time: {stamp!r}")
    digest = fields.get("source_tracker_hash")
    if "source_tracker_hash" in required and digest not in (None, "") and not _HASH_RE.match(str(digest)):
        problems.append(f"source_tracker_hash is not 'sha256:<64 hex digits>': {digest!r}")
    count = fields.get("posts_count")
    if "posts_count" in required and count is not None and (
            not isinstance(count, int) or isinstance(count, bool) or count < 0):
        problems.append(f"posts_count is not a whole number >= 0: {count!r}")
    return problems


def validate(path: str | os.PathLike, data: bytes, policy: Policy) -> list[str]:
    """Why ``data`` is not acceptable content for the compiled file ``path``; [] when it is."""
    try:
        fields = read_fields(path, data)
    except ValueError as exc:
        return [str(exc)]
    return _field_problems(fields, policy.compiled_fields)


def require_fields(path: str | os.PathLike, data: bytes, policy: Policy) -> None:
    """Refuse (StaleError) compiled content that lacks the required fields: the writers call this."""
    problems = validate(path, data, policy)
    if problems:
        raise StaleError(f"{os.fspath(path)}: compiled content refused: {'; '.join(problems)} "
                         f"(required: {', '.join(policy.compiled_fields)}; see statesafe.compiled_metadata)")


# --- checking files on disk -------------------------------------------------------------

def find_tracker(compiled_path: str | os.PathLike, policy: Policy) -> Path | None:
    """The tracker a compiled file derives from: the nearest ``policy.tracker`` at or above its folder."""
    folder = Path(os.path.realpath(compiled_path)).parent
    for candidate_dir in (folder, *folder.parents):
        candidate = candidate_dir / policy.tracker
        if candidate.is_file():
            return candidate
    return None


def _same_hash(recorded, current: str) -> bool:
    match = _HASH_RE.match(str(recorded))
    return bool(match) and match[1].lower() == current.split(":", 1)[1]


def _short(digest) -> str:
    return str(digest)[:len(HASH_ALGORITHM) + 13] + "..."


def check_file(path: Path, policy: Policy, tracker_hashes: dict[Path, str] | None = None) -> list[str]:
    """Problems of one compiled file on disk: malformed content, or stale against its tracker."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [f"unreadable: {exc.strerror or exc}"]
    try:
        fields = read_fields(path, data)
    except ValueError as exc:
        return [f"malformed: {exc}"]
    problems = [f"malformed: {p}" for p in _field_problems(fields, policy.compiled_fields)]
    recorded = fields.get("source_tracker_hash")
    if problems or recorded in (None, ""):
        return problems
    tracker = find_tracker(path, policy)
    if tracker is None:
        return [f"stale: cannot tell, no tracker {policy.tracker} in its folder or above"]
    cache = {} if tracker_hashes is None else tracker_hashes
    if tracker not in cache:
        try:
            cache[tracker] = tracker_hash(tracker.read_bytes())
        except OSError as exc:
            return [f"stale: cannot tell, tracker {tracker} unreadable: {exc.strerror or exc}"]
    if not _same_hash(recorded, cache[tracker]):
        return [f"stale: built from tracker {_short(recorded)}, {tracker} is now {_short(cache[tracker])}"]
    return []


def check_compiled(directory: str | os.PathLike | None = None, *, policy: Policy | None = None
                   ) -> list[tuple[Path, str]]:
    """(path, problem) for every compiled file in or below ``directory`` that is stale or malformed.

    ``directory`` may also name one file. The policy is the one in effect for ``directory``
    (default: the working directory).
    """
    root = Path(directory if directory is not None else os.getcwd())
    policy = policy or load_policy(root if root.is_dir() else root.parent)
    if root.is_file():
        candidates = [root]  # named explicitly: checked as compiled memory whatever its name
    else:
        candidates = [folder / name for folder, names in scan.folders(root) for name in names
                      if policy.may_match_name(name) and policy.classify(folder / name) is FileClass.COMPILED]
    hashes: dict[Path, str] = {}
    return [(path, problem) for path in candidates if path.is_file()
            for problem in check_file(path, policy, hashes)]
