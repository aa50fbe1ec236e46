"""`python -m xmr_gui` and the packaged app's entry point: one program for both faces.

A command (`index`, `search`, … `--version`, `--help`) runs the CLI; anything else — no arguments (a double-click),
a folder, `--checkpoint`, `--self-test` — opens the window.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLI_FIRST = {"--version", "-h", "--help"}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .cli import COMMANDS
    from .cli import main as cli_main

    if args and (args[0] in COMMANDS or args[0] in CLI_FIRST):
        return cli_main(args)
    from .qt.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
