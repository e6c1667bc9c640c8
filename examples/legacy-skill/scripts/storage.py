"""Load and save the skill's files."""

import glob
import json
import os
import shutil

from utils import now


def load_tracker(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_tracker(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def save_text_atomic(path, text):
    """Write through a temp file so readers never see half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def save_with_backup(path, text, keep=5):
    """Copy the current file to a .bak- sibling, write a temp, rename it over, prune old backups."""
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    shutil.copy2(path, f"{path}.bak-{stamp}")
    tmp = f"{path}.tmp-{stamp}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    for old in sorted(glob.glob(f"{path}.bak-*"))[:-keep]:
        os.remove(old)
