"""`xmr`: index photo folders and search them by text or by photo, from a terminal.

Results go to stdout, one per line (`score<TAB>path` or `score<TAB>label`; JSON Lines with --json), so they
pipe; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.base.errors import BUG_HINT, is_expected
from . import demo, doctor, duplicates, exchange, gui, index, search, suggest, train, views
from .common import CliError, say

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]

# One module per group of commands, each adding its own parsers (`register`) beside the functions they run; in
# the order `xmr --help` lists them.
GROUPS = (index, search, duplicates, suggest, demo, train, gui, views, exchange, doctor)
COMMANDS = (
    "index",
    "search",
    "describe",
    "skipped",
    "duplicates",
    "review-labels",
    "suggest",
    "demo",
    "train",
    "eval",
    "gui",
    "graph",
    "map",
    "export",
    "import",
    "paths",
    "doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmr",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `xmr COMMAND --help` for each command's options. Quick start: `xmr demo`.",
    )
    parser.add_argument("--version", action="version", version=f"xmr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:  # everything after `gui` belongs to the window's own parser
        return gui.run_gui(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):  # no command given
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR, format="xmr: %(message)s")
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `xmr search ... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ModuleNotFoundError as exc:  # an optional part this install lacks (e.g. torch in the packaged app)
        say(
            f"xmr: error: `xmr {args.command}` needs the Python module {exc.name!r}, which this install does not "
            "have (the packaged app indexes and searches; `pipx install 'xmr[all]'` adds training and UMAP)"
        )
        return 1
    except KeyboardInterrupt:
        say("xmr: interrupted; finished work is saved and the next run resumes from there")
        return 130
    except Exception as exc:
        if is_expected(exc):  # the user's to fix: one line says what to do
            say(f"xmr: error: {exc}")
            return 1
        say(f"xmr: internal error: {BUG_HINT} below")
        raise
