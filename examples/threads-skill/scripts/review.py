"""/review: score every post, then update tracker, style guide and concept library together.

The three files change in ONE statesafe.transaction(): all three are backed up
before any is written, and a crash mid-commit is finished or rolled back by
`statesafe recover`, so they never disagree (FAILSAFE.md, "Multi-file writes").
They are read under their locks, taken in the transaction's own order (sorted
resolved paths), so no other writer slips in between the read and the commit.

    python scripts/review.py --dir WORKDIR
"""

from __future__ import annotations

import contextlib
import sys
from collections import defaultdict
from statistics import mean

import statesafe

from skillfiles import (CONCEPT_LIBRARY, CONFIG, LEARNINGS_LOG, STYLE_GUIDE, TRACKER, engagement_rate,
                        iso, now, parse_iso, parser, read_json, read_text, replace_region, run_id, to_json)


def score(posts: list[dict], top_share: float, low_share: float) -> None:
    """Give each post its engagement rate and a tier (top / mid / low) by rank."""
    ranked = sorted(posts, key=lambda post: (engagement_rate(post), post["id"]), reverse=True)
    top, low = int(len(ranked) * top_share), int(len(ranked) * low_share)
    for rank, post in enumerate(ranked):
        tier = "top" if rank < top else "low" if rank >= len(ranked) - low else "mid"
        post["review"] = {"engagement_rate": engagement_rate(post), "tier": tier}


def _best(posts: list[dict], key, limit: int = 3) -> list[tuple[str, float, int]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for post in posts:
        for value in key(post):
            groups[value].append(post["review"]["engagement_rate"])
    rows = [(name, mean(rates), len(rates)) for name, rates in groups.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:limit]


def style_findings(posts: list[dict], at: str) -> str:
    lines = [f"### What works (review of {len(posts)} posts, {at})", ""]
    for title, key in (("Formats", lambda p: [p["format"]]), ("Topics", lambda p: [p["topic"]]),
                       ("Hooks", lambda p: [c for c in p["concepts"] if c.startswith("hook/")]),
                       ("Hours (UTC)", lambda p: [f"{parse_iso(p['posted_at']).hour:02d}:00"])):
        best = ", ".join(f"{name} ({rate:.2%}, {n} posts)" for name, rate, n in _best(posts, key))
        lines.append(f"- **{title}:** {best}")
    return "\n".join(lines)


def concept_table(posts: list[dict]) -> str:
    lines = ["| concept | uses | avg engagement | top-tier share |", "|---|---:|---:|---:|"]
    for concept, rate, uses in _best(posts, lambda p: p["concepts"], limit=None):
        tops = sum(1 for p in posts if concept in p["concepts"] and p["review"]["tier"] == "top")
        lines.append(f"| {concept} | {uses} | {rate:.2%} | {tops / uses:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    paths = {name: args.dir / name for name in (TRACKER, STYLE_GUIDE, CONCEPT_LIBRARY)}
    shares = read_json(args.dir / CONFIG)["review"]
    moment = now()
    with contextlib.ExitStack() as locks:
        for path in sorted(paths.values(), key=lambda p: p.resolve()):
            locks.enter_context(statesafe.lock(path))
        tracker = read_json(paths[TRACKER])
        style, concepts = read_text(paths[STYLE_GUIDE]), read_text(paths[CONCEPT_LIBRARY])
        posts = tracker["posts"]
        score(posts, shares["top_share"], shares["low_share"])
        tracker["last_review"] = iso(moment)
        findings = style_findings(posts, iso(moment))
        with statesafe.transaction() as tx:
            tx.write(paths[TRACKER], to_json(tracker))
            tx.write(paths[STYLE_GUIDE], replace_region(style, findings))
            tx.write(paths[CONCEPT_LIBRARY], replace_region(concepts, concept_table(posts)))
    statesafe.append(args.dir / LEARNINGS_LOG, {
        "run_id": run_id("review", moment, paths[TRACKER].read_bytes()),
        "timestamp": iso(moment),
        "event": "review",
        "posts_count": len(posts),
        "learning": findings.splitlines()[2],
    })
    print(f"reviewed {len(posts)} posts: tracker, style guide and concept library updated together")
    return 0


if __name__ == "__main__":
    sys.exit(main())
