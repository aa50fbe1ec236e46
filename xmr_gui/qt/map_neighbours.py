"""A selected photo's nearest neighbours in the full vector space, drawn on the map and listed beside it.

The map is a 2-D picture of a space of hundreds of dimensions, and it cannot keep every neighbourhood. Selecting a
photo rings its k nearest photos of the space itself (core `neighbourhoods.neighbours`), joins each to it with a
line, and lists them with their similarity and where the map puts them: a neighbour among the photo's `NEAR_RANK`
nearest on the map too is joined in green, one the map puts farther in red, dashed, and the list says how far
("map rank 212"). Where the picture and the space disagree is what the red lines show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

K = 10
NEAR_RANK = 3 * K  # a neighbour the map puts among the photo's 30 nearest photos counts as kept by the map
AGREE = (40, 160, 70)
DISAGREE = (215, 40, 40)
SELECTED = (255, 140, 0)


@dataclass
class Neighbour:
    row: int  # row of MapData
    similarity: float  # cosine in the space
    map_rank: int  # 1 = the nearest photo on the map

    @property
    def near_on_map(self) -> bool:
        return self.map_rank <= NEAR_RANK


def full_space_neighbours(vectors: np.ndarray, xy: np.ndarray, is_image: np.ndarray, row: int, k: int = K) -> list[
    Neighbour
]:  # fmt: skip
    """The k nearest photos of `row` in the space, each with its similarity and its rank by distance on the map."""
    from ..core.views.neighbourhoods import neighbours

    rows = neighbours(vectors, row, k, among=is_image)
    v = np.asarray(vectors, np.float32)
    norms = np.maximum(np.linalg.norm(v[[row, *rows]], axis=1), 1e-12)
    sims = (v[rows] @ v[row]) / (norms[1:] * norms[0]) if rows else np.zeros(0)
    d = np.linalg.norm(xy - xy[row], axis=1)
    d[~is_image] = np.inf
    d[row] = np.inf
    order = np.argsort(d, kind="stable")
    rank = np.empty(len(d), np.int64)
    rank[order] = np.arange(1, len(d) + 1)
    return [Neighbour(r, float(s), int(rank[r])) for r, s in zip(rows, sims, strict=True)]


class NeighbourOverlay:
    """Rings and lines over a plot: the selected photo, its neighbours, green where the map agrees, red where not."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.agree_lines = pg.PlotCurveItem(pen=pg.mkPen(*AGREE, 200, width=2), connect="pairs")
        self.far_lines = pg.PlotCurveItem(
            pen=pg.mkPen(*DISAGREE, 220, width=2, style=Qt.PenStyle.DashLine), connect="pairs"
        )
        self.rings = pg.ScatterPlotItem(pxMode=True, brush=None)
        for z, item in enumerate((self.agree_lines, self.far_lines, self.rings)):
            item.setZValue(6 + z)  # above thumbnails (3) and names (5)
            plot.addItem(item, ignoreBounds=True)
        self.clear()

    def clear(self) -> None:
        self.agree_lines.setData([], [])
        self.far_lines.setData([], [])
        self.rings.setData([])

    def show(self, xy: np.ndarray, row: int, found: list[Neighbour]) -> None:
        def pairs(ns: list[Neighbour]) -> tuple[np.ndarray, np.ndarray]:
            pts = np.array([[xy[row], xy[n.row]] for n in ns], np.float64).reshape(-1, 2)
            return pts[:, 0], pts[:, 1]

        self.agree_lines.setData(*pairs([n for n in found if n.near_on_map]))
        self.far_lines.setData(*pairs([n for n in found if not n.near_on_map]))
        spots = [
            {"pos": xy[n.row], "size": 15, "pen": pg.mkPen(*(AGREE if n.near_on_map else DISAGREE), width=2.5)}
            for n in found
        ]
        spots.append({"pos": xy[row], "size": 20, "pen": pg.mkPen(*SELECTED, width=3.5)})
        self.rings.setData(spots, brush=None, symbol="o")

    def mark(self, xy: np.ndarray, rows: list[int]) -> None:
        """Ring a selection of many photos (a box, a label's photos, a bookmark's), with no neighbours."""
        self.clear()
        if rows:
            self.rings.setData(pos=xy[rows], size=11, pen=pg.mkPen(*SELECTED, width=2), brush=None, symbol="o")


class NeighbourList(QWidget):
    """The neighbours of the selected photo, nearest first; clicking one selects it on the map."""

    row_clicked = Signal(int)  # a MapData row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a photo: its nearest neighbours in the full space are ringed and listed here.")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.itemClicked.connect(lambda it: self.row_clicked.emit(int(it.data(Qt.ItemDataRole.UserRole))))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.setMinimumWidth(220)

    def show_neighbours(self, name: str, found: list[Neighbour], refs: list[str]) -> None:
        """`found` of the photo called `name`; `refs` are the map's rows (paths of photos)."""
        far = sum(not n.near_on_map for n in found)
        self.title.setText(
            f"<b>{len(found)} nearest to {name}</b> in the full space; {far} of them the map puts far "
            f"(not among its {NEAR_RANK} nearest on the map: <span style='color: rgb{DISAGREE}'>red, dashed</span>)."
        )
        self.list.clear()
        for n in found:
            self.list.addItem(_list_item(n, refs[n.row]))

    def clear_neighbours(self) -> None:
        self.list.clear()
        self.title.setText("Select a photo: its nearest neighbours in the full space are ringed and listed here.")

    def rows(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]


def _list_item(n: Neighbour, path: str) -> QListWidgetItem:
    where = "near on the map" if n.near_on_map else "far on the map"
    item = QListWidgetItem(f"{os.path.basename(path)}\n   {n.similarity:.2f} · {where}, #{n.map_rank}")
    item.setData(Qt.ItemDataRole.UserRole, n.row)
    item.setForeground(pg.mkColor(*(AGREE if n.near_on_map else DISAGREE)))
    item.setToolTip(f"{path}\ncosine {n.similarity:.3f}; #{n.map_rank} nearest to the selected photo on the map")
    return item
