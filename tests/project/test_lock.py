"""requirements/ci.lock is installed with `pip install --no-deps --require-hashes` (Makefile): pip reads no package's
requirements then, so the lock itself must be complete. These tests check what `--no-deps` no longer does: every
line pinned and hashed, and the lock closed over the requirements of xmr[all,test] *including the extras one
package asks of another* (qdrant-client's `httpx[http2]` needs h2), which `pip check` does not read."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "ci.lock"

LINUX_PY311 = sys.platform == "linux" and sys.version_info[:2] == (3, 11)


def parse_lock(text: str) -> dict[str, str]:
    """{canonical name: version} of a pip-compile lock; raises on a line that is not `name==version \\` + hashes."""
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        head = block.split("\n", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;\\\[]+)\s*\\?", head)
        if m is None:
            raise ValueError(f"not pinned as name==version: {head!r}")
        if "--hash=sha256:" not in block:
            raise ValueError(f"no sha256 hash: {head!r}")
        pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def closure_gaps(pins: dict[str, str], roots: list[Requirement]) -> list[str]:
    """Walk the requirements from `roots` through the installed distributions' metadata, with each requested extra;
    return what the lock lacks or pins outside a requirement's range."""
    env = default_environment()
    gaps: list[str] = []
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[Requirement, str]] = [(r, "") for r in roots]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        version = pins.get(name)
        if version is None:
            gaps.append(f"{req} is not in the lock")
            continue
        if not req.specifier.contains(version, prereleases=True):
            gaps.append(f"{req} is not met by the lock's {name}=={version}")
        for wanted in ["", *sorted(req.extras)]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            for line in metadata.distribution(name).requires or []:
                todo.append((Requirement(line), wanted))
    return gaps


def test_every_lock_line_is_pinned_and_hashed() -> None:
    pins = parse_lock(LOCK.read_text(encoding="utf-8"))
    assert len(pins) > 100 and "torch" in pins and "httpx" in pins


def test_parse_lock_refuses_an_unpinned_or_unhashed_line() -> None:
    with pytest.raises(ValueError, match="not pinned"):
        parse_lock("httpx>=0.20 \\\n    --hash=sha256:00\n")
    with pytest.raises(ValueError, match="no sha256"):
        parse_lock("httpx==0.28.1\n")


@pytest.mark.skipif(not LINUX_PY311, reason="the lock is for Linux x86_64 and CPython 3.11 (README)")
def test_the_lock_holds_everything_xmr_all_test_needs_with_extras() -> None:
    pins = parse_lock(LOCK.read_text(encoding="utf-8"))
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if any(installed.get(name) != version for name, version in pins.items() if name not in {"pip", "setuptools"}):
        pytest.skip("this venv was not installed from requirements/ci.lock (make install LOCK_FILE=...)")
    roots = [Requirement(f"xmr[{extra}]") for extra in ("all", "test")]
    pins.setdefault("xmr", metadata.version("xmr"))
    assert closure_gaps(pins, roots) == []


def test_closure_gaps_sees_a_missing_extra_dependency() -> None:
    """The case that broke: a package asks for another's extra; without its dependency in the lock, it is a gap."""
    if "httpx" not in {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions()}:
        pytest.skip("httpx is not installed")
    pins = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    pins.pop("h2", None)
    gaps = closure_gaps(pins, [Requirement("httpx[http2]")])
    assert any(g.startswith("h2") for g in gaps), gaps
    assert closure_gaps(pins, [Requirement("httpx")]) == []
