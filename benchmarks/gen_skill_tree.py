"""Generate a monorepo of agent skills for scale benchmarks of ``statesafe audit``.

    python benchmarks/gen_skill_tree.py --files 2000 --out /tmp/skills [--seed 1]

Deterministic: the same ``--files`` and ``--seed`` give byte-identical trees.
Exactly ``--files`` files are written that ``statesafe audit`` discovers
(``.py`` files and ``SKILL.md``), plus ``GENERATED.json`` at the top (seed,
counts, the 10 files a pre-commit run is handed and the file the warm-edit
benchmark changes), which the auditor does not read.

The shape is the worst realistic case for the auditor, the one issue 11 measures:

* many skill folders (``skills/<name>/``), each with a ``SKILL.md`` and a
  ``scripts/`` folder holding ``config.py`` and ``utils.py`` (same-named
  modules in every skill: ``from config import TRACKER`` and ``import utils``
  match every one of them by name), often a ``storage.py``, and a few
  argparse CLI scripts whose names repeat across skills (``refresh.py``,
  ``review.py``...);
* a shared helper package (``shared/skillkit/``, with its own ``config.py``
  and ``utils.py``) imported by most skills;
* name tables (dicts of policy file names), helpers that build paths and
  return them, a hand-rolled atomic writer in ``utils.py``, raw writes, JSON
  line appends, backups by copy, ``Path.write_text``, ``with_suffix``, a
  ``sed -i`` through ``subprocess``;
* EVERY file names at least one policy file of the default policy
  (``statesafe.policy.DEFAULTS``), so the auditor's byte prefilter can skip none.

Skills are self-similar (the same mix of files at every size), so the time
per file at 20,000 files is comparable with the time per file at 2,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

#: The default policy's files (statesafe.policy.DEFAULTS), spelled out so the generator needs no statesafe.
DESTRUCTIVE = ("threads_daily_tracker.json", "style_guide.md", "concept_library.md", "brand_voice.md",
               "threads_booster_config.json")
LOGS = ("threads_freshness.log", "threads_refresh.log", "threads_skill_learnings.log")
COMPANION = ("posts_by_date.md", "posts_by_topic.md", "comments.md")
COMPILED = ("compiled/account_wiki.md", "compiled/post_feature_index.jsonl", "compiled/cluster_wiki.json",
            "compiled/exemplar_bank.md", "compiled/recent_window.md")
ALL_NAMES = DESTRUCTIVE + LOGS + COMPANION + COMPILED

#: CLI script names: the same few in every skill, as real skill collections have them.
CLI_NAMES = ("refresh", "review", "render_companions", "build_compiled", "tune", "export_posts", "import_posts",
             "learn", "prune", "report", "digest", "schedule")
ADJECTIVES = ("quick", "daily", "brand", "topic", "growth", "voice", "recap", "trend", "audience", "launch",
              "weekly", "viral", "calm", "bold", "local", "global")
NOUNS = ("booster", "writer", "planner", "tracker", "coach", "digest", "curator", "scout", "editor", "analyst",
         "scheduler", "miner", "keeper", "critic")
SHARED = "shared/skillkit"


# --- shared helpers ---------------------------------------------------------------------------

SHARED_FILES = {
    "__init__.py": '''\
"""skillkit: helpers shared by every skill of the collection (tracker: threads_daily_tracker.json)."""

__version__ = "2.3.0"
''',
    "config.py": '''\
"""Collection-wide defaults; each skill's own config.py overrides them."""

import os

DATA_ROOT = os.environ.get("SKILLKIT_DATA", "data")
TRACKER = "threads_daily_tracker.json"
REFRESH_LOG = "threads_refresh.log"
LEARNINGS_LOG = "threads_skill_learnings.log"
KEEP_BACKUPS = 5
''',
    "utils.py": '''\
"""Small utilities shared across skills (the tracker is threads_daily_tracker.json)."""

import datetime
import hashlib
import json


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_id(kind, moment, payload=b""):
    digest = hashlib.sha256(payload).hexdigest()[:12]
    return f"{kind}-{moment:%Y%m%d%H%M%S}-{digest}"


