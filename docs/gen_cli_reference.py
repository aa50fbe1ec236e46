"""Regenerate docs/cli.md from the parsers' own --help texts: `python docs/gen_cli_reference.py`."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from xmr_gui.cli import COMMANDS as CLI_COMMANDS  # noqa: E402
from xmr_gui.cli import build_parser  # noqa: E402
from xmr_gui.qt.app import build_parser as gui_parser  # noqa: E402

# Every command in the CLI's own order; `gui` is documented from the window's parser further down.
COMMANDS = [c for c in CLI_COMMANDS if c != "gui"]


def help_of(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return out.getvalue()


def main() -> None:
    parts = [
        "# xmr command-line reference",
        "",
        "Generated from `--help` by `python docs/gen_cli_reference.py`; do not edit by hand.",
        "",
        "## xmr",
        "",
        "```",
        help_of([]).rstrip(),
        "```",
    ]
    for cmd in COMMANDS:
        parts += ["", f"## xmr {cmd}", "", "```", help_of([cmd]).rstrip(), "```"]
    parts += ["", "## xmr gui / xmr-gui", "", "```", gui_parser().format_help().rstrip(), "```", ""]
    target = Path(__file__).with_name("cli.md")
    target.write_text("\n".join(parts), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
