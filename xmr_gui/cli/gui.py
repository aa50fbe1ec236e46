"""`xmr gui`: the window, whose own parser (qt.app) reads everything after `gui`."""

from __future__ import annotations

from collections.abc import Sequence

from .common import Subparsers


def register(sub: Subparsers) -> None:
    sub.add_parser(
        "gui", help="open the window: xmr gui [FOLDER] [--checkpoint FILE] [--self-test] (see xmr gui --help)"
    )


def run_gui(argv: Sequence[str]) -> int:
    """Open the window with `xmr gui`'s arguments (those after `gui`)."""
    from ..qt.app import main

    return main(argv)