def dumps(data):
    return json.dumps(data, ensure_ascii=False, indent=1) + "\\n"
''',
    "paths.py": '''\
"""Where a skill's files live: one data folder per skill."""

import os
from pathlib import Path

from skillkit.config import DATA_ROOT, TRACKER

NAMES = {
    "tracker": TRACKER,
    "style": "style_guide.md",
    "voice": "brand_voice.md",
    "by_date": "posts_by_date.md",
    "wiki": "compiled/account_wiki.md",
}


def data_dir(skill, root=DATA_ROOT):
    return os.path.join(root, skill)


def data_file(skill, key, root=DATA_ROOT):
    return os.path.join(data_dir(skill, root), NAMES[key])


def compiled_dir(skill, root=DATA_ROOT):
    return Path(data_dir(skill, root)) / "compiled"
''',
    "atomic.py": '''\
"""A temp-and-rename writer for the skills' JSON files (threads_booster_config.json and friends)."""

import json
import os
import tempfile


def replace_json(path, data):
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
''',
    "logs.py": '''\
"""JSON-line logging for skills (threads_refresh.log, threads_freshness.log)."""

import json

from skillkit.utils import iso, now


def log_event(path, event, **fields):
    record = {"timestamp": iso(now()), "event": event, **fields}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\\n")
''',
}


# --- per-skill files ----------------------------------------------------------------------------

def _config(rng: random.Random, skill: str) -> str:
    names = {
        "TRACKER": "threads_daily_tracker.json",
        "STYLE_GUIDE": "style_guide.md",
        "CONCEPTS": "concept_library.md",
        "BRAND_VOICE": "brand_voice.md",
        "BOOSTER_CONFIG": "threads_booster_config.json",
        "REFRESH_LOG": "threads_refresh.log",
        "FRESHNESS_LOG": "threads_freshness.log",
        "LEARNINGS_LOG": "threads_skill_learnings.log",
    }
    lines = [f'"""File names and defaults of the {skill} skill."""', "", "import os", ""]
    lines.append(f'DATA_DIR = os.environ.get("{skill.upper().replace("-", "_")}_DATA", "data")')
    for key, value in names.items():
        lines.append(f'{key} = "{value}"')
    lines += ["", 'COMPILED_DIR = "compiled"', 'EXPORT_FILE = "api_export.json"', ""]
    lines.append("COMPANIONS = {")
    for kind, name in (("by_date", "posts_by_date.md"), ("by_topic", "posts_by_topic.md"),
                       ("comments", "comments.md")):
        lines.append(f'    "{kind}": "{name}",')
    lines += ["}", "", "COMPILED_FILES = {"]
    for name in COMPILED:
        key = name.split("/")[1].split(".")[0]
        lines.append(f'    "{key}": "{name.split("/")[1]}",')
    lines += ["}", "", f"KEEP_BACKUPS = {rng.choice((3, 5, 7))}", f"RECENT_DAYS = {rng.choice((7, 14, 30))}",
              f'TIMEZONE = "{rng.choice(("UTC", "Asia/Tokyo", "Europe/Paris", "America/New_York"))}"',
              'REVIEW_START = "<!-- review:start -->"', 'REVIEW_END = "<!-- review:end -->"', ""]
    return "\n".join(lines)


def _utils(rng: random.Random, skill: str) -> str:
    extra = "\n\n".join(_filler(rng, f"u{i}") for i in range(rng.randint(1, 3)))
    return f'''\
"""Helpers of the {skill} skill: paths, loading, saving (threads_daily_tracker.json, posts_by_date.md)."""

import json
import os
import shutil
import tempfile
import time

from config import COMPANIONS, COMPILED_DIR, COMPILED_FILES, DATA_DIR, TRACKER


def data_path(name, root=DATA_DIR):
    return os.path.join(root, name)


def tracker_path(root=DATA_DIR):
    return data_path(TRACKER, root)


def companion_path(kind, root=DATA_DIR):
    return os.path.join(root, COMPANIONS[kind])


def compiled_path(key, root=DATA_DIR):
    return os.path.join(root, COMPILED_DIR, COMPILED_FILES[key])


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_tracker(root=DATA_DIR):
    return load_json(tracker_path(root))


