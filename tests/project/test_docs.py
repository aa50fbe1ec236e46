"""docs/cli.md is what --help says today (regenerate with `python docs/gen_cli_reference.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current(tmp_path):
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_cli_reference.py")],
        check=True,
        capture_output=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    try:
        assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == committed, (
            "docs/cli.md is stale: run `COLUMNS=100 python docs/gen_cli_reference.py`"
        )
    finally:
        (ROOT / "docs" / "cli.md").write_text(committed, encoding="utf-8")


@pytest.mark.parametrize(
    ("tool", "args", "target"),
    [
        ("appstreamcli", ["validate", "--no-net"], "packaging/io.github.xmr.metainfo.xml"),
        ("desktop-file-validate", [], "packaging/xmr.desktop"),
    ],
)
def test_desktop_metadata_validates(tool, args, target):
    import shutil

    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (Debian: appstream / desktop-file-utils)")
    done = subprocess.run([exe, *args, str(ROOT / target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
