"""What a shell command does to files: shared by subprocess calls and SKILL.md shell blocks.

``operations(command)`` returns (action, path) pairs, action being one of
shell-write (``>``, ``tee``, ``sed -i``, ``dd of=``), shell-append (``>>``,
``tee -a``), shell-copy-onto (``cp``/``install`` destination, ``ln``),
shell-move-onto / shell-move-away (``mv``), shell-delete (``rm``,
``truncate``) and shell-touch. Reading a file (``cp tracker.json /tmp/x``,
``cat``) is no operation on it.
"""

from __future__ import annotations

import shlex

_SEPARATORS = {";", "&&", "||", "|", "&", "\n", "(", ")", "|&"}
_PREFIXES = {"sudo", "command", "exec", "nohup", "time", "env", "xargs"}


def split(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: read it word by word
        return command.split()


def operations(command: str | list[str]) -> list[tuple[str, str]]:
    words = split(command) if isinstance(command, str) else list(command)
    found: list[tuple[str, str]] = []
    simple: list[str] = []
    for word in [*words, ";"]:
        if word in _SEPARATORS:
            found.extend(_simple(simple))
            simple = []
        else:
            simple.append(word)
    return found


def _simple(words: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in (">", ">|", "&>", ">>", "&>>") and i + 1 < len(words):
            found.append(("shell-append" if word.endswith(">>") else "shell-write", words[i + 1]))
            i += 2
            continue
        if word in ("<", ">&", "<&") and i + 1 < len(words):
            i += 2
            continue
        if word.isdigit() and i + 1 < len(words) and words[i + 1] in (">", ">>", ">&", "<"):
            i += 1
            continue
        rest.append(word)
        i += 1
    while rest and ("=" in rest[0] and not rest[0].startswith("-") or rest[0] in _PREFIXES):
        rest.pop(0)
    if not rest:
        return found
    program = rest[0].rsplit("/", 1)[-1]
    options = [w for w in rest[1:] if w.startswith("-") and w != "-"]
    operands = [w for w in rest[1:] if not w.startswith("-") or w == "-"]
    if program == "tee":
        action = "shell-append" if {"-a", "--append"} & set(options) else "shell-write"
        found.extend((action, w) for w in operands)
    elif program in ("sed", "perl", "ruby"):
        in_place = any(o.startswith(("-i", "--in-place")) or (o.startswith("-") and not o.startswith("--")
                                                                 and "i" in o[1:] and program != "sed")
                       for o in options)
        if in_place:
            has_script_option = any(o in ("-e", "--expression", "-f") or o.startswith("-e") for o in options)
            files = operands if has_script_option else operands[1:]
            found.extend(("shell-write", w) for w in files)
    elif program in ("cp", "install", "ln", "rsync") and len(operands) >= 2:
        dst = operands[-1]
        if dst.endswith("/"):
            found.extend(("shell-copy-onto", dst + s.rsplit("/", 1)[-1]) for s in operands[:-1])
        else:
            found.append(("shell-copy-onto", dst))
    elif program == "mv" and len(operands) >= 2:
        dst = operands[-1]
        for src in operands[:-1]:
            found.append(("shell-move-away", src))
            found.append(("shell-move-onto", dst + src.rsplit("/", 1)[-1] if dst.endswith("/") else dst))
    elif program in ("rm", "unlink", "shred"):
        found.extend(("shell-delete", w) for w in operands)
    elif program == "truncate":
        sized = [w for w in rest[1:]]
        files = [w for j, w in enumerate(sized) if not w.startswith("-") and (j == 0 or sized[j - 1] not in ("-s",))]
        found.extend(("shell-delete", w) for w in files)
    elif program == "touch":
        found.extend(("shell-touch", w) for w in operands)
    elif program == "dd":
        found.extend(("shell-write", w[3:]) for w in rest[1:] if w.startswith("of="))
    return found