def atomic_write(path, text):
    """Write a temp beside the file, then rename it over (readers never see half a file)."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\\n")


def save_with_backup(path, text, keep=5):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    shutil.copy2(path, f"{{path}}.bak-{{stamp}}")
    atomic_write(path, text)


def append_record(path, record):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\\n")


def engagement_rate(post):
    metrics = post.get("metrics", {{}})
    views = metrics.get("views") or 0
    return (metrics.get("likes", 0) + metrics.get("replies", 0)) / views if views else 0.0


{extra}
'''


def _storage(rng: random.Random, skill: str) -> str:
    return f'''\
"""Load and save the {skill} skill's tracker (threads_daily_tracker.json)."""

import json
import os

import utils
from config import BOOSTER_CONFIG, TRACKER


def load(root="."):
    return utils.load_json(os.path.join(root, TRACKER))


def save(root, tracker):
    utils.save_json(os.path.join(root, TRACKER), tracker)


def load_settings(root="."):
    with open(os.path.join(root, BOOSTER_CONFIG), encoding="utf-8") as f:
        return json.load(f)


def save_settings(root, settings):
    utils.atomic_write(os.path.join(root, BOOSTER_CONFIG), json.dumps(settings, indent={rng.choice((1, 2))}))
'''


FILLER_KINDS = (
    '''\
def {name}(posts, limit={n}):
    """The {n} posts with the most replies, newest first on ties."""
    ranked = sorted(posts, key=lambda p: (p.get("metrics", {{}}).get("replies", 0), p.get("posted_at", "")))
    return list(reversed(ranked))[:limit]''',
    '''\
def {name}(posts):
    counts = {{}}
    for post in posts:
        topic = post.get("topic") or "other"
        counts[topic] = counts.get(topic, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))''',
    '''\
def {name}(text, width={n}):
    words, line, out = text.split(), [], []
    for word in words:
        if sum(len(w) + 1 for w in line) + len(word) > width:
            out.append(" ".join(line))
            line = []
        line.append(word)
    if line:
        out.append(" ".join(line))
    return "\\n".join(out)''',
    '''\
def {name}(posts, days={n}):
    by_day = {{}}
    for post in posts:
        day = post.get("posted_at", "")[:10]
        by_day.setdefault(day, []).append(post)
    days_seen = sorted(by_day)[-days:]
    return [(day, len(by_day[day])) for day in days_seen]''',
    '''\
