"""What a Bash command line would write: the agent hook's view of the Bash tool.

Best effort, on purpose. The command is tokenised with :mod:`shlex` (quotes,
escapes and operators as the shell sees them, never a regex over the whole
line), split into simple commands at ``;``, ``&&``, ``||``, ``|``, ``&``,
newlines, subshell parentheses and backticks, and each simple command is read
for the files it would change: redirections, ``tee``, ``sed -i`` / ``perl -i``,
``cp`` / ``mv`` / ``install`` / ``ln`` onto a file, ``rm`` / ``unlink`` /
``shred``, ``truncate``, ``touch`` of a new file, ``dd of=``, ``curl -o`` /
``wget -O``, ``find -delete``, ``git checkout`` / ``restore`` / ``rm`` / ``mv``,
``rsync``, ``patch`` (with the diff's own file names), ``awk -i inplace``,
``python -c`` code and python or shell
heredocs, ``bash -c`` / ``sh -c`` / ``eval`` strings (recursively), after
``cd`` and wrappers such as ``sudo``, ``env``, ``timeout`` or ``uv run``.

This module knows nothing about the policy: it reports
:class:`statesafe.effects.Effect` s (a path and what would happen to it) and
its callers classify the paths. It asks the machine only through the
:class:`~statesafe.readers.Filesystem` it is given: the agent hook passes the
real one (``$VARS``, globs and folders as they are where the command will run),
the auditor one where nothing exists (it must not read the auditing machine).
What it cannot see is listed in docs/agent-hook.md (scripts run by name,
``xargs``, variables set earlier in the session, ...).
"""

from __future__ import annotations

import io
import os
import re
import shlex
from collections import namedtuple

from statesafe.effects import Effect, Kind
from statesafe.readers import LOCAL, Filesystem

WRITE, APPEND, DELETE, CREATE, TRUNCATE = Kind.WRITE, Kind.APPEND, Kind.DELETE, Kind.CREATE, Kind.TRUNCATE

_MAX_DEPTH = 8  # bash -c "bash -c ..." nesting we follow


class ShellSyntaxError(ValueError):
    """A command line shlex cannot tokenise (an unclosed quote, a dangling escape)."""


# --- tokens ----------------------------------------------------------------------------

_PUNCT = "();<>|&\n`"
#: operators, longest first, for splitting a run of punctuation shlex returns as one token
_OPERATORS = ("&>>", "<<<", ">>", "<<", "&&", "||", ";;", "|&", "&>", ">&", "<>", ">|", "<&",
              ";", "&", "|", "<", ">", "(", ")", "\n", "`")
_SEPARATORS = {";", "&", "|", "&&", "||", ";;", "|&", "(", ")", "\n", "`"}
_REDIRECTS = {">": WRITE, ">|": WRITE, "&>": WRITE, ">&": WRITE, "<>": WRITE, ">>": APPEND, "&>>": APPEND}


#: quoted: had quotes or escapes (no glob, no tilde, not an operator);
#: glued: the next token starts right after it (the 2 of 2>)
_Token = namedtuple("_Token", "text quoted glued", defaults=(False, False))


class _Lexer(shlex.shlex):
    """shlex that also reports, per token, whether it was an operator or quoted.

    shlex already knows both (its "c" state reads punctuation, its quote states
    read quotes); the ``state`` property records them, so ``echo '>' x`` is not
    a redirection. Comments and heredoc bodies are read raw from the stream.
    It leans on shlex internals (``state``, ``_pushback_chars``), unchanged from
    Python 3.10 to 3.13; tests/test_shell.py would catch a change.
    """

    def __init__(self, text: str):
        self._op = self._quoted = False
        self._state: str | None = None
        super().__init__(text, posix=True, punctuation_chars=_PUNCT)
        self.whitespace = " \t\r"
        self.whitespace_split = True
        self.commenters = ""  # '#' starts a comment only at a word's start: handled in tokens()

    @property
    def state(self):
        return self._state

    @state.setter
    def state(self, value):
        self._state = value
        if value == "c":
            self._op = True
        elif value is not None and value in "'\"\\":
            self._quoted = True

    def read_token(self):
        self._op = self._quoted = False
        return super().read_token()

    def take_rest(self) -> str:
        """The raw text not read yet (the stream reads it next)."""
        rest = "".join(reversed(self._pushback_chars)) + self.instream.read()
        self._pushback_chars.clear()
        return rest

    def feed(self, text: str) -> None:
        self.instream = io.StringIO(text)


