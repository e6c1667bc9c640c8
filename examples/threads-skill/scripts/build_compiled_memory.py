"""Rebuild compiled memory (compiled/*) from the tracker: the low-token cache the skill reads at run time.

Every compiled file carries the five fields FAILSAFE.md requires (generated_at,
source_tracker_hash, posts_count, confidence_level, coverage_notes): front
matter in markdown, "_meta" in JSON, the first line in JSONL. The hash is taken
from the very tracker bytes the content was built from, so a stale file is
detectable. Each file is replaced atomically; if one fails, the old ones stay
and the script says the runtime cache is stale (the tracker is never rolled back).

    python scripts/build_compiled_memory.py --dir WORKDIR
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import timedelta
from statistics import median

import statesafe
from statesafe.compiled import front_matter

from skillfiles import (BRAND_VOICE, CONFIG, REVIEW_END, REVIEW_START, STYLE_GUIDE, TRACKER,
                        engagement_rate, parse_iso, parser, read_json, read_text)

COMPILED_DIR = "compiled"


def confidence(tracker: dict) -> str:
    """How far the cache can be trusted: enough posts, and scored by /review."""
    count = len(tracker["posts"])
    if count >= 100 and tracker.get("last_review"):
        return "high"
    return "medium" if count >= 30 else "low"


def coverage(tracker: dict) -> str:
    posts = tracker["posts"]
    if not posts:
        return "no posts tracked yet"
    reviewed = sum(1 for post in posts if "review" in post)
    note = (f"{len(posts)} posts from {posts[0]['posted_at'][:10]} to {posts[-1]['posted_at'][:10]}; "
            f"{reviewed} scored by /review")
    return note if reviewed == len(posts) else note + f"; {len(posts) - reviewed} not yet scored"


def _region(text: str) -> str:
    start, end = text.find(REVIEW_START), text.find(REVIEW_END)
    return text[start + len(REVIEW_START):end].strip() if 0 <= start < end else "_Not reviewed yet._"


def account_wiki(tracker: dict, voice: str, style: str) -> str:
    posts = tracker["posts"]
    account = tracker["account"]
    formats = Counter(post["format"] for post in posts)
    topics = Counter(post["topic"] for post in posts)
    rates = [engagement_rate(post) for post in posts]
    return "\n".join([
        f"# Account wiki — {account['display_name']} ({account['handle']})", "",
        f"- Posts tracked: {len(posts)} (last refreshed {tracker['last_refreshed']})",
        f"- Median views: {median(post['metrics']['views'] for post in posts):.0f}; "
        f"median engagement rate: {median(rates):.2%}",
        "- Formats: " + ", ".join(f"{name} {n}" for name, n in formats.most_common()),
        "- Topics: " + ", ".join(f"{name} {n}" for name, n in topics.most_common()), "",
        "## Voice", "", voice.split("\n", 1)[1].strip(), "",
        "## What works", "", _region(style), "",
    ])


def feature_rows(tracker: dict) -> list[dict]:
    return [{"id": post["id"], "posted_at": post["posted_at"], "topic": post["topic"], "format": post["format"],
             "concepts": post["concepts"], "chars": len(post["text"]), "question": "?" in post["text"],
             "engagement_rate": engagement_rate(post), "tier": post.get("review", {}).get("tier")}
            for post in tracker["posts"]]


def clusters(tracker: dict) -> list[dict]:
    out = []
    for topic in sorted({post["topic"] for post in tracker["posts"]}):
        members = [post for post in tracker["posts"] if post["topic"] == topic]
        concepts = Counter(c for post in members for c in post["concepts"])
        best = max(members, key=lambda post: (engagement_rate(post), post["id"]))
        out.append({"topic": topic, "posts": len(members),
                    "median_engagement_rate": median(engagement_rate(post) for post in members),
                    "best_post": best["id"], "common_concepts": [c for c, _ in concepts.most_common(3)]})
    return out


def _post_block(post: dict) -> str:
    return (f"### {post['posted_at'][:10]} · {post['topic']} · {post['format']} · "
            f"{engagement_rate(post):.2%}\n\n> {post['text']}\n")


def exemplar_bank(tracker: dict, count: int) -> str:
    best = sorted(tracker["posts"], key=lambda post: (engagement_rate(post), post["id"]), reverse=True)[:count]
    return "\n".join([f"# Exemplar bank: the {len(best)} most engaging posts", ""] + [_post_block(p) for p in best])


def recent_window(tracker: dict, days: int) -> str:
    posts = tracker["posts"]
    since = parse_iso(posts[-1]["posted_at"]) - timedelta(days=days) if posts else None
    recent = [post for post in posts if since and parse_iso(post["posted_at"]) >= since]
    return "\n".join([f"# Recent window: the last {days} days ({len(recent)} posts)", ""]
                     + [_post_block(p) for p in reversed(recent)])


def build(tracker: dict, meta: dict, voice: str, style: str, config: dict) -> dict[str, str]:
    """The content of each compiled file, by name."""
    index = [json.dumps({"_meta": meta}, ensure_ascii=False)]
    index += [json.dumps(row, ensure_ascii=False) for row in feature_rows(tracker)]
    return {
        "account_wiki.md": front_matter(meta) + account_wiki(tracker, voice, style),
        "post_feature_index.jsonl": "\n".join(index) + "\n",
        "cluster_wiki.json": json.dumps({"_meta": meta, "clusters": clusters(tracker)}, ensure_ascii=False,
                                        indent=1) + "\n",
        "exemplar_bank.md": front_matter(meta) + exemplar_bank(tracker, config["exemplar_count"]),
        "recent_window.md": front_matter(meta) + recent_window(tracker, config["recent_window_days"]),
    }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    tracker_path = args.dir / TRACKER
    with statesafe.lock(tracker_path):  # the hash and the content must describe the same tracker
        tracker_bytes = tracker_path.read_bytes()
        tracker = read_json(tracker_path)
    meta = statesafe.compiled_metadata(tracker_path, tracker_bytes=tracker_bytes,
                                       posts_count=len(tracker["posts"]), confidence_level=confidence(tracker),
                                       coverage_notes=coverage(tracker))
    files = build(tracker, meta, read_text(args.dir / BRAND_VOICE), read_text(args.dir / STYLE_GUIDE),
                  read_json(args.dir / CONFIG))
    out = args.dir / COMPILED_DIR
    out.mkdir(exist_ok=True)
    for name, content in files.items():
        try:
            statesafe.write(out / name, content)
        except OSError as exc:
            print(f"compiled memory not rebuilt: {exc}; the runtime cache in {out} is stale "
                  "(the tracker is unchanged and still wins)", file=sys.stderr)
            return 1
    print(f"rebuilt {len(files)} compiled files in {out} ({meta['posts_count']} posts, "
          f"confidence {meta['confidence_level']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
