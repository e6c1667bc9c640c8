"""Entry point of the ``statesafe`` console script and ``python -m statesafe``.

``statesafe hook claude`` answers every tool call the agent makes, so it goes
straight to the decision module without loading click (about 15 ms per call).
"""

import sys

_HOOK_FLAGS = {"--apply", "--json"}


def main() -> None:
    if sys.argv[1:3] == ["hook", "claude"] and set(sys.argv[3:]) <= _HOOK_FLAGS:
        from statesafe.guard.claude_decide import main as answer_hook

        sys.exit(answer_hook(sys.argv[3:]))
    from statesafe.cli import main as cli

    cli(prog_name="statesafe")


if __name__ == "__main__":
    main()
