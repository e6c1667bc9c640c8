"""Score every post and update the tracker, the style guide and the concept library."""

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from statistics import mean

from config import BOOSTER_CONFIG, CONCEPTS_FILE, LEARNINGS_LOG, STYLE_GUIDE_FILE, TRACKER_FILE
from storage import load_tracker, save_text_atomic
from utils import engagement_rate, iso, now, parse_iso, replace_region, run_id


def score(posts, top_share, low_share):
    ranked = sorted(posts, key=lambda post: (engagement_rate(post), post["id"]), reverse=True)
    top, low = int(len(ranked) * top_share), int(len(ranked) * low_share)
    for rank, post in enumerate(ranked):
        tier = "top" if rank < top else "low" if rank >= len(ranked) - low else "mid"
        post["review"] = {"engagement_rate": engagement_rate(post), "tier": tier}


def best(posts, key, limit=3):
    groups = defaultdict(list)
    for post in posts:
        for value in key(post):
            groups[value].append(post["review"]["engagement_rate"])
    rows = [(name, mean(rates), len(rates)) for name, rates in groups.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:limit]


def style_findings(posts, at):
    lines = [f"### What works (review of {len(posts)} posts, {at})", ""]
    for title, key in (("Formats", lambda p: [p["format"]]), ("Topics", lambda p: [p["topic"]]),
                       ("Hooks", lambda p: [c for c in p["concepts"] if c.startswith("hook/")]),
                       ("Hours (UTC)", lambda p: [f"{parse_iso(p['posted_at']).hour:02d}:00"])):
        top = ", ".join(f"{name} ({rate:.2%}, {n} posts)" for name, rate, n in best(posts, key))
        lines.append(f"- **{title}:** {top}")
    return "\n".join(lines)


def concept_table(posts):
    lines = ["| concept | uses | avg engagement | top-tier share |", "|---|---:|---:|---:|"]
    for concept, rate, uses in best(posts, lambda p: p["concepts"], limit=None):
        tops = sum(1 for p in posts if concept in p["concepts"] and p["review"]["tier"] == "top")
        lines.append(f"| {concept} | {uses} | {rate:.2%} | {tops / uses:.0%} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".")
    args = parser.parse_args()
    workdir = Path(args.dir)

    tracker_path = os.path.join(args.dir, TRACKER_FILE)
    tracker = load_tracker(tracker_path)
    with open(workdir / BOOSTER_CONFIG, encoding="utf-8") as f:
        shares = json.load(f)["review"]
    moment = now()
    posts = tracker["posts"]
    score(posts, shares["top_share"], shares["low_share"])
    tracker["last_review"] = iso(moment)
    findings = style_findings(posts, iso(moment))

    with open(tracker_path, "w", encoding="utf-8") as f:
        json.dump(tracker, f, ensure_ascii=False, indent=1)
        f.write("\n")

    guide = workdir / STYLE_GUIDE_FILE
    guide.write_text(replace_region(guide.read_text(encoding="utf-8"), findings), encoding="utf-8")

    concepts_path = os.path.join(args.dir, CONCEPTS_FILE)
    with open(concepts_path, encoding="utf-8") as f:
        concepts = f.read()
    save_text_atomic(concepts_path, replace_region(concepts, concept_table(posts)))

    with open(tracker_path, "rb") as f:
        source = f.read()
    with open(workdir / LEARNINGS_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"run_id": run_id("review", moment, source), "timestamp": iso(moment), "event": "review",
                            "posts_count": len(posts), "learning": findings.splitlines()[2]},
                           ensure_ascii=False) + "\n")
    print(f"reviewed {len(posts)} posts: tracker, style guide and concept library updated")


if __name__ == "__main__":
    main()
