"""Entry point of the ``statesafe`` console script and ``python -m statesafe``.

``statesafe hook AGENT`` (``statesafe hook claude``) answers every tool call the
agent makes, so it goes straight to the agent's adapter, found by name in
:data:`statesafe.agents.ADAPTERS`, without loading click (about 15 ms per call);
with an option the adapter does not take (``--help``) it goes through click.
Every other error, usage errors included, is one line on stderr beginning
``statesafe: error:`` with exit status 2.
"""

import sys


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "hook":
        from statesafe.agents import hook_module

        adapter = hook_module(sys.argv[2])
        if adapter is not None and set(sys.argv[3:]) <= adapter.OPTIONS.keys():
            sys.exit(adapter.main(sys.argv[3:]))
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