def _split_operators(run: str) -> list[str]:
    ops = []
    while run:
        op = next(o for o in _OPERATORS if run.startswith(o))
        ops.append(op)
        run = run[len(op):]
    return ops


class _Simple:
    """One simple command: words, redirections, and the stdin text of a heredoc."""

    __slots__ = ("words", "redirects", "stdin")

    def __init__(self, words: list[_Token], redirects: list[tuple[str, _Token]]):
        self.words = words
        self.redirects = redirects
        self.stdin: str | None = None


def _simple_commands(text: str) -> list[_Simple]:
    """Split a command line into simple commands (heredoc bodies attached to theirs)."""
    lexer = _Lexer(text.replace("\\\n", ""))
    commands: list[_Simple] = []
    current = _Simple([], [])
    pending_heredocs: list[tuple[_Simple, str, bool]] = []
    pending_redirect: str | None = None

    def finish():
        nonlocal current
        if current.words or current.redirects:
            commands.append(current)
        current = _Simple([], [])

    try:
        while True:
            raw = lexer.get_token()
            if raw is None:
                break
            op, quoted, glued = lexer._op, lexer._quoted, bool(lexer._pushback_chars)
            if not op and not quoted and raw.startswith("#") and pending_redirect is None:
                rest = lexer.take_rest()  # a comment: up to the end of the line
                lexer.feed(rest[rest.index("\n"):] if "\n" in rest else "")
                continue
            if not op:
                token = _Token(raw, quoted=quoted, glued=glued)
                if pending_redirect is None:
                    current.words.append(token)
                elif pending_redirect == "<<":  # '-' is a word character to shlex: <<-EOF reads as << -EOF
                    strip_tabs = raw.startswith("-")
                    pending_heredocs.append((current, raw[1:] if strip_tabs else raw, strip_tabs))
                    pending_redirect = None
                elif pending_redirect == "<<<":
                    current.stdin = raw
                    pending_redirect = None
                else:
                    current.redirects.append((pending_redirect, token))
                    pending_redirect = None
                continue
            for operator in _split_operators(raw):
                if pending_redirect is not None and operator == "(":
                    pending_redirect = None  # <(...) / >(...): process substitution, not a file
                if operator in _SEPARATORS:
                    pending_redirect = None
                    finish()
                    if operator == "\n" and pending_heredocs:
                        lexer.feed(_read_heredocs(lexer.take_rest(), pending_heredocs))
                        pending_heredocs = []
                elif operator in ("<", "<&"):
                    pending_redirect = "<"
                else:
                    if current.words and current.words[-1].text.isdigit() and current.words[-1].glued:
                        current.words.pop()  # the fd of 2> / 1>>
                    pending_redirect = operator
    except ValueError as exc:
        raise ShellSyntaxError(str(exc)) from None
    finish()
    if pending_heredocs:  # a heredoc on the last line with no body: bash reads nothing
        for owner, _, _ in pending_heredocs:
            owner.stdin = owner.stdin or ""
    return commands


def _read_heredocs(rest: str, pending: list[tuple[_Simple, str, bool]]) -> str:
    """Attach each pending heredoc's body to its command; return the text after the bodies."""
    lines = rest.splitlines(keepends=True)
    index = 0
    for owner, delimiter, strip_tabs in pending:
        body = []
        while index < len(lines):
            line = lines[index]
            index += 1
            if (line.lstrip("\t") if strip_tabs else line).rstrip("\r\n") == delimiter:
                break
            body.append(line.lstrip("\t") if strip_tabs else line)
        owner.stdin = "".join(body)
    return "".join(lines[index:])


