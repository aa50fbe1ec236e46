"""The names drawn on the map: every label marker's and query's beside it and, when photos are coloured by
cluster, each cluster's name at its centre, bold, framed in its colour.

All sit on a halo of the plot's background so they read over the photos and thumbnails, in dark text on a light
theme and light text on a dark one. Names that would cover each other move down, one line at a time, below the
name they ran into (several labels often share their nearest photos, hence one spot), after every zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

Rgb = tuple[int, int, int]


class NameLayer:
    """Text items over a plot: `draw` replaces them, `declutter` (on every range change) moves them apart."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        self.items: list[tuple[pg.TextItem, float, float, bool]] = []  # (item, x, y, centred)
        plot.getViewBox().sigRangeChanged.connect(lambda *_a: self.declutter())

    def texts(self) -> list[str]:
        return [t.toPlainText() for t, *_ in self.items]

    def draw(
        self,
        markers: list[tuple[str, float, float]],
        clusters: list[tuple[str, float, float, Rgb]],
    ) -> None:
        """`markers`: (name, x, y) written beside a marker; `clusters`: (name, x, y, colour) centred on the spot."""
        for t, *_ in self.items:
            self.plot.removeItem(t)
        self.items = []
        bg = self.plot.backgroundBrush().color()
        fill = pg.mkBrush(bg.red(), bg.green(), bg.blue(), 200)
        ink = (25, 25, 25) if bg.lightness() > 128 else (235, 235, 235)
        for name, x, y in markers:
            self._add(pg.TextItem(name, color=ink, anchor=(-0.08, 0.5), fill=fill), x, y, False)
        bold = QFont()
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.1)
        for name, x, y, colour in clusters:
            t = pg.TextItem(name, color=ink, anchor=(0.5, 0.5), fill=fill, border=pg.mkPen(*colour, width=2.5))
            t.setFont(bold)
            self._add(t, x, y, True)
        self.declutter()

    def _add(self, t: pg.TextItem, x: float, y: float, centred: bool) -> None:
        t.setPos(x, y)
        t.setZValue(5)  # above the dots and thumbnails, below the neighbour overlay
        self.plot.addItem(t, ignoreBounds=True)
        self.items.append((t, x, y, centred))

    def declutter(self) -> None:
        if not self.items:
            return
        sx, sy = self.plot.getViewBox().viewPixelSize()
        if not (sx > 0 and sy > 0 and np.isfinite(sx) and np.isfinite(sy)):
            return
        placed: list[tuple[float, float, float, float]] = []  # pixel boxes (x0, y0, x1, y1), y downwards
        for t, x, y, centred in sorted(self.items, key=lambda n: (not n[3], -n[2])):  # cluster names first
            rect = t.boundingRect()
            w, h = rect.width(), rect.height() * 0.8
            px, py = (x / sx - w / 2 if centred else x / sx + 6), -y / sy - h / 2
            while any(px < b[2] and b[0] < px + w and py < b[3] and b[1] < py + h for b in placed):
                py += h
            placed.append((px, py, px + w, py + h))
            t.setPos(x, -(py + h / 2) * sy)
