"""Merge the latest API export into the tracker and log the run."""

import argparse
import json
import os

from config import EXPORT_FILE, FRESHNESS_LOG, REFRESH_LOG
from storage import load_tracker, save_tracker
from utils import iso, now, run_id


def merge(tracker, export):
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


def log_run(log_path, entry):
    lines = []
    if os.path.exists(log_path):
        with open(log_path, encoding="utf-8") as f:
            lines = f.readlines()
    lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
    with open(log_path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def touch_companion(workdir, old, new):
    """Keep the 'last refreshed' note of the date archive current without a full rebuild."""
    path = os.path.join(workdir, "posts_by_date.md")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace(f"last refreshed {old}", f"last refreshed {new}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--tracker", default="threads_daily_tracker.json")
    parser.add_argument("--export", default=EXPORT_FILE)
    args = parser.parse_args()

    tracker_path = os.path.join(args.dir, args.tracker)
    export_path = os.path.join(args.dir, args.export)
    with open(export_path, encoding="utf-8") as f:
        export = json.load(f)
    tracker = load_tracker(tracker_path)
    previous = tracker["last_refreshed"]
    moment = now()
    updated, added = merge(tracker, export)
    tracker["last_refreshed"] = iso(moment)
    save_tracker(tracker_path, tracker)

    with open(export_path, "rb") as f:
        source = f.read()
    log_run(os.path.join(args.dir, REFRESH_LOG), {
        "run_id": run_id("refresh", moment, source),
        "timestamp": iso(moment),
        "event": "refresh",
        "updated": updated,
        "added": added,
        "posts_count": len(tracker["posts"]),
        "source": args.export,
    })
    with open(os.path.join(args.dir, FRESHNESS_LOG), "w", encoding="utf-8") as f:
        f.write(json.dumps({"timestamp": iso(moment), "tracker_last_refreshed": iso(moment)}) + "\n")
    touch_companion(args.dir, previous, iso(moment))
    print(f"refreshed {tracker_path}: {updated} updated, {added} added, {len(tracker['posts'])} posts")


if __name__ == "__main__":
    main()