# --- words -----------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_GLOB = re.compile(r"[*?\[]")
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}


def _expand(token: _Token, cwd: str, fs: Filesystem) -> list[str]:
    """The word(s) the shell would pass: ~ and $VARS expanded, unquoted globs matched."""
    text = fs.expand_vars(token.text)
    if token.quoted:
        return [text]
    if text.startswith("~"):
        text = fs.expand_user(text)
    if _GLOB.search(text):
        matches = sorted(fs.glob(os.path.join(cwd, text)))
        if matches:
            return matches if os.path.isabs(text) else [os.path.relpath(m, cwd) for m in matches]
    return [text]


def _abs(path: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, path))


def _stdin(command: "_Simple", cwd: str, fs: Filesystem) -> str | None:
    """What a command reads on stdin: a heredoc's body, or the file of a `<` redirection."""
    if command.stdin is not None:
        return command.stdin
    for operator, source in command.redirects:
        if operator == "<":
            return fs.read_text(_abs(_expand(source, cwd, fs)[0], cwd))
    return None


def _remote(operand: str) -> bool:
    """host:path or rsync://...: not a local file."""
    colon = operand.find(":")
    return colon > 0 and "/" not in operand[:colon]


def _diff_targets(diff: str, strip: int | None) -> list[str]:
    """The files a diff edits: the names in its ---/+++ (or ***/---) headers, after patch's -p strip.

    Without -p, patch uses the base name. /dev/null (a created or deleted file's other side) is skipped.
    """
    lines = diff.splitlines()
    names = []
    for first, second in zip(lines, lines[1:]):
        if (first.startswith("--- ") and second.startswith("+++ ")) or (
                first.startswith("*** ") and second.startswith("--- ") and not first.rstrip().endswith("****")):
            for header in (first, second):
                name = header[4:].split("\t", 1)[0].strip()
                if not name or name == "/dev/null":
                    continue
                if strip is None:
                    name = os.path.basename(name)
                else:
                    name = "/".join(name.split("/")[strip:])
                if name and name not in names:
                    names.append(name)
    return names


#: commands and keywords that run the words after them, with their options that take a value
_WRAPPERS = {"sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"},
             "env": {"-u", "-C", "-S"}, "nice": {"-n"}, "timeout": {"-s", "-k"},
             "stdbuf": {"-i", "-o", "-e"}, "ionice": {"-c", "-n", "-p"},
             "uv": {"--with", "--python", "-p", "--project", "--directory", "--extra", "--group",
                    "--env-file", "--index", "--package"},
             "poetry": set(), "pipenv": set(), "command": set(), "exec": {"-a"}, "builtin": set(),
             "nohup": set(), "time": set(), "!": set(), "then": set(), "do": set(), "else": set(),
             "{": set(), "if": set(), "while": set(), "until": set(), "elif": set()}


def _strip_prefixes(argv: list[str]) -> list[str]:
    """Drop assignments and wrappers (sudo, env, nice, timeout, uv run, ...) before the real command."""
    i = 0
    while i < len(argv):
        word = argv[i]
        name = os.path.basename(word)
        if _ASSIGNMENT.match(word):
            i += 1
        elif name in _WRAPPERS:
            i += 1
            if name in ("uv", "poetry", "pipenv") and i < len(argv) and argv[i] == "run":
                i += 1
            while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
                takes_value = argv[i] in _WRAPPERS[name]
                i += 2 if takes_value else 1
            if name == "timeout" and i < len(argv):
                i += 1  # the duration
        else:
            break
    return argv[i:]


