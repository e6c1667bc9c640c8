"""Rebuild the companion markdown (posts_by_date.md, posts_by_topic.md, comments.md) from the tracker.

Companions are views of the tracker: each is rendered whole in memory and put
in place with statesafe.write (temp + atomic rename), never patched, so a
failed rebuild leaves the previous copy on disk (FAILSAFE.md, "Companion markdown").

    python scripts/render_companions.py --dir WORKDIR
"""

from __future__ import annotations

import sys
from collections import defaultdict

import statesafe

from skillfiles import TRACKER, parser, read_json

COMPANIONS = ("posts_by_date.md", "posts_by_topic.md", "comments.md")


def _line(post: dict) -> str:
    m = post["metrics"]
    tier = post.get("review", {}).get("tier")
    badge = f" · {tier}" if tier else ""
    return (f"- **{post['posted_at'][:10]}** [{post['format']}] {post['text']} "
            f"— {m['views']} views, {m['likes']} likes, {m['replies']} replies{badge}")


def _header(title: str, tracker: dict) -> list[str]:
    return [f"# {title}", "", f"Generated from {TRACKER} (last refreshed {tracker['last_refreshed']}). "
            "Do not edit: rebuild with scripts/render_companions.py.", ""]


def by_date(tracker: dict) -> str:
    months: dict[str, list[dict]] = defaultdict(list)
    for post in tracker["posts"]:
        months[post["posted_at"][:7]].append(post)
    lines = _header("Posts by date", tracker)
    for month in sorted(months, reverse=True):
        lines += [f"## {month}", ""]
        lines += [_line(post) for post in sorted(months[month], key=lambda p: p["posted_at"], reverse=True)]
        lines.append("")
    return "\n".join(lines)


def by_topic(tracker: dict) -> str:
    topics: dict[str, list[dict]] = defaultdict(list)
    for post in tracker["posts"]:
        topics[post["topic"]].append(post)
    lines = _header("Posts by topic", tracker)
    for topic in sorted(topics):
        lines += [f"## {topic} ({len(topics[topic])} posts)", ""]
        lines += [_line(post) for post in sorted(topics[topic], key=lambda p: p["posted_at"], reverse=True)]
        lines.append("")
    return "\n".join(lines)


def comments(tracker: dict) -> str:
    lines = _header("Comments", tracker)
    for post in sorted(tracker["posts"], key=lambda p: p["posted_at"], reverse=True):
        if not post["comments"]:
            continue
        lines += [f"## {post['posted_at'][:10]} — {post['text'][:60]}", ""]
        lines += [f"- {c['at']} **{c['author']}**: {c['text']}" for c in sorted(post["comments"], key=lambda c: c["at"])]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    tracker = read_json(args.dir / TRACKER)
    for name, render in zip(COMPANIONS, (by_date, by_topic, comments)):
        statesafe.write(args.dir / name, render(tracker))
    print(f"rebuilt {', '.join(COMPANIONS)} from {len(tracker['posts'])} posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
