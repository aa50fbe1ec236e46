"""The map of the shared space: images, label embeddings and the text query as one scatter (pyqtgraph).

Colour = a chosen label (or the image's first label), symbol = modality. Hover shows the photo's thumbnail
(or the text), click selects a photo, a box selects many; both go to the grid, and can be exported to CSV.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ..core.views.embedding_map import MapData

SYMBOLS = {"image": "o", "label": "t", "text": "star"}
PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


class MapView(QWidget):
    photos_selected = Signal(list)  # absolute paths
    data_shown = Signal(str)  # "pca" / "umap" when a layout is drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: MapData | None = None
        self.method = ""
        self.selection: list[int | np.intp] = []  # rows of self.data (np.nonzero gives numpy integers)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(self.palette().color(self.backgroundRole()).lighter(108))  # follows the theme
        self.plot.setMenuEnabled(False)
        self.scatter = pg.ScatterPlotItem(pxMode=True, size=7, hoverable=False)
        self.scatter.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.scatter)
        self.box = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen(220, 60, 60, width=2))
        self.box.setVisible(False)
        self.plot.addItem(self.box)
        self._hover = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)
        self.colour_by = QComboBox()
        self.colour_by.addItem("first label")
        self.colour_by.currentTextChanged.connect(lambda _t: self._restyle())
        self.status = QLabel("")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(160)
        self.busy.setVisible(False)
        self.box_button = QPushButton("Box select")
        self.box_button.setCheckable(True)
        self.box_button.toggled.connect(self._on_box_toggled)
        self.apply_box = QPushButton("Show box in grid")
        self.apply_box.clicked.connect(self.select_in_box)
        self.export_button = QPushButton("Export selection…")
        self.export_button.clicked.connect(self._on_export)
        row = QHBoxLayout()
        row.addWidget(QLabel("colour by"))
        row.addWidget(self.colour_by)
        row.addWidget(self.box_button)
        row.addWidget(self.apply_box)
        row.addWidget(self.export_button)
        row.addStretch()
        row.addWidget(self.busy)
        row.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.plot)
        self.legend = QLabel("● photo   ▲ label embedding   ★ text query")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)

    # -- data --------------------------------------------------------------------------------
    def set_busy(self, text: str) -> None:
        self.busy.setVisible(bool(text))
        self.status.setText(text)

    def set_data(self, data: MapData, method: str) -> None:
        self.data, self.method = data, method
        names = sorted({x for s in data.labels for x in s.split(";") if x})
        current = self.colour_by.currentText()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItems(["first label", *names])
        if current in names:
            self.colour_by.setCurrentText(current)
        self.colour_by.blockSignals(False)
        self._restyle()
        self.plot.autoRange()
        n = {k: data.kinds.count(k) for k in SYMBOLS}
        self.status.setText(f"{method.upper()}: {n['image']} photos, {n['label']} labels, {n['text']} queries")
        self.data_shown.emit(method)

    def _restyle(self) -> None:
        if self.data is None or self.data.xy is None:
            return
        key = self.colour_by.currentText()
        names = sorted({x for s in self.data.labels for x in s.split(";") if x})
        index = {n: i for i, n in enumerate(names)}
        brushes, symbols, sizes = [], [], []
        for kind, labels in zip(self.data.kinds, self.data.labels, strict=False):
            first = labels.split(";")[0] if labels else ""
            if key != "first label":
                colour = (220, 50, 50) if key in labels.split(";") else (190, 190, 190)
            elif first:
                colour = PALETTE[index[first] % len(PALETTE)]
            else:
                colour = (120, 120, 120)
            brushes.append(pg.mkBrush(*colour, 200))
            symbols.append(SYMBOLS[kind])
            sizes.append(7 if kind == "image" else 14 if kind == "label" else 20)
        pens = [pg.mkPen(30, 30, 30) if kind != "image" else None for kind in self.data.kinds]
        self.scatter.setData(
            pos=self.data.xy, brush=brushes, symbol=symbols, size=sizes, pen=pens, data=np.arange(len(self.data))
        )
        swatches = (
            [
                f'<span style="color: rgb{PALETTE[index[n] % len(PALETTE)]}">■</span> {html.escape(n)}'
                for n in names[:24]
            ]
            if key == "first label"
            else [f'<span style="color: rgb(220, 50, 50)">■</span> {html.escape(key)}']
        )
        self.legend.setText("● photo   ▲ label embedding   ★ text query     " + "  ".join(swatches))

    # -- hover, click, box -------------------------------------------------------------------
    def nearest(self, x: float, y: float, radius_px: float = 8.0) -> int | None:
        """Index of the closest point to (x, y) in data coordinates within `radius_px` pixels, or None."""
        if self.data is None or self.data.xy is None or not len(self.data):
            return None
        vb = self.plot.getViewBox()
        sx, sy = vb.viewPixelSize()
        d = ((self.data.xy[:, 0] - x) / max(sx, 1e-12)) ** 2 + ((self.data.xy[:, 1] - y) / max(sy, 1e-12)) ** 2
        i = int(np.argmin(d))
        return i if d[i] <= radius_px**2 else None

    def tooltip_for(self, i: int) -> str:
        assert self.data is not None
        kind, ref, labels = self.data.kinds[i], self.data.refs[i], self.data.labels[i]
        if kind != "image":
            return f"<b>{html.escape(kind)}</b>: {html.escape(ref)}"
        from .thumbs import cache_file

        thumb = cache_file(ref)
        img = f'<img src="{html.escape(str(thumb if thumb.exists() else ref))}" width="160"><br>'
        return f"{img}{html.escape(os.path.basename(ref))}<br>{html.escape(labels.replace(';', ', '))}"

    def _on_mouse_moved(self, event) -> None:  # type: ignore[no-untyped-def]
        pos = event[0]
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        point = self.plot.getViewBox().mapSceneToView(pos)
        i = self.nearest(point.x(), point.y())
        if i is None:
            QToolTip.hideText()
            return
        QToolTip.showText(self.plot.mapToGlobal(self.plot.mapFromScene(pos)), self.tooltip_for(i), self.plot)

    def _on_clicked(self, _item, points, _ev=None) -> None:  # type: ignore[no-untyped-def]
        if self.data is None or not len(points):
            return
        i = int(points[0].data())
        if self.data.kinds[i] == "image":
            self.selection = [i]
            self.photos_selected.emit([self.data.refs[i]])

    def _on_box_toggled(self, on: bool) -> None:
        if on and self.data is not None and self.data.xy is not None:
            (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
            self.box.setPos(QPointF(x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3))
            self.box.setSize(QPointF((x1 - x0) * 0.4, (y1 - y0) * 0.4))
        self.box.setVisible(on)

    def select_rect(self, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Select the photos inside the rectangle; returns their paths (and emits them)."""
        if self.data is None or self.data.xy is None:
            return []
        xy = self.data.xy
        inside = (
            (xy[:, 0] >= min(x0, x1))
            & (xy[:, 0] <= max(x0, x1))
            & (xy[:, 1] >= min(y0, y1))
            & (xy[:, 1] <= max(y0, y1))
        )
        self.selection = [i for i in np.nonzero(inside)[0] if self.data.kinds[i] == "image"]
        paths = [self.data.refs[i] for i in self.selection]
        self.photos_selected.emit(paths)
        return paths

    def select_in_box(self) -> list[str]:
        pos, size = self.box.pos(), self.box.size()
        return self.select_rect(pos.x(), pos.y(), pos.x() + size.x(), pos.y() + size.y())

    def export_selection(self, path: str) -> None:
        from ..core.views.embedding_map import write_csv

        assert self.data is not None
        rows = self.data.rows()
        write_csv([rows[i] for i in (self.selection or range(len(rows)))], path)

    def _on_export(self) -> None:
        if self.data is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export selection", "map-selection.csv", "CSV (*.csv)")
        if path:
            self.export_selection(path)
