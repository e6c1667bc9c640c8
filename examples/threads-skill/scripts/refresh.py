"""/refresh: merge the latest API export into the tracker and log the run.

The tracker is read and rewritten under its lock, so a concurrent /review
cannot lose this refresh; the write itself is statesafe.write (backup, temp,
atomic rename, prune). The run is then recorded as one appended JSON line.

    python scripts/refresh.py --dir WORKDIR [--export api_export.json]
"""

from __future__ import annotations

import sys

import statesafe

from skillfiles import API_EXPORT, REFRESH_LOG, TRACKER, iso, now, parser, read_json, run_id, to_json


def merge(tracker: dict, export: dict) -> tuple[int, int]:
    """Fold the export into the tracker in place; returns (posts updated, posts added)."""
    by_id = {post["id"]: post for post in tracker["posts"]}
    updated = added = 0
    for item in export["posts"]:
        post = by_id.get(item["id"])
        if post is None:
            tracker["posts"].append(item)
            by_id[item["id"]] = item
            added += 1
            continue
        post["metrics"] = item["metrics"]
        seen = {(c["author"], c["at"]) for c in post["comments"]}
        post["comments"] += [c for c in item.get("comments", []) if (c["author"], c["at"]) not in seen]
        updated += 1
    tracker["posts"].sort(key=lambda post: (post["posted_at"], post["id"]))
    return updated, added


def main(argv: list[str] | None = None) -> int:
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--export", default=API_EXPORT, help="the API export to merge, relative to --dir")
    args = cli.parse_args(argv)
    tracker_path, export_path = args.dir / TRACKER, args.dir / args.export
    export = read_json(export_path)
    moment = now()
    with statesafe.lock(tracker_path):
        tracker = read_json(tracker_path)
        updated, added = merge(tracker, export)
        tracker["last_refreshed"] = iso(moment)
        statesafe.write(tracker_path, to_json(tracker))
    statesafe.append(args.dir / REFRESH_LOG, {
        "run_id": run_id("refresh", moment, export_path.read_bytes()),
        "timestamp": iso(moment),
        "event": "refresh",
        "updated": updated,
        "added": added,
        "posts_count": len(tracker["posts"]),
        "source": args.export,
    })
    print(f"refreshed {tracker_path}: {updated} updated, {added} added, {len(tracker['posts'])} posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
