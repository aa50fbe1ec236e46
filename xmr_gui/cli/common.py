"""What every command group shares: the error it raises, stderr messages, the common options, opening a library
(through core.opening, the one front door)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from ..core.base.errors import XmrError

if TYPE_CHECKING:
    from ..core.store.library import Library

# argparse names no public type for what add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Row = TypeVar("Row")


class CliError(XmrError):
    """A command line that cannot be run as given (a missing folder, conflicting options)."""


def say(msg: str) -> None:
    """A message for the user, on stderr (stdout carries results only)."""
    print(msg, file=sys.stderr, flush=True)


def db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="DIR",
        help="database folder (default: one under the user data dir, "
        "keyed by the photo folder's absolute path; see `xmr paths`)",
    )


def result_options(p: argparse.ArgumentParser, k: int, min_score_help: str) -> None:
    p.add_argument("-k", type=int, default=k, metavar="N", help=f"at most N results (default {k})")
    p.add_argument(
        "--min-score",
        type=float,
        default=-1.0,
        metavar="S",
        help=min_score_help,
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per result")


def open_library(
    db: str | None, folder: str | None = None, checkpoint: str | None = None, near: str | None = None
) -> Library:
    """The library to read (core.opening.open_existing: --db, else the one of --folder, `near` or the current
    directory or of its nearest indexed parent, else the last one indexed), in `checkpoint`'s space when given."""
    from ..core.opening import FindRequest, open_existing

    request = FindRequest(Path(db) if db else None, folder, near, Path(checkpoint) if checkpoint else None)
    found = open_existing(request)
    if found.elsewhere:
        say(f"xmr: using the index of {found.library.folder} (pass --folder or --db to choose another)")
    return found.library


def emit(rows: Sequence[Row], as_json: bool, fields: tuple[str, str], line: Callable[[Row], str]) -> None:
    """Results on stdout, one per line: `line(row)`, or a JSON object of the row's `fields` with --json."""
    out = sys.stdout
    for row in rows:
        if as_json:
            out.write(json.dumps({f: getattr(row, f) for f in fields}, ensure_ascii=False) + "\n")
        else:
            out.write(line(row) + "\n")
    out.flush()
