"""Entry point of the ``statesafe`` console script and ``python -m statesafe``.

``statesafe hook claude`` answers every tool call the agent makes, so it goes
straight to the decision module without loading click (about 15 ms per call).
Every other error, usage errors included, is one line on stderr beginning
``statesafe: error:`` with exit status 2 (DECISIONS.md, "Errors").
"""

import sys

_HOOK_FLAGS = {"--apply", "--json"}


def main() -> None:
    if sys.argv[1:3] == ["hook", "claude"] and set(sys.argv[3:]) <= _HOOK_FLAGS:
        from statesafe.guard.claude_decide import main as answer_hook

        sys.exit(answer_hook(sys.argv[3:]))
    import click

    from statesafe.cli import main as cli

    try:
        status = cli.main(prog_name="statesafe", standalone_mode=False)
    except click.exceptions.Abort:
        print("statesafe: aborted; nothing was changed", file=sys.stderr)
        sys.exit(1)
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        print(f"statesafe: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
