"""Generate the bundled sample working directory (data/), deterministically.

A fixed seed and fixed dates make the output byte-identical on every run, so
the committed data/ can be checked against this script. The text is
deliberately non-ASCII (emoji, accents, CJK): a skill's files are UTF-8.

    python scripts/make_sample_data.py --dir /tmp/threads-sample
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

import statesafe

from skillfiles import (API_EXPORT, BRAND_VOICE, CONCEPT_LIBRARY, CONFIG, REFRESH_LOG,
                        REVIEW_END, REVIEW_START, STYLE_GUIDE, TRACKER, iso, parser, to_json)

SEED = 20260422
FIRST_POST = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)
EXPORTED_AT = datetime(2026, 4, 22, 6, 30, tzinfo=timezone.utc)

TOPICS = {
    "typography": ["kerning", "variable fonts", "ligatures", "Garamond vs. Futura", "明朝体"],
    "café culture": ["flat whites", "latte art", "a café in Montréal", "cold brew", "喫茶店"],
    "productivity": ["deep work", "inbox zero", "the two-minute rule", "time blocking", "weekly reviews"],
    "design systems": ["tokens", "naming colours", "dark mode", "spacing scales", "icon grids"],
    "travel sketches": ["Lisboa trams", "Kyōto alleys", "São Paulo murals", "Zürich lakeside", "서울 markets"],
    "tooling": ["Figma plugins", "keyboard shortcuts", "a tiny CLI", "Raycast scripts", "naïve automations"],
}
HOOKS = {
    "hook/question": "What's your take on {thing}? 🤔",
    "hook/contrarian": "Unpopular opinion: {thing} is overrated.",
    "hook/confession": "Confession — I ignored {thing} for years.",
    "hook/number": "3 things {thing} taught me 👇",
}
BODIES = {
    "story/behind-the-scenes": "Behind the scenes at the studio this week: {thing}, coffee ☕, and one very stubborn bug.",
    "list/three-tips": "1) start small 2) name things well 3) ship before it feels ready ✅",
    "story/before-after": "Before: chaos. After: {thing} done properly. The difference? Ten minutes a day.",
    "teach/mini-lesson": "Quick lesson on {thing}: look for rhythm, not rules. Ça marche à tous les coups.",
    "share/resource": "Saved this one about {thing} — worth your Sunday ✨",
}
CTAS = {
    "cta/ask-opinion": "Tell me I'm wrong in the replies 💬",
    "cta/save": "Save this for later 📌",
    "cta/none": "",
}
CONCEPT_NOTES = {
    "hook/question": "Open with a direct question the reader can answer in one line.",
    "hook/contrarian": "Take a mild, defensible stance against a popular habit.",
    "hook/confession": "Admit a small mistake first; it buys attention and trust.",
    "hook/number": "Promise a short numbered payoff and deliver it in the thread.",
    "story/behind-the-scenes": "Show the studio at work: people, tools, small failures.",
    "list/three-tips": "Exactly three tips, each under ten words.",
    "story/before-after": "A concrete before and after, with the one change that made it.",
    "teach/mini-lesson": "One idea, explained in the space of a post.",
    "share/resource": "Point to something useful and say why in one sentence.",
    "cta/ask-opinion": "Ask for disagreement; replies weigh more than likes.",
    "cta/save": "Ask for a save on reference-style posts.",
    "cta/none": "No call to action: let the post stand.",
}
FORMATS = ["text", "image", "carousel", "video"]
COMMENTERS = ["zoë.m", "renée_b", "josé.dev", "müller.k", "佐藤さん", "李雷", "anaïs.draws", "björn",
              "priya.codes", "김민준", "ólafur", "chloé.typo"]
REPLIES = ["So true 🙌", "Merci pour ça !", "これは良い", "Hard disagree, but I respect it 😅",
           "Saving this 📌", "¿Tienes un ejemplo?", "This is the way ✨", "我也这么觉得",
           "Needed this today.", "Großartig!", "Can you do a thread on this? 🙏", "ㅋㅋ 맞아요"]


def _metrics(rng: random.Random, age_days: int, fmt: str) -> dict:
    reach = {"text": 1.0, "image": 1.4, "carousel": 1.8, "video": 2.3}[fmt]
    views = int(rng.lognormvariate(7.2, 0.7) * reach * (1 + min(age_days, 30) / 30))
    likes = int(views * rng.uniform(0.01, 0.08))
    return {"views": views, "likes": likes, "replies": int(likes * rng.uniform(0.05, 0.4)),
            "reposts": int(likes * rng.uniform(0.0, 0.15)), "quotes": int(likes * rng.uniform(0.0, 0.05))}


def _comments(rng: random.Random, posted: datetime, count: int) -> list[dict]:
    return [{"author": rng.choice(COMMENTERS), "text": rng.choice(REPLIES),
             "at": iso(posted + timedelta(minutes=rng.randint(5, 60 * 48)))}
            for _ in range(count)]


def _post(rng: random.Random, posted: datetime, age_days: int) -> dict:
    topic = rng.choice(sorted(TOPICS))
    thing = rng.choice(TOPICS[topic])
    hook, body, cta = rng.choice(sorted(HOOKS)), rng.choice(sorted(BODIES)), rng.choice(sorted(CTAS))
    text = " ".join(part for part in (HOOKS[hook].format(thing=thing), BODIES[body].format(thing=thing),
                                      CTAS[cta]) if part)
    fmt = rng.choice(FORMATS)
    return {
        "id": str(rng.randrange(10**16, 10**17)),
        "posted_at": iso(posted),
        "topic": topic,
        "format": fmt,
        "text": text,
        "concepts": [hook, body, cta],
        "metrics": _metrics(rng, age_days, fmt),
        "comments": _comments(rng, posted, rng.choice([0, 0, 1, 1, 2, 3])),
    }


def build(count: int) -> dict[str, object]:
    """Every file of the sample working directory, by name."""
    rng = random.Random(SEED)
    moments = sorted(FIRST_POST + timedelta(minutes=rng.randint(0, 60 * 24 * 320)) for _ in range(count))
    posts = [_post(rng, moment, (EXPORTED_AT - moment).days) for moment in moments]
    tracker = {
        "account": {"handle": "@lumen.studio", "display_name": "Lumen Studio ✨", "timezone": "Europe/Paris"},
        "last_refreshed": iso(moments[-1] + timedelta(hours=6)),
        "last_review": None,
        "posts": posts,
    }
    # The export: fresh metrics (and new replies) for the last 60 posts, plus posts the tracker has not seen.
    updates = []
    for post in posts[-60:]:
        grown = {key: int(value * rng.uniform(1.0, 1.6)) for key, value in post["metrics"].items()}
        updates.append({"id": post["id"], "metrics": grown,
                        "comments": post["comments"] + _comments(rng, EXPORTED_AT - timedelta(days=2),
                                                                 rng.choice([0, 1]))})
    newest = moments[-1]
    for step in range(1, 6):
        posted = newest + timedelta(hours=9 * step)
        updates.append(_post(rng, posted, (EXPORTED_AT - posted).days))
    export = {"exported_at": iso(EXPORTED_AT), "account": "@lumen.studio", "posts": updates}
    return {
        TRACKER: tracker,
        API_EXPORT: export,
        STYLE_GUIDE: _style_guide(),
        CONCEPT_LIBRARY: _concept_library(),
        BRAND_VOICE: _brand_voice(),
        CONFIG: {"recent_window_days": 14, "exemplar_count": 8, "review": {"top_share": 0.2, "low_share": 0.2},
                 "timezone": "Europe/Paris"},
    }


def _style_guide() -> str:
    return f"""# Style guide — Lumen Studio ✨

