"""Small helpers shared by the scripts."""

import hashlib
import os
from datetime import datetime, timezone

from config import REVIEW_END, REVIEW_START


def now():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def run_id(kind, moment, source):
    return f"{kind}-{moment.strftime('%Y%m%dT%H%M%SZ')}-{hashlib.sha256(source).hexdigest()[:8]}"


def engagement_rate(post):
    m = post["metrics"]
    weighted = m["likes"] + 2 * m["replies"] + 3 * (m["reposts"] + m["quotes"])
    return round(weighted / max(m["views"], 1), 4)


def replace_region(text, body):
    block = f"{REVIEW_START}\n{body.rstrip()}\n{REVIEW_END}"
    start, end = text.find(REVIEW_START), text.find(REVIEW_END)
    if start == -1 or end < start:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:start] + block + text[end + len(REVIEW_END):]
