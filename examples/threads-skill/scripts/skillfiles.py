"""The skill's file names, how its scripts read them, and the scoring they share.

Reads are plain; every write in this skill goes through statesafe (see
FAILSAFE.md), so this module never writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

TRACKER = "threads_daily_tracker.json"
STYLE_GUIDE = "style_guide.md"
CONCEPT_LIBRARY = "concept_library.md"
BRAND_VOICE = "brand_voice.md"
CONFIG = "threads_booster_config.json"
REFRESH_LOG = "threads_refresh.log"
LEARNINGS_LOG = "threads_skill_learnings.log"
API_EXPORT = "api_export.json"

#: Regions of a hand-written markdown file that /review regenerates; the rest is the user's.
REVIEW_START = "<!-- review:start -->"
REVIEW_END = "<!-- review:end -->"


def parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with the --dir every script takes."""
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--dir", type=Path, default=Path("."),
                     help="the skill's working directory (holds the tracker)")
    return cli


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path}: not found (is --dir the skill's working directory?)") from None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{path}: not valid JSON: {exc}") from None


def to_json(data) -> str:
    """The skill's JSON layout: UTF-8 text kept readable, one key per line, a final newline."""
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SystemExit(f"{path}: not found (is --dir the skill's working directory?)") from None


def now() -> datetime:
    """The current UTC time, or SOURCE_DATE_EPOCH when set (reproducible runs and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def run_id(kind: str, moment: datetime, source: bytes) -> str:
    """A log entry id: readable, and distinct for two runs on different inputs in one second."""
    return f"{kind}-{moment.strftime('%Y%m%dT%H%M%SZ')}-{hashlib.sha256(source).hexdigest()[:8]}"


def engagement_rate(post: dict) -> float:
    """Weighted interactions per view: replies and reposts spread a post further than likes."""
    m = post["metrics"]
    weighted = m["likes"] + 2 * m["replies"] + 3 * (m["reposts"] + m["quotes"])
    return round(weighted / max(m["views"], 1), 4)


def replace_region(text: str, body: str) -> str:
    """``text`` with its review region replaced by ``body`` (appended when it has none)."""
    block = f"{REVIEW_START}\n{body.rstrip()}\n{REVIEW_END}"
    start, end = text.find(REVIEW_START), text.find(REVIEW_END)
    if start == -1 or end < start:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:start] + block + text[end + len(REVIEW_END):]