Hand-written by the account owner; /review refreshes only the marked region below.

## Voice
- Warm, precise, a little playful. One emoji per post at most, never two in a row.
- Write like a designer talking to a friend at the café, not like a brand.

## Do
- Lead with the hook; cut the first sentence if it is throat-clearing.
- Use the reader's language: "tu" in French replies, 敬語 in Japanese ones.

## Don't
- No hashtags walls. No "link in bio".

{REVIEW_START}
_Not reviewed yet: run /review._
{REVIEW_END}
"""


def _concept_library() -> str:
    lines = ["# Concept library", "", "Reusable building blocks for posts. Hooks open, bodies carry, CTAs close.", ""]
    for concept, note in CONCEPT_NOTES.items():
        lines += [f"## {concept}", "", note, ""]
    lines += ["## Performance", "", REVIEW_START, "_Not reviewed yet: run /review._", REVIEW_END, ""]
    return "\n".join(lines)


def _brand_voice() -> str:
    return """# Brand voice

Lumen Studio is a two-person design studio (Paris ↔ Tōkyō). We make small, careful tools.

- Tone: curious, generous, never smug.
- Words we like: craft, calm, clear. Words we avoid: synergy, hustle, 爆速.
- Sign-off in replies: "— L." (never an emoji alone).
"""


def history() -> list[dict]:
    """Earlier refresh runs, as the refresh log would hold them."""
    return [{"run_id": f"refresh-2026040{day}T063000Z-seed", "timestamp": f"2026-04-0{day}T06:30:00Z",
             "event": "refresh", "updated": 40 + day, "added": day % 3, "source": API_EXPORT}
            for day in (1, 4, 7)]


def main(argv: list[str] | None = None) -> int:
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--posts", type=int, default=300, help="how many tracker posts (default 300)")
    args = cli.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    for name, content in build(args.posts).items():
        statesafe.write(args.dir / name, content if isinstance(content, str) else to_json(content))
    log = args.dir / REFRESH_LOG
    if not log.exists():
        for record in history():
            statesafe.append(log, record)
    print(f"wrote sample working directory {args.dir} ({args.posts} posts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
