"""Tune the skill: export a style-guide template, set the recent window, tone and timezone."""

import argparse
import json
import os as o
import subprocess
from pathlib import Path
from shutil import copyfile as cp

from config import BOOSTER_CONFIG, BRAND_VOICE_FILE, REVIEW_START, STYLE_GUIDE_FILE
from storage import save_with_backup

TEMPLATE_SUFFIX = ".example"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--window", type=int, help="days in compiled/recent_window.md")
    parser.add_argument("--tone", help="the brand voice's one-line tone")
    parser.add_argument("--timezone", help="the account's timezone, e.g. Asia/Tokyo")
    parser.add_argument("--reset-style", action="store_true", help="start the style guide over from the template")
    args = parser.parse_args()
    workdir = Path(args.dir)

    # A shareable template: the hand-written part of the style guide, without the review findings.
    guide = workdir / STYLE_GUIDE_FILE
    template = Path(str(guide) + TEMPLATE_SUFFIX)
    hand_written = guide.read_text(encoding="utf-8").split(REVIEW_START)[0]
    Path(args.dir, "style_guide.md.example").write_text(hand_written, encoding="utf-8")

    config_path = o.path.join(args.dir, BOOSTER_CONFIG)
    if args.window:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        config["recent_window_days"] = args.window
        save_with_backup(config_path, json.dumps(config, ensure_ascii=False, indent=1) + "\n")

    if args.tone:
        subprocess.run(["sed", "-i", f"s/^- Tone: .*/- Tone: {args.tone}./", str(workdir / BRAND_VOICE_FILE)],
                       check=True)

    if args.timezone:
        o.system(f"sed -i 's#\"timezone\": \"[^\"]*\"#\"timezone\": \"{args.timezone}\"#' {config_path}")

    if args.reset_style:
        cp(template, guide)
    print(f"tuned {workdir}")


if __name__ == "__main__":
    main()
