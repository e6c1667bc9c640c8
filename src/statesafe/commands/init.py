"""``statesafe init``: adopt statesafe in an existing skill folder, idempotently.

It never clobbers a file it did not write: an existing config is left alone, an
existing ``.pre-commit-config.yaml`` is merged into (after a statesafe backup),
and a second run finds nothing to do.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from statesafe.errors import ConfigError
from statesafe.policy import CONFIG_NAME, DEFAULTS, FileClass, find_source, load_file

PRECOMMIT_NAME = ".pre-commit-config.yaml"
HOOK_ID = "statesafe-audit"
# A local hook: it runs the statesafe installed beside the skill, so no network fetch is needed.
# Same filters as .pre-commit-hooks.yaml: Python files and SKILL.md only (other markdown never reaches
# the auditor), one invocation per commit (require_serial) so cross-file findings are reported once.
HOOK_ENTRY = """\
- repo: local
  hooks:
    - id: statesafe-audit
      name: statesafe audit (persistent-state write policy)
      entry: statesafe audit
      language: system
      types_or: [python, markdown]
      exclude: '(^|/)(?!SKILL\\.md$)[^/]*\\.(md|markdown|mdown|mkd|mkdn|mdx)$'
      require_serial: true
"""


def default_config() -> str:
    lines = ["# statesafe policy (defaults of FAILSAFE.md 1.0.0); see docs/policy.md", ""]
    for key, value in DEFAULTS.items():
        if isinstance(value, tuple):
            items = ",\n".join(f'    "{item}"' for item in value)
            lines.append(f"{key} = [\n{items},\n]")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def merge_precommit(text: str, path: Path) -> str | None:
    """The config with our hook added, or None if it is there already.

    Block-style YAML only: the entry goes first under the top-level ``repos:`` key,
    indented like the entries already there. Anything else is refused, not guessed at.
    """
    if re.search(rf"^\s*-?\s*id:\s*['\"]?{HOOK_ID}['\"]?\s*$", text, re.M):
        return None
    repos = re.search(r"^repos:[ \t]*(#.*)?$", text, re.M)
    if not repos:
        raise ConfigError(path, "no top-level block 'repos:' list to add the statesafe-audit hook to; "
                                "add it by hand (see docs/audit.md)")
    after = text[repos.end():]
    first_item = re.search(r"^([ \t]*)- ", after, re.M)
    indent = first_item.group(1) if first_item else ""
    entry = "".join(indent + line if line else line for line in HOOK_ENTRY.splitlines(keepends=True))
    head = text[: repos.end()] + "\n"
    return head + entry + after.lstrip("\n")


def adopt_policy(directory: Path, actions: list[str]) -> None:
    source = find_source(directory)
    if source is not None and source.parent == directory:
        policy = load_file(source)  # a broken source is reported, not replaced
        actions.append(f"kept {source.name}: the policy comes from it "
                       f"({len(policy.destructive)} destructive, {len(policy.logs)} logs, "
                       f"{len(policy.companion)} companion, {len(policy.compiled)} compiled)")
        return
    from statesafe.writers import write

    write(directory / CONFIG_NAME, default_config())
    note = f"; nearer than {source}" if source else ""
    actions.append(f"wrote {CONFIG_NAME} with the default policy{note}")


def add_precommit_hook(directory: Path, actions: list[str]) -> None:
    from statesafe.writers import write

    path = directory / PRECOMMIT_NAME
    if not path.exists():
        write(path, "repos:\n" + HOOK_ENTRY)
        actions.append(f"wrote {PRECOMMIT_NAME} with the {HOOK_ID} hook")
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from None
    merged = merge_precommit(text, path)
    if merged is None:
        actions.append(f"kept {PRECOMMIT_NAME}: {HOOK_ID} is already there")
        return
    write(path, merged, as_class=FileClass.DESTRUCTIVE)  # backed up: it is the user's file
    actions.append(f"added {HOOK_ID} to {PRECOMMIT_NAME} (backup beside it)")


@click.command()
@click.argument("directory", required=False, default=".",
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--claude-hook", is_flag=True, help="Also install the Claude Code PreToolUse hook.")
def init(directory: Path, claude_hook: bool):
    """Adopt statesafe in the skill folder DIRECTORY (default: here)."""
    directory = directory.resolve()
    actions: list[str] = []
    adopt_policy(directory, actions)
    add_precommit_hook(directory, actions)
    if claude_hook:
        from statesafe.agents.claude_install import install_claude

        actions.append(install_claude(str(directory)))
    for action in actions:
        click.echo(f"- {action}")
    click.echo("\nNext:\n  statesafe policy      # check which files are protected\n"
               "  statesafe audit .     # find raw writes in the skill's scripts\n"
               "  pre-commit install    # run the audit on every commit")
    if not claude_hook:
        click.echo("  statesafe hook install claude   # refuse the agent's raw writes too")

