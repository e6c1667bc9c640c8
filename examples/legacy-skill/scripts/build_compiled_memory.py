"""Rebuild the compiled memory under compiled/ from the tracker."""

import argparse
import hashlib
import json
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path
from statistics import median

from config import BOOSTER_CONFIG, BRAND_VOICE_FILE, COMPILED_DIR, REVIEW_END, REVIEW_START, STYLE_GUIDE_FILE, TRACKER_FILE
from utils import engagement_rate, iso, now, parse_iso


def front_matter(meta):
    return "---\n" + "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in meta.items()) + "---\n"


def post_block(post):
    return (f"### {post['posted_at'][:10]} · {post['topic']} · {post['format']} · "
            f"{engagement_rate(post):.2%}\n\n> {post['text']}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    out = os.path.join(args.dir, COMPILED_DIR)
    os.makedirs(out, exist_ok=True)

    with open(os.path.join(args.dir, TRACKER_FILE), "rb") as f:
        raw = f.read()
    tracker = json.loads(raw)
    with open(os.path.join(args.dir, BOOSTER_CONFIG), encoding="utf-8") as f:
        config = json.load(f)
    posts = tracker["posts"]
    reviewed = sum(1 for post in posts if "review" in post)
    meta = {
        "generated_at": iso(now()),
        "source_tracker_hash": "sha256:" + hashlib.sha256(raw).hexdigest(),
        "posts_count": len(posts),
        "confidence_level": "high" if len(posts) >= 100 and tracker.get("last_review") else "medium",
        "coverage_notes": f"{len(posts)} posts; {reviewed} scored by /review",
    }

    # account wiki
    voice = Path(args.dir, BRAND_VOICE_FILE).read_text(encoding="utf-8")
    style = Path(args.dir, STYLE_GUIDE_FILE).read_text(encoding="utf-8")
    start, end = style.find(REVIEW_START), style.find(REVIEW_END)
    works = style[start + len(REVIEW_START):end].strip() if 0 <= start < end else "_Not reviewed yet._"
    account = tracker["account"]
    formats = Counter(post["format"] for post in posts)
    wiki = "\n".join([
        f"# Account wiki — {account['display_name']} ({account['handle']})", "",
        f"- Posts tracked: {len(posts)} (last refreshed {tracker['last_refreshed']})",
        f"- Median views: {median(post['metrics']['views'] for post in posts):.0f}",
        "- Formats: " + ", ".join(f"{name} {n}" for name, n in formats.most_common()), "",
        "## Voice", "", voice.split("\n", 1)[1].strip(), "",
        "## What works", "", works, "",
    ])
    with open(os.path.join(out, "account_wiki.md"), "w", encoding="utf-8") as f:
        f.write(front_matter(meta) + wiki)

    # feature index: one JSON line per post after the metadata line
    with open(os.path.join(out, "post_feature_index.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"_meta": meta}, ensure_ascii=False) + "\n")
        for post in posts:
            f.write(json.dumps({"id": post["id"], "topic": post["topic"], "format": post["format"],
                                "engagement_rate": engagement_rate(post)}, ensure_ascii=False) + "\n")

    # clusters by topic
    clusters = []
    for topic in sorted({post["topic"] for post in posts}):
        members = [post for post in posts if post["topic"] == topic]
        clusters.append({"topic": topic, "posts": len(members),
                         "median_engagement_rate": median(engagement_rate(post) for post in members)})
    with open(os.path.join(out, "cluster_wiki.json"), "w", encoding="utf-8") as f:
        json.dump({"_meta": meta, "clusters": clusters}, f, ensure_ascii=False, indent=1)

    # exemplars
    top = sorted(posts, key=lambda post: (engagement_rate(post), post["id"]), reverse=True)[:config["exemplar_count"]]
    exemplars = f"# Exemplar bank: the {len(top)} most engaging posts\n\n" + "\n".join(post_block(p) for p in top)
    Path(out, "exemplar_bank.md").write_text(front_matter(meta) + exemplars, encoding="utf-8")

    # recent window (the last N days before the newest post)
    days = config["recent_window_days"]
    since = parse_iso(posts[-1]["posted_at"]) - timedelta(days=days)
    recent = [post for post in posts if parse_iso(post["posted_at"]) >= since]
    Path(out, "recent_window.md").write_text(
        f"# Recent window: the last {days} days ({len(recent)} posts)\n\n"
        + "\n".join(post_block(p) for p in reversed(recent)),
        encoding="utf-8",
    )
    print(f"rebuilt 5 compiled files in {out}")


if __name__ == "__main__":
    main()
