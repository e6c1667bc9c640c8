from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class RawWriteToDestructiveFile(Rule):
    '''
    ## What it does
    Checks for a destructive-writes file (the tracker, the style guide, ...) opened for writing,
    written with `Path.write_text` / `write_bytes`, touched, or rewritten in place with
    `fileinput`, instead of going through `statesafe.write`.

    ## Why is this bad?
    FAILSAFE.md requires every write to a destructive file to back the current file up to a
    `.bak-<ISO>` sibling, write a temp beside it and rename the temp over the file. Opening the
    file with `"w"` truncates it first: a crash, a full disk or an exception half-way through
    `json.dump` leaves a half-written tracker and no copy of the months of data it held.

    ## Example
    ```python
    with open(TRACKER, "w") as f:
        json.dump(tracker, f, indent=2)
    ```

    Use instead:
    ```python
    statesafe.write(TRACKER, json.dumps(tracker, indent=2))
    ```

    ## Fix safety
    The fix rewrites `with open(T, "w", encoding="utf-8") as f: json.dump(D, f, **kw)` (optionally
    followed by `f.write("\\n")`), `with open(T, "w", ...) as f: f.write(S)`, `open(T, "w").write(S)`,
    `json.dump(D, open(T, "w"))`, `Path(T).write_text(S, encoding="utf-8")` and `write_bytes` into
    `statesafe.write(T, ...)`, adding `import statesafe`. It keeps the file's bytes: a dump becomes
    `statesafe.write(T, json.dumps(D, **kw) + "\\n")` with the same keyword arguments, and
    statesafe.write writes a str as UTF-8. So a text write is only fixed when it names UTF-8 or
    writes only ASCII (a `json.dump` without `ensure_ascii=False`, an ASCII literal); other `open`
    arguments (`newline=`, `errors=`, buffering) and other modes are not fixed.
    '''

    CODE = "FS101"
    NAME = "raw-write-to-destructive-file"
    MESSAGE = "{api} writes the destructive file {target} in place: no backup, no atomic rename"
    FILE_CLASSES = frozenset({FileClass.DESTRUCTIVE})
    ACTIONS = frozenset({"write", "append", "append-chunked", "touch"})

    VALID = [
        Valid('import statesafe\nstatesafe.write("threads_daily_tracker.json", {"posts": []})\n'),
        Valid('with open("threads_daily_tracker.json") as f:\n    data = f.read()\n'),
        Valid('with open("style_guide.md.example", "w") as f:\n    f.write("# example")\n'),
        Valid('import json\nwith open("report.json", "w") as f:\n    json.dump({}, f)\n'),
        Valid('def save(path, text):\n    open(path, "w").write(text)\n\nsave("notes.txt", "x")\n'),
    ]
    INVALID = [
        Invalid(
            'import json\n\nTRACKER = "threads_daily_tracker.json"\n\n'
            'def save(data):\n    with open(TRACKER, "w") as f:\n        json.dump(data, f, indent=2)\n',
            line=6,
            expected_replacement='import json\nimport statesafe\n\nTRACKER = "threads_daily_tracker.json"\n\n'
            'def save(data):\n    statesafe.write(TRACKER, json.dumps(data, indent=2))\n',
        ),
        Invalid(
            'from pathlib import Path\n\nDATA = Path(__file__).parent / "data"\n'
            '(DATA / "style_guide.md").write_text("# Style\\n")\n',
            line=4,
            expected_replacement='from pathlib import Path\nimport statesafe\n\nDATA = Path(__file__).parent / "data"\n'
            'statesafe.write((DATA / "style_guide.md"), "# Style\\n")\n',
        ),
        Invalid('import io\nio.open("brand_voice.md", mode="w").close()\n', line=2),
        Invalid('import os\nfd = os.open("threads_booster_config.json", os.O_WRONLY | os.O_CREAT)\n', line=2),
        Invalid('import fileinput\nfor line in fileinput.input(["concept_library.md"], inplace=True):\n'
                '    print(line.upper(), end="")\n', line=2),
        Invalid('from pathlib import Path\nPath("threads_daily_tracker.json").touch()\n', line=2),
        Invalid('import codecs\nwith codecs.open("style_guide.md", "w", "utf-8") as f:\n    f.write("x")\n', line=2),
        Invalid('from pathlib import Path\nwith Path("brand_voice.md").open(mode="w") as f:\n    f.write("x")\n',
                line=2),
        Invalid('import pathlib\npathlib.Path("threads_booster_config.json").write_bytes(b"{}")\n', line=2,
                expected_replacement='import pathlib\nimport statesafe\n\n'
                'statesafe.write("threads_booster_config.json", b"{}")\n'),
        Invalid('import json\njson.dump({}, open(file="threads_daily_tracker.json", mode="w"))\n', line=2),
    ]