def _operands(args: list[str], with_value: set[str] = frozenset()) -> tuple[list[str], dict[str, str]]:
    """Split args into operands and options (an option's value under its name); '--' ends options."""
    operands, options = [], {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            operands.extend(args[i + 1:])
            break
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            options[key] = value
        elif arg in with_value:
            options[arg] = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        elif arg.startswith("-") and arg != "-":
            options[arg] = ""
        else:
            operands.append(arg)
        i += 1
    return operands, options


def _has_flag(options: dict[str, str], short: str, *long: str) -> bool:
    return any(key in long or (key.startswith("-") and not key.startswith("--") and short in key[1:])
               for key in options)


# --- commands --------------------------------------------------------------------------

class _Analyzer:
    def __init__(self, cwd: str, fs: Filesystem):
        self.cwd = cwd
        self.fs = fs
        self.effects: list[Effect] = []

    def is_dir(self, path: str) -> bool:
        return self.fs.is_dir(_abs(path, self.cwd))

    def exists(self, path: str) -> bool:
        return self.fs.exists(_abs(path, self.cwd))

    def add(self, path: str, kind: str, how: str, **extra) -> None:
        self.effects.append(Effect(_abs(path, self.cwd), kind, how, **extra))

    def run(self, text: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            raise ShellSyntaxError("commands nested too deeply to follow")
        for command in _simple_commands(text):
            self.simple(command, depth)

    def simple(self, command: _Simple, depth: int) -> None:
        for operator, target in command.redirects:
            if operator not in _REDIRECTS or (operator == ">&" and (target.text.isdigit() or target.text == "-")):
                continue  # an input, or >&2 / >&-: a descriptor, not a file
            for path in _expand(target, self.cwd, self.fs)[:1]:
                self.add(path, _REDIRECTS[operator], f"`{operator}` redirection")
        argv = _strip_prefixes([w for token in command.words for w in _expand(token, self.cwd, self.fs)])
        if not argv:
            return
        name = os.path.basename(argv[0])
        args = argv[1:]
        if _PYTHON.match(name):
            self.python(args, command.stdin, depth)
        elif name in _SHELLS:
            self.shell(args, command.stdin, depth)
        else:
            handler = getattr(self, "cmd_" + name.replace("-", "_"), None)
            if handler == self.cmd_patch:
                handler(args, depth, _stdin(command, self.cwd, self.fs))
            elif handler is not None:
                handler(args, depth)

    # each cmd_<name> reads one command's arguments

    def cmd_cd(self, args, depth):
        operands, _ = _operands(args)
        target = operands[0] if operands else self.fs.expand_user("~")
        if target != "-":
            self.cwd = _abs(target, self.cwd)

    cmd_pushd = cmd_cd

    def cmd_tee(self, args, depth):
        operands, options = _operands(args)
        kind = APPEND if _has_flag(options, "a", "--append") else WRITE
        for path in operands:
            self.add(path, kind, "tee -a" if kind == APPEND else "tee")

    def cmd_sponge(self, args, depth):
        operands, options = _operands(args)
        kind = APPEND if _has_flag(options, "a") else WRITE
        for path in operands:
            self.add(path, kind, "sponge")

    def cmd_sed(self, args, depth):
        in_place, script_given, operands = False, False, []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                operands.extend(args[i + 1:])
                break
            if arg.startswith("--"):
                key = arg.split("=", 1)[0]
                in_place |= key == "--in-place"
                if key in ("--expression", "--file"):
                    script_given = True
                    i += "=" not in arg
            elif arg.startswith("-") and arg != "-":
                for position, flag in enumerate(arg[1:], 1):
                    if flag == "i":
                        in_place = True
                        break  # the rest is the backup suffix
                    if flag in "efl":
                        script_given |= flag in "ef"
                        i += position == len(arg) - 1  # the value is the next argument
                        break
            else:
                operands.append(arg)
            i += 1
        if in_place:
            for path in operands[0 if script_given else 1:]:
                self.add(path, WRITE, "sed -i (in-place edit)")

    def cmd_perl(self, args, depth):
        operands, options = _operands(args, {"-e", "-E", "-M", "-I"})
        if any(key.startswith("-") and not key.startswith("--") and "i" in key[1:]
               and not key.startswith(("-e", "-E", "-M", "-I")) for key in options):
            script_given = "-e" in options or "-E" in options
            for path in operands[0 if script_given else 1:]:
                self.add(path, WRITE, "perl -i (in-place edit)")

    def _onto(self, args, depth, verb, with_value, moves_source):
        onto = Kind.MOVE_ONTO if moves_source else Kind.COPY_ONTO
        operands, options = _operands(args, with_value)
        directory = options.get("-t", options.get("--target-directory"))
        if directory is None and len(operands) >= 2 and not _has_flag(options, "T", "--no-target-directory") \
                and (len(operands) > 2 or self.is_dir(operands[-1])):
            directory = operands.pop()
        elif directory is None:
            if len(operands) < 2:
                return
            self.add(operands.pop(), onto, f"{verb} onto it")
        recursive = _has_flag(options, "r", "--recursive") or _has_flag(options, "R") or \
            _has_flag(options, "a", "--archive") or verb == "mv"
        for source in operands:
            if directory is not None:
                landing = os.path.join(directory, os.path.basename(source.rstrip("/")))
                tree = recursive and self.is_dir(source)
                self.add(landing, onto, f"{verb} into {directory}", tree=tree)
            if moves_source:
                self.add(source, Kind.RENAME_FROM, f"{verb} (moves it away)", tree=self.is_dir(source))

    def cmd_cp(self, args, depth):
        self._onto(args, depth, "cp", {"-t", "-S", "--suffix", "--target-directory"}, False)

    def cmd_mv(self, args, depth):
        self._onto(args, depth, "mv", {"-t", "-S", "--suffix", "--target-directory"}, True)

    def cmd_install(self, args, depth):
        _, options = _operands(args, {"-m", "-o", "-g", "-t", "-S", "--mode", "--owner", "--group"})
        if not _has_flag(options, "d", "--directory"):
            self._onto(args, depth, "install", {"-m", "-o", "-g", "-t", "-S", "--mode", "--owner", "--group"},
                       False)

    def cmd_ln(self, args, depth):
        self._onto(args, depth, "ln", {"-t", "-S", "--suffix", "--target-directory"}, False)

    def cmd_rm(self, args, depth):
        operands, options = _operands(args)
        recursive = _has_flag(options, "r", "--recursive") or _has_flag(options, "R")
        for path in operands:
            if recursive and (self.is_dir(path) or not self.exists(path)):  # a folder, or one unseen
                self.add(path, Kind.REMOVE_TREE, "rm -r", tree=True)
            else:
                self.add(path, DELETE, "rm")

    def cmd_unlink(self, args, depth):
        for path in _operands(args)[0]:
            self.add(path, DELETE, "unlink")

    def cmd_shred(self, args, depth):
        for path in _operands(args, {"-n", "-s", "--iterations", "--size"})[0]:
            self.add(path, WRITE, "shred")

    def cmd_truncate(self, args, depth):
        for path in _operands(args, {"-s", "-r", "--size", "--reference"})[0]:
            self.add(path, TRUNCATE, "truncate")

    def cmd_touch(self, args, depth):
        for path in _operands(args, {"-d", "-r", "-t", "--date", "--reference"})[0]:
            if not self.exists(path):
                self.add(path, CREATE, "touch (creates it)")

    def cmd_dd(self, args, depth):
        for arg in args:
            if arg.startswith("of="):
                self.add(arg[3:], WRITE, "dd of=")

    def cmd_curl(self, args, depth):
        _, options = _operands(args, {"-o", "--output"})
        for key in ("-o", "--output"):
            if options.get(key):
                self.add(options[key], WRITE, f"curl {key}")

    def cmd_wget(self, args, depth):
        _, options = _operands(args, {"-O", "--output-document"})
        for key in ("-O", "--output-document"):
            if options.get(key) and options[key] != "-":
                self.add(options[key], WRITE, f"wget {key}")

    def cmd_find(self, args, depth):
        starts = []
        for arg in args:
            if arg.startswith(("-", "(", "!")):
                break
            starts.append(arg)
        destructive = {"rm", "mv", "unlink", "shred", "truncate", "sed", "perl", "tee", "cp"}
        deletes = "-delete" in args or any(
            arg in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(args)
            and os.path.basename(args[i + 1]) in destructive for i, arg in enumerate(args))
        if deletes:
            names = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-name", "-iname")]
            for start in starts or ["."]:
                for name in names or [None]:
                    self.add(start, DELETE, "find -delete / -exec", tree=True, name=name)

    def cmd_git(self, args, depth):
        """git checkout / restore replace files from the repository; git rm / mv delete and move them."""
        base, i = self.cwd, 0
        while i < len(args) and args[i].startswith("-"):
            if args[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace"):
                if args[i] == "-C" and i + 1 < len(args):
                    base = _abs(args[i + 1], base)
                i += 1
            i += 1
        if i >= len(args):
            return
        handler = getattr(self, "_git_" + args[i], None)
        if handler is not None:
            cwd, self.cwd = self.cwd, base
            try:
                handler(args[i + 1:], depth)
            finally:
                self.cwd = cwd

    def _git_checkout(self, args, depth):
        if "--" in args:
            paths = args[args.index("--") + 1:]
        else:
            operands, options = _operands(args, {"-b", "-B", "--orphan", "--conflict"})
            if {"-b", "-B", "--orphan"} & options.keys():
                return  # a new branch: the operands are start points
            # git checkout TREE PATH...; one operand is a branch unless such a path exists
            paths = operands[1:] or [p for p in operands if self.exists(p)]
        self._replaced(paths, "git checkout (replaces it from git)")

    def _git_restore(self, args, depth):
        operands, options = _operands(args, {"-s", "--source"})
        staged_only = _has_flag(options, "S", "--staged") and not _has_flag(options, "W", "--worktree")
        if not staged_only:
            self._replaced(operands, "git restore (replaces it from git)")

    def _replaced(self, paths, how):
        for path in paths:
            self.add(path, WRITE, how, tree=self.is_dir(path))

    def _git_rm(self, args, depth):
        operands, options = _operands(args)
        if "--cached" not in options:
            recursive = _has_flag(options, "r")
            for path in operands:
                if recursive and (self.is_dir(path) or not self.exists(path)):
                    self.add(path, Kind.REMOVE_TREE, "git rm -r", tree=True)
                else:
                    self.add(path, DELETE, "git rm")

    def _git_mv(self, args, depth):
        self._onto(args, depth, "git mv", set(), True)

    def cmd_rsync(self, args, depth):
        """The last operand is the target: a file, or a folder the sources land in."""
        operands, options = _operands(args, {"-e", "--rsh", "-f", "--filter", "--exclude", "--include", "-T",
                                             "--temp-dir", "--backup-dir", "--chmod", "--partial-dir", "-M",
                                             "--rsync-path", "--password-file", "--files-from", "--port",
                                             "--suffix", "-B", "--block-size", "--out-format", "--log-file"})
        if options.get("--log-file"):
            self.add(options["--log-file"], APPEND, "rsync --log-file")
        if len(operands) < 2 or _remote(operands[-1]):
            return
        target = operands.pop()
        into = target.endswith("/") or len(operands) > 1 or self.is_dir(target)
        for source in operands:
            if not into:
                self.add(target, Kind.COPY_ONTO, "rsync onto it")
            elif source.endswith("/"):  # a folder's content, not the folder, lands in the target
                self.add(target, Kind.COPY_ONTO, f"rsync into {target}", tree=True)
            else:
                landing = os.path.join(target, os.path.basename(source.rstrip("/")))
                self.add(landing, Kind.COPY_ONTO, f"rsync into {target}", tree=self.is_dir(source))
            if "--remove-source-files" in options and not _remote(source):
                self.add(source, Kind.RENAME_FROM, "rsync --remove-source-files")
        if any(key.startswith("--del") for key in options) and self.is_dir(target):
            self.add(target, DELETE, "rsync --delete", tree=True)

    def cmd_patch(self, args, depth, stdin=None):
        """The file named on the line, or else those named in the diff (from -i, a `<` file or a heredoc)."""
        operands, options = _operands(args, {"-i", "--input", "-p", "--strip", "-d", "--directory", "-o",
                                             "--output", "-r", "--reject-file", "-B", "--prefix", "-D",
                                             "--ifdef", "-F", "--fuzz", "-V", "-z", "--suffix", "-Y"})
        if "--dry-run" in options:
            return
        output = options.get("-o", options.get("--output"))
        if output:
            if output != "-":
                self.add(output, WRITE, "patch -o")
            return
        directory = options.get("-d", options.get("--directory", "."))
        if operands:
            self.add(os.path.join(directory, operands[0]), WRITE, "patch (edits it in place)")
            return
        diff = options.get("-i", options.get("--input"))
        text = self.fs.read_text(_abs(diff, self.cwd)) if diff else stdin
        strip = next((key[2:] for key in options if key.startswith("-p") and key[2:].isdigit()),
                     options.get("-p", options.get("--strip")))
        for name in _diff_targets(text or "", int(strip) if strip and strip.isdigit() else None):
            self.add(os.path.join(directory, name), WRITE, "patch (edits it in place)")

    def cmd_awk(self, args, depth):
        """gawk -i inplace rewrites its input files."""
        inplace, program_given, operands = False, False, []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                operands.extend(args[i + 1:])
                break
            key, glued = (arg.split("=", 1) + [None])[:2] if arg.startswith("--") else (arg[:2], arg[2:] or None)
            if arg.startswith("-") and arg != "-" and key in ("-i", "--include", "-f", "--file", "-e", "--source",
                                                              "-v", "--assign", "-F", "--field-separator", "-l",
                                                              "--load"):
                value = glued if glued is not None else (args[i + 1] if i + 1 < len(args) else "")
                i += glued is None
                inplace |= key in ("-i", "--include") and value in ("inplace", "inplace.awk")
                program_given |= key in ("-f", "--file", "-e", "--source")
            elif not arg.startswith("-") or arg == "-":
                operands.append(arg)
            i += 1
        if inplace:
            for path in operands[0 if program_given else 1:]:
                if not _ASSIGNMENT.match(path):
                    self.add(path, WRITE, "awk -i inplace (in-place edit)")

    cmd_gawk = cmd_awk

    def cmd_eval(self, args, depth):
        self.run(" ".join(args), depth + 1)

    def shell(self, args, stdin, depth):
        for i, arg in enumerate(args):
            if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                if i + 1 < len(args):
                    self.run(args[i + 1], depth + 1)
                return
            if not arg.startswith("-"):
                return  # a script file: not read
        if stdin is not None:
            self.run(stdin, depth + 1)

    def python(self, args, stdin, depth):
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("-c",) or (arg.startswith("-") and not arg.startswith("--") and arg.endswith("c")
                                  and set(arg[1:-1]) <= set("bBdEhiIOqsSuvx")):
                if i + 1 < len(args):
                    self.python_code(args[i + 1], args[i + 2:], depth)
                return
            if arg in ("-X", "-W"):
                i += 2
                continue
            if arg == "-" or not arg.startswith("-"):
                break
            if arg == "-m":
                return
            i += 1
        if stdin is not None and (i >= len(args) or args[i] == "-"):
            self.python_code(stdin, args[i + 1:], depth)

    def python_code(self, code, argv, depth):
        from statesafe.readers.python import python_effects

        for effect in python_effects(code, argv, shell=lambda text: self.run(text, depth + 1)):
            self.add(effect.target, effect.kind, effect.how, tree=effect.tree)


def effects(command: str, cwd: str, fs: Filesystem = LOCAL) -> list[Effect]:
    """The file changes ``command`` would make when run in ``cwd`` on the machine ``fs`` describes.

    Raises ShellSyntaxError when the line cannot be tokenised.
    """
    analyzer = _Analyzer(os.path.abspath(cwd), fs)
    analyzer.run(command)
    return analyzer.effects
