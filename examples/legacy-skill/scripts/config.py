"""File names and defaults for the Threads booster scripts."""

TRACKER_FILE = "threads_daily_tracker.json"
STYLE_GUIDE_FILE = "style_guide.md"
CONCEPTS_FILE = "concept_library.md"
BRAND_VOICE_FILE = "brand_voice.md"
BOOSTER_CONFIG = "threads_booster_config.json"

REFRESH_LOG = "threads_refresh.log"
FRESHNESS_LOG = "threads_freshness.log"
LEARNINGS_LOG = "threads_skill_learnings.log"

COMPILED_DIR = "compiled"
EXPORT_FILE = "api_export.json"

REVIEW_START = "<!-- review:start -->"
REVIEW_END = "<!-- review:end -->"
