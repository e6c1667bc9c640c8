"""Apply mode of ``statesafe hook claude --apply``: do the agent's edit the policy's way, then refuse it.

The agent's Write, Edit or MultiEdit is turned into the new file content exactly
as Claude Code would (an Edit's old_string must be found, and be unique unless
replace_all), written through ``statesafe.write`` (backup, temp, rename), and
the original tool call is refused with a reason saying it is already done. On
a log, a change that only adds complete JSON lines at the end becomes
``statesafe.append`` calls; anything else on a log is refused as usual.

It writes under the policy that classified the file (the judge's rule: the
working directory's policy first, then the file's own folder's), and uses the
judge's wording for what it still refuses; it does not import the adapter.
"""

from __future__ import annotations

import json

from statesafe.agents.judge import refusal, shown_path
from statesafe.errors import StatesafeError
from statesafe.policy import FileClass, Policy


class EditError(ValueError):
    """An edit Claude Code itself would reject; the message is the one the agent would see."""


def edited(tool: str, tool_input: dict, current: str | None) -> str:
    """The file content after the agent's Write / Edit / MultiEdit (current: None when the file is new)."""
    if tool == "Write":
        content = tool_input.get("content")
        if not isinstance(content, str):
            raise EditError("Write without a content string.")
        return content
    edits = [tool_input] if tool == "Edit" else tool_input.get("edits")
    if not isinstance(edits, list) or not edits or not all(isinstance(e, dict) for e in edits):
        raise EditError("MultiEdit without a list of edits.")
    text = current
    for number, edit in enumerate(edits, 1):
        old, new = edit.get("old_string"), edit.get("new_string")
        where = f" (edit {number})" if tool == "MultiEdit" else ""
        if not isinstance(old, str) or not isinstance(new, str):
            raise EditError(f"old_string and new_string must be strings{where}.")
        if text is None:
            if old:
                raise EditError("File does not exist.")
            text = new
            continue
        if old == "":
            raise EditError(f"Cannot create new file - file already exists{where}.")
        if old == new:
            raise EditError(f"No changes to make: old_string and new_string are exactly the same{where}.")
        count = text.count(old)
        if count == 0:
            raise EditError(f"String to replace not found in file{where}.\nString: {old}")
        if count > 1 and not edit.get("replace_all"):
            raise EditError(f"Found {count} matches of the string to replace, but replace_all is false{where}. "
                            "To replace all occurrences, set replace_all to true. To replace only one "
                            "occurrence, please provide more context to uniquely identify the instance.\n"
                            f"String: {old}")
        text = text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)
    return text


def appended_records(current: str | None, new: str) -> list[dict] | None:
    """The JSON records ``new`` adds at the end of ``current``, or None if it changes anything else."""
    current = current or ""
    if not new.startswith(current) or new == current:
        return None
    added = new[len(current):]
    if current and not current.endswith("\n") and not added.startswith("\n"):
        return None  # it would extend the last line
    records = []
    for line in added.strip("\n").split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        records.append(record)
    return records


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError("The file is not UTF-8 text.") from None


def apply_edit(tool: str, tool_input: dict, path: str, file_class: FileClass, policy: Policy, cwd: str) -> str:
    """Perform the edit through statesafe's writers when the class allows it; return the reason to send.

    file_class and policy: the path's class and the policy that gave it
    (:meth:`statesafe.agents.judge.Classifier.which`). The file's lock is held from
    reading the current content to the rename, so an edit computed against one
    version never lands on another.
    """
    import statesafe

    if file_class is FileClass.BACKUP:
        return refusal(f"{tool} would change", path, file_class, cwd)
    shown = shown_path(path, cwd)
    records, written = [], []
    try:
        with statesafe.lock(path):
            current = _read(path)
            new = edited(tool, tool_input, current)
            if file_class is FileClass.LOG:
                records = appended_records(current, new)
                if records is None:
                    return refusal(f"{tool} would rewrite", path, file_class, cwd)
                for record in records:
                    written.append(statesafe.append(path, record, policy=policy))
                return (f"statesafe: done: your {tool} only added {len(records)} record(s) at the end of {shown}, "
                        "so statesafe appended them itself (one atomic append each, with run_id and timestamp "
                        "when missing). The log now holds them; do not repeat this edit.")
            statesafe.write(path, new.encode("utf-8"), as_class=file_class, policy=policy)
    except (EditError, StatesafeError) as exc:
        if written:
            return _part_appended(tool, shown, exc, records, written)
        return f"statesafe: could not apply this {tool} to {shown}: {exc}\nNothing was changed."
    backup = ""
    if file_class is FileClass.DESTRUCTIVE and current is not None:
        found = statesafe.backups(path)
        backup = f" (previous version kept as {found[0].name})" if found else ""
    return (f"statesafe: done: statesafe applied this {tool} to {shown} itself, the policy's way: backup, "
            f"temp file, atomic rename{backup}. The file now holds your change; do not repeat it, "
            "carry on with the next step.")


def _part_appended(tool: str, shown: str, exc: Exception, records: list[dict], written: list[dict]) -> str:
    """The reason when an append failed after others landed: what the log holds now, and what is left to do."""
    rest = records[len(written):]
    return (f"statesafe: could not apply all of this {tool} to {shown}: {exc}\n"
            f"{len(written)} of the {len(records)} record(s) you added were appended, as:\n"
            + "\n".join(json.dumps(fields) for fields in written)
            + f"\nThe other {len(rest)} were not. Do not repeat this edit: append only these, each with "
            f"`statesafe append {shown} JSON`:\n" + "\n".join(json.dumps(record) for record in rest))