def {name}(post):
    text = post.get("text", "")
    hashtags = [word for word in text.split() if word.startswith("#")]
    mentions = [word for word in text.split() if word.startswith("@")]
    return {{"id": post.get("id"), "length": len(text), "hashtags": hashtags, "mentions": mentions,
            "has_link": "http" in text, "bucket": len(text) // {n}}}''',
)


def _filler(rng: random.Random, suffix: str) -> str:
    kind = rng.randrange(len(FILLER_KINDS))
    verb = rng.choice(("rank", "count", "wrap", "bucket", "features", "score", "summarize", "group"))
    return FILLER_KINDS[kind].format(name=f"{verb}_{suffix}", n=rng.randint(3, 80))


def _cli(rng: random.Random, skill: str, name: str, has_storage: bool, uses_shared: bool) -> str:
    """One argparse script of a skill; which writes it does (and how) is drawn from ``rng``."""
    imports = ["import argparse", "import json", "import os", "import shutil", "import subprocess",
               "from pathlib import Path", ""]
    imports.append("import utils")
    config_names = sorted(rng.sample(["BOOSTER_CONFIG", "BRAND_VOICE", "CONCEPTS", "FRESHNESS_LOG",
                                      "LEARNINGS_LOG", "REFRESH_LOG", "STYLE_GUIDE", "TRACKER"], 4)
                          + ["COMPANIONS", "DATA_DIR"])
    imports.append(f"from config import {', '.join(config_names)}")
    if has_storage:
        imports.append("from storage import load, save")
    if uses_shared:
        imports.append("from skillkit.logs import log_event")
        imports.append("from skillkit.paths import data_file")
    local_names = rng.sample(ALL_NAMES, 4)
    table = "\n".join(f'    "{n.rsplit("/", 1)[-1].split(".")[0]}": "{n}",' for n in local_names)
    helpers = "\n\n\n".join(_filler(rng, f"{name}_{i}") for i in range(rng.randint(2, 5)))
    body: list[str] = []
    # what this script writes: a random mix of compliant-looking and raw writes
    if has_storage and rng.random() < 0.5:
        body.append("    save(args.dir, tracker)")
    else:
        body.append("    utils.save_json(utils.tracker_path(args.dir), tracker)")
    body.append(rng.choice((
        '    utils.atomic_write(utils.companion_path("by_date", args.dir), render(tracker))',
        '    utils.save_with_backup(os.path.join(args.dir, STYLE_GUIDE), render(tracker))'
        if "STYLE_GUIDE" in config_names else '    utils.atomic_write(utils.data_path("style_guide.md", args.dir), '
        'render(tracker))',
        ('    Path(args.dir, NAMES["posts_by_topic"] if "posts_by_topic" in NAMES else "posts_by_topic.md")'
         '.write_text(render(tracker), encoding="utf-8")'),
        ('    with open(os.path.join(args.dir, args.out), "w", encoding="utf-8") as f:\n'
         '        f.write(render(tracker))'),
    )))
    log = next((n for n in ("REFRESH_LOG", "FRESHNESS_LOG", "LEARNINGS_LOG") if n in config_names), None)
    if log:
        body.append(rng.choice((
            f'    utils.append_record(os.path.join(args.dir, {log}), {{"event": "{name}", "posts": len(posts)}})',
            (f'    with open(os.path.join(args.dir, {log}), "w", encoding="utf-8") as f:\n'
             f'        f.write(json.dumps({{"event": "{name}"}}) + "\\n")'),
        )))
    if uses_shared:
        body.append(f'    log_event(data_file("{skill}", "tracker", args.dir) + ".log", "{name}")')
    if rng.random() < 0.3:
        body.append('    out = Path(args.dir) / "compiled" / "recent_window"\n'
                    '    out.with_suffix(".md").write_text(render(tracker), encoding="utf-8")')
    if rng.random() < 0.2:
        body.append('    if args.reset:\n'
                    '        shutil.copy(os.path.join(args.dir, "style_guide.md.example"), '
                    'os.path.join(args.dir, "style_guide.md"))')
    if rng.random() < 0.15 and "BOOSTER_CONFIG" in config_names:
        body.append('    if args.tone:\n'
                    '        subprocess.run(["sed", "-i", f"s/tone: .*/tone: {args.tone}/", '
                    'os.path.join(args.dir, BOOSTER_CONFIG)], check=True)')
    load_line = "    tracker = load(args.dir)" if has_storage else "    tracker = utils.load_tracker(args.dir)"
    default_out = rng.choice(COMPANION)
    return f'''\
"""{name.replace("_", " ").capitalize()} for the {skill} skill."""

{chr(10).join(imports)}

NAMES = {{
{table}
}}


{helpers}


def render(tracker):
    posts = tracker.get("posts", [])
    lines = [f"# {name} ({{len(posts)}} posts)", ""]
    for post in posts:
        lines.append(f"- {{post.get('posted_at', '')[:10]}} {{post.get('text', '')[:60]}}")
    return "\\n".join(lines) + "\\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=DATA_DIR)
    parser.add_argument("--out", default="{default_out}")
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--tone")
    args = parser.parse_args(argv)
{load_line}
    posts = tracker.get("posts", [])
    for key, file_name in sorted(NAMES.items()):
        print(key, os.path.exists(os.path.join(args.dir, file_name)))
{chr(10).join(body)}
    print(f"{name}: {{len(posts)}} posts, {{len(COMPANIONS)}} companions")


if __name__ == "__main__":
    main()
'''


def _skill_md(rng: random.Random, skill: str, clis: list[str]) -> str:
    steps = "\n".join(f'   python scripts/{c}.py --dir "$WORKDIR"' for c in clis)
    tools = rng.choice(("Read, Write, Bash", "Read, Bash", "Read, Edit, Bash"))
    fix = rng.choice((
        "3. If a number looks wrong, open `threads_daily_tracker.json` and fix it by hand, then rerun.",
        "3. Never edit `threads_daily_tracker.json` by hand: rerun the scripts instead.",
        "3. To start over:\n\n   ```bash\n   echo '{\"posts\": []}' > \"$WORKDIR/threads_daily_tracker.json\"\n   ```",
    ))
    return f'''\
---
name: {skill}
description: Keeps the {skill} tracker and its archives (posts_by_date.md) current.
allowed-tools: {tools}
---

# /{skill}

1. Put the API export in the working directory as `api_export.json`.
2. Run:

   ```bash
{steps}
   ```

{fix}
'''


# --- the tree -------------------------------------------------------------------------------------

def skill_name(index: int) -> str:
    return f"{ADJECTIVES[index % len(ADJECTIVES)]}-{NOUNS[(index // len(ADJECTIVES)) % len(NOUNS)]}-{index:04d}"


def generate(out: str | os.PathLike, files: int, seed: int = 1) -> dict:
    """Write the tree under ``out`` (must not exist or be empty); returns what GENERATED.json holds."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise SystemExit(f"{root} is not empty")
    if files < len(SHARED_FILES) + 4:
        raise SystemExit(f"--files must be at least {len(SHARED_FILES) + 4}")
    rng = random.Random(seed)
    written: list[str] = []

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)

    for name, text in SHARED_FILES.items():
        write(f"{SHARED}/{name}", text)
    skills: list[dict] = []
    index = 0
    while len(written) < files:
        left = files - len(written)
        skill = skill_name(index)
        base = f"skills/{skill}"
        clis = sorted(rng.sample(CLI_NAMES, rng.randint(3, 7)))
        has_storage = rng.random() < 0.5
        uses_shared = rng.random() < 0.7
        planned = 3 + has_storage + len(clis)  # SKILL.md, config.py, utils.py
        if planned > left:  # the last skill: trim it to land on exactly ``files``
            has_storage = False
            clis = clis[:max(0, left - 3)]
        write(f"{base}/SKILL.md", _skill_md(rng, skill, clis or ["refresh"]))
        if len(written) < files:
            write(f"{base}/scripts/config.py", _config(rng, skill))
        if len(written) < files:
            write(f"{base}/scripts/utils.py", _utils(rng, skill))
        if has_storage:
            write(f"{base}/scripts/storage.py", _storage(rng, skill))
        for cli in clis:
            write(f"{base}/scripts/{cli}.py", _cli(rng, skill, cli, has_storage, uses_shared))
        skills.append({"name": skill, "clis": clis, "storage": has_storage})
        index += 1
    assert len(written) == files, (len(written), files)

    # the files a pre-commit run is handed: a helper, its config and callers in one skill, others elsewhere
    middle = skills[len(skills) // 2]
    first = skills[0]
    picks = [f"skills/{middle['name']}/scripts/{n}.py" for n in ["utils", "config", *middle["clis"][:3]]]
    picks.append(f"skills/{middle['name']}/SKILL.md")
    picks += [f"skills/{first['name']}/scripts/{n}.py" for n in ["utils", *first["clis"][:2]]]
    picks.append(f"{SHARED}/paths.py")
    picks = picks[:10]
    meta = {
        "generator": "benchmarks/gen_skill_tree.py",
        "seed": seed,
        "files": len(written),
        "skills": len(skills),
        "python_files": sum(1 for w in written if w.endswith(".py")),
        "bytes": sum((root / w).stat().st_size for w in written),
        "same_named": {name: sum(1 for w in written if w.endswith("/" + name))
                       for name in ("config.py", "utils.py", "storage.py", "refresh.py")},
        "precommit_files": picks,
        "edit_file": f"skills/{middle['name']}/scripts/utils.py",
    }
    (root / "GENERATED.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="files the auditor discovers (.py and SKILL.md)")
    parser.add_argument("--out", required=True, help="folder to create (must be absent or empty)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    meta = generate(args.out, args.files, args.seed)
    print(json.dumps({k: v for k, v in meta.items() if k != "precommit_files"}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
