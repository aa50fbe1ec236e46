"""How slow core work tells its caller what it is doing: a plain callback, one line per step (never a UI object)."""

from __future__ import annotations

from collections.abc import Callable

Step = Callable[[str], None]


def quiet(_: str) -> None:
    """The default listener: nobody is told."""
