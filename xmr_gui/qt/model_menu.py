"""The Model menu's list of models: one checkable entry per `models.offers(...)` item, each saying what it knows.

Built when the menu opens (asking what is cached costs a few stat calls, and `models` imports Pillow, which the
window's start-up leaves for later), so a download finished a moment ago shows as cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from ..core.session import ModelChoice

if TYPE_CHECKING:
    from ..core.models import Offer

KNOWS_SHOWN = 60  # characters of an entry's "knows" line in the menu text (the whole line is its tool tip)


def entry_text(offer: Offer) -> str:
    knows = offer.knows if len(offer.knows) <= KNOWS_SHOWN else offer.knows[: KNOWS_SHOWN - 1].rstrip(" ,") + "…"
    return f"{offer.title}  —  knows {knows}" if not offer.automatic else offer.title


def is_active(offer: Offer, choice: ModelChoice) -> bool:
    """Whether `offer` is what the session's choice names (the same model and weights, any precision)."""
    if offer.automatic:
        return choice.automatic
    if offer.checkpoint is not None:
        return choice.checkpoint is not None and Path(choice.checkpoint).resolve() == Path(offer.checkpoint).resolve()
    spec = choice.spec
    return (
        choice.checkpoint is None
        and spec is not None
        and offer.spec is not None
        and (spec.model, spec.weights) == (offer.spec.model, offer.spec.weights)
    )


class ModelEntries(QObject):
    """Fills the menu's model section below its fixed entries; `chosen` carries the Offer picked."""

    chosen = Signal(object)  # Offer

    def __init__(self, menu: QMenu) -> None:
        super().__init__(menu)
        self.menu = menu
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: list[QAction] = []
        self.offers: list[Offer] = []

    def refresh(self, choice: ModelChoice, checkpoints: list[Path]) -> None:
        from ..core.models import offers

        for action in self.actions:
            self.group.removeAction(action)
            self.menu.removeAction(action)
            action.deleteLater()
        self.actions, self.offers = [], offers(checkpoints)
        for offer in self.offers:
            action = QAction(entry_text(offer), self.menu)
            action.setCheckable(True)
            action.setChecked(is_active(offer, choice))
            tip = offer.knows if offer.cached else f"{offer.knows} — downloaded once on first use"
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, o=offer: self.chosen.emit(o))
            self.group.addAction(action)
            self.menu.addAction(action)
            self.actions.append(action)
        self.menu.setToolTipsVisible(True)

    def texts(self) -> list[str]:
        return [a.text() for a in self.actions]

    def checked(self) -> Offer | None:
        for offer, action in zip(self.offers, self.actions, strict=True):
            if action.isChecked():
                return offer
        return None
