"""docs/architecture.md names every module (and no module that is not there), and the core's layer table, in
xmr_gui/core/__init__.py and in README.md, is the one import-linter checks.

The rule for a module `xmr_gui/PKG/NAME.py` (PKG: `cli`, `qt`, or `core/SUB`): `NAME.py` is named in backticks in
the paragraph that begins with **PKG/** (**SUB/** for the core's packages), or `PKG/NAME.py` anywhere. A top-level
module of the core is named in a paragraph's bold heading (**session.py, doctor.py, demo_run.py** — …). A package
deeper down (learn/losses/) is one family: its `losses/` named in its parent's paragraph covers its modules.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xmr_gui"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def paragraphs() -> dict[str, str]:
    """Each paragraph that begins with a bold heading, by that heading (`base/`, `models.py`, `cli/` …)."""
    found = {}
    for block in re.split(r"\n\s*\n", DOC):
        heading = re.match(r"\*\*(.+?)\*\*", block.strip())
        if heading:
            found[heading.group(1)] = block
    return found


def modules() -> list[Path]:
    """Every module of the core and the front ends, relative to xmr_gui/ (package __init__ and __main__ aside)."""
    return sorted(
        p.relative_to(PACKAGE)
        for folder in ("core", "cli", "qt")
        for p in (PACKAGE / folder).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    )


def where_named(module: Path) -> tuple[str, str]:
    """(the paragraph heading, the name) that must name `module` in docs/architecture.md."""
    parts = module.parts
    if parts[0] == "core" and len(parts) == 2:  # session.py: in a heading of its own
        return "", parts[1]
    heading = parts[1] if parts[0] == "core" else parts[0]
    inner = parts[2:] if parts[0] == "core" else parts[1:]
    return f"{heading}/", inner[0] if len(inner) == 1 else f"{inner[0]}/"


@pytest.mark.parametrize("module", modules(), ids=str)
def test_every_module_is_named_in_the_architecture(module):
    heading, name = where_named(module)
    by_heading = paragraphs()
    if not heading:
        assert any(name in h.replace(",", " ").split() for h in by_heading), (
            f"docs/architecture.md: no paragraph headed **…{name}…** says what core/{name} is"
        )
        return
    if f"`{module.parent.name}/{module.name}`" in DOC and name.endswith(".py"):
        return
    assert heading in by_heading, f"docs/architecture.md has no paragraph headed **{heading}**"
    assert f"`{name}`" in by_heading[heading], (
        f"docs/architecture.md: the **{heading}** paragraph does not name `{name}` (xmr_gui/{module})"
    )


def test_every_module_the_architecture_names_exists():
    """A module named in a package's paragraph is in that package (or at the core's top: `demo_run.py`)."""
    stale = []
    for heading, block in paragraphs().items():
        if heading in ("cli/", "qt/"):
            folders = [PACKAGE / heading]
        else:
            folders = [PACKAGE / "core" / heading if heading.endswith("/") else PACKAGE / "core", PACKAGE / "core"]
        for name in re.findall(r"`([\w/]+\.py)`", block):
            if not any((folder / name).is_file() for folder in folders):
                stale.append(f"**{heading}**: {name}")
    assert not stale, "docs/architecture.md names modules that are not there: " + ", ".join(stale)


def test_the_rule_sees_a_missing_module():
    assert where_named(Path("core/learn/keywords.py")) == ("learn/", "keywords.py")
    assert where_named(Path("core/learn/losses/ussl.py")) == ("learn/", "losses/")
    assert where_named(Path("cli/suggest.py")) == ("cli/", "suggest.py")
    assert where_named(Path("core/models.py")) == ("", "models.py")
    assert "`no_such_module.py`" not in paragraphs()["search/"]


def test_the_cores_layer_table_is_the_import_linter_contract():
    """xmr_gui/core/__init__.py's table and README.md's, top to bottom, are pyproject.toml's `layers` contract."""
    import xmr_gui.core

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    assert xmr_gui.core.__doc__ is not None
    table = [
        re.split(r"\s{2,}", line.strip())[0]
        for line in xmr_gui.core.__doc__.splitlines()
        if line.startswith("    ") and line.strip()
    ]
    assert table == contract["layers"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    overview = readme.split("## How it fits together", 1)[1].split("```")[1]
    in_readme = [re.split(r"\s{2,}", line.strip())[0] for line in overview.splitlines() if line.startswith(" " * 16)]
    assert in_readme == contract["layers"], "README.md's 'How it fits together' lists other layers than pyproject.toml"
