from statesafe.auditor.rule import Invalid, Rule, Valid
from statesafe.policy import FileClass


class LogRecordSplit(Rule):
    '''
    ## What it does
    Checks for records appended to an append-only log in pieces: `json.dump(record, f)` into the
    log's handle, or `f.write(json.dumps(record))` whose newline does not follow in the very next
    statement as a write on the same buffered text handle. `f.write(json.dumps(record))` then
    `f.write("\\n")` on a handle opened `"a"` is one line in practice (the buffer sends both in one
    write at close) and is not reported; with a `flush()` between them, or on an unbuffered handle
    (`buffering=0`), each write reaches the file on its own and the record can be torn.

    ## Why is this bad?
    The policy asks for one JSON line per record, written atomically. `json.dump` writes a record
    in many small chunks and never ends it with a newline, so a concurrent writer or a crash
    interleaves or truncates records, and the next record runs into this one. One
    `write(json.dumps(record) + "\\n")` on an append handle, or `statesafe.append`, is one line.

    ## Example
    ```python
    with open(LOG, "a") as f:
        json.dump(record, f)
        f.write("\\n")
    ```

    Use instead:
    ```python
    statesafe.append(LOG, record)
    ```

    ## Fix safety
    No automatic fix: `statesafe.append` adds `run_id` and `timestamp` to each record and keeps
    non-ASCII characters unescaped, so rewriting the append would change the log's lines. Move to
    `statesafe.append` by hand once the log's readers accept those fields.
    '''

    CODE = "FS204"
    NAME = "log-record-split"
    MESSAGE = "{api} appends to the log {target} in pieces: write one newline-terminated line"
    FILE_CLASSES = frozenset({FileClass.LOG})
    ACTIONS = frozenset({"append-chunked"})

    VALID = [
        Valid('import json\nwith open("threads_refresh.log", "a") as f:\n    f.write(json.dumps({"a": 1}) + "\\n")\n'),
        Valid('import json\nwith open("notes.log", "a") as f:\n    json.dump({"a": 1}, f)\n'),
        Valid('import json\nwith open("threads_refresh.log", "a") as f:\n    f.write(json.dumps({"a": 1}))\n'
              '    f.write("\\n")\n'),  # two writes, one buffered line
    ]
    INVALID = [
        Invalid(
            'import json\n\nLOG = "threads_skill_learnings.log"\n\ndef log(record):\n'
            '    with open(LOG, "a") as f:\n        json.dump(record, f)\n        f.write("\\n")\n',
            line=6,
        ),
        Invalid('import json\nwith open("threads_refresh.log", "a") as f:\n    f.write(json.dumps({"a": 1}))\n'
                '    f.flush()\n    f.write("\\n")\n', line=2),
        Invalid('import json\nwith open("threads_refresh.log", "a") as f:\n    f.write(json.dumps({"a": 1}))\n',
                line=2),  # the newline never comes: the next record runs into this one
    ]
