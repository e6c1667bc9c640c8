"""Rebuild posts_by_date.md, posts_by_topic.md and comments.md from the tracker (and a metrics CSV)."""

import argparse
import csv
import os as o
from collections import defaultdict
from pathlib import Path

from config import TRACKER_FILE
from storage import load_tracker

TOPIC_ARCHIVE = "posts_by_topic.md"


def line(post):
    m = post["metrics"]
    tier = post.get("review", {}).get("tier")
    badge = f" · {tier}" if tier else ""
    return (f"- **{post['posted_at'][:10]}** [{post['format']}] {post['text']} "
            f"— {m['views']} views, {m['likes']} likes, {m['replies']} replies{badge}")


def header(title, tracker):
    return [f"# {title}", "", f"Generated from {TRACKER_FILE} (last refreshed {tracker['last_refreshed']}). "
            "Do not edit: rebuild with scripts/render_companions.py.", ""]


def by_date(tracker):
    months = defaultdict(list)
    for post in tracker["posts"]:
        months[post["posted_at"][:7]].append(post)
    lines = header("Posts by date", tracker)
    for month in sorted(months, reverse=True):
        lines += [f"## {month}", ""]
        lines += [line(post) for post in sorted(months[month], key=lambda p: p["posted_at"], reverse=True)]
        lines.append("")
    return "\n".join(lines)


def by_topic(tracker):
    topics = defaultdict(list)
    for post in tracker["posts"]:
        topics[post["topic"]].append(post)
    lines = header("Posts by topic", tracker)
    for topic in sorted(topics):
        lines += [f"## {topic} ({len(topics[topic])} posts)", ""]
        lines += [line(post) for post in sorted(topics[topic], key=lambda p: p["posted_at"], reverse=True)]
        lines.append("")
    return "\n".join(lines)


def comments(tracker):
    lines = header("Comments", tracker)
    for post in sorted(tracker["posts"], key=lambda p: p["posted_at"], reverse=True):
        if not post["comments"]:
            continue
        lines += [f"## {post['posted_at'][:10]} — {post['text'][:60]}", ""]
        lines += [f"- {c['at']} **{c['author']}**: {c['text']}" for c in sorted(post["comments"], key=lambda c: c["at"])]
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    tracker = load_tracker(o.path.join(args.dir, TRACKER_FILE))

    with open(f"{args.dir}/posts_by_date.md", "w", encoding="utf-8") as f:
        f.write(by_date(tracker))

    (Path(args.dir) / TOPIC_ARCHIVE).write_text(by_topic(tracker), encoding="utf-8")

    fd = o.open(o.path.join(args.dir, "comments.md"), o.O_WRONLY | o.O_CREAT | o.O_TRUNC, 0o644)
    with o.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(comments(tracker))

    with open(o.path.join(args.dir, "metrics_export.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "posted_at", "views", "likes", "replies", "reposts", "quotes"])
        for post in tracker["posts"]:
            m = post["metrics"]
            writer.writerow([post["id"], post["posted_at"], m["views"], m["likes"], m["replies"],
                             m["reposts"], m["quotes"]])
    print(f"rebuilt posts_by_date.md, posts_by_topic.md, comments.md from {len(tracker['posts'])} posts")


if __name__ == "__main__":
    main()
