"""The map of the shared space: images, label embeddings and the text query as one scatter (pyqtgraph).

Colour = a chosen label (or the image's top label), symbol = modality; every label marker carries its name, in
the label's own colour of a palette where no two labels share one (core.views.palette). Hover shows the photo's
thumbnail (or the text), click selects a photo, a click on a label marker selects that label's photos (those the
map lists with it: the folder's labels.jsonl, else the checkpoint's classifiers at probability >= 0.5), a box
selects many; all go to the grid, and can be exported to CSV.
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

SYMBOLS = {"image": "o", "label": "t1", "text": "star"}  # t1: triangle up, as the legend draws it
NO_LABEL = (150, 150, 150)
MAX_LEGEND = 40  # legend entries shown (the labels colouring most photos); every label is named on the map


class MapView(QWidget):
    photos_selected = Signal(list)  # absolute paths
    label_selected = Signal(str, list)  # a label marker was clicked: the label, its photos' absolute paths
    data_shown = Signal(str)  # "pca" / "umap" when a layout is drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: MapData | None = None
        self.method = ""
        self.selection: list[int | np.intp] = []  # rows of self.data (np.nonzero gives numpy integers)
        self.colours: dict[str, tuple[int, int, int]] = {}  # label -> its colour (no two alike)
        self.names: list[pg.TextItem] = []  # one per label marker, in data order
        self._top_counts: dict[str, int] = {}  # label -> photos it is the top label of
        self.plot = pg.PlotWidget()
        self.plot.setBackground(self.palette().color(self.backgroundRole()).lighter(108))  # follows the theme
        self.plot.setMenuEnabled(False)
        self.scatter = pg.ScatterPlotItem(pxMode=True, size=7, hoverable=False)
        self.scatter.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.scatter)
        self.box = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen(220, 60, 60, width=2))
        self.box.setVisible(False)
        self.plot.addItem(self.box)
        self.plot.getViewBox().sigRangeChanged.connect(lambda *_a: self._declutter())
        self._hover = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)
        self.colour_by = QComboBox()
        self.colour_by.addItem("top label")
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
        from ..core.views.palette import distinct_colours

        self.data, self.method = data, method
        names = sorted({x for s in data.labels for x in s.split(";") if x})
        # The most distinct colours go to the labels that colour most photos (the top label of each).
        tops = [lab.split(";")[0] for k, lab in zip(data.kinds, data.labels, strict=False) if k == "image" and lab]
        order = sorted(names, key=lambda n: (-tops.count(n), n))
        self.colours = dict(zip(order, distinct_colours(len(order)), strict=True))
        self._top_counts = {n: tops.count(n) for n in order}
        current = self.colour_by.currentText()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItems(["top label", *names])
        if current in names:
            self.colour_by.setCurrentText(current)
        self.colour_by.blockSignals(False)
        self._name_markers()
        self._restyle()
        self.plot.autoRange()
        self._declutter()
        n = {k: data.kinds.count(k) for k in SYMBOLS}
        self.status.setText(f"{method.upper()}: {n['image']} photos, {n['label']} labels, {n['text']} queries")
        self.data_shown.emit(method)

    def _light(self) -> bool:
        return self.plot.backgroundBrush().color().lightness() > 128

    def _name_markers(self) -> None:
        """A text item beside every label marker (and query star): its name, on a halo of the plot's background so
        it reads over the photos, in dark text on a light theme and light text on a dark one."""
        for t in self.names:
            self.plot.removeItem(t)
        self.names = []
        assert self.data is not None and self.data.xy is not None
        bg = self.plot.backgroundBrush().color()
        fill = pg.mkBrush(bg.red(), bg.green(), bg.blue(), 190)
        ink = (25, 25, 25) if self._light() else (235, 235, 235)
        for i, kind in enumerate(self.data.kinds):
            if kind == "image":
                continue
            t = pg.TextItem(self.data.refs[i], color=ink, anchor=(-0.08, 0.5), fill=fill)
            t.setPos(float(self.data.xy[i, 0]), float(self.data.xy[i, 1]))
            t.setZValue(5)
            self.plot.addItem(t)
            self.names.append(t)

    def _declutter(self) -> None:
        """Names that would cover each other move down, one line at a time, below the name they ran into (several
        labels often share their nearest photos, hence one spot); each stays at its marker's height or below."""
        if self.data is None or self.data.xy is None or not self.names:
            return
        sx, sy = self.plot.getViewBox().viewPixelSize()
        if not (sx > 0 and sy > 0):
            return
        data, xy = self.data, self.data.xy  # both checked above
        rows = [i for i, k in enumerate(data.kinds) if k != "image"]
        placed: list[tuple[float, float, float, float]] = []  # pixel boxes (x0, y0, x1, y1), y downwards
        for t, i in sorted(zip(self.names, rows, strict=True), key=lambda ti: -float(xy[ti[1], 1])):
            x, y = float(xy[i, 0]), float(xy[i, 1])
            rect = t.boundingRect()
            w, h = rect.width(), rect.height() * 0.8
            px, py = x / sx + 6, -y / sy - h / 2
            while any(px < b[2] and b[0] < px + w and py < b[3] and b[1] < py + h for b in placed):
                py += h
            placed.append((px, py, px + w, py + h))
            t.setPos(x, -(py + h / 2) * sy)

    def colour_of(self, label: str) -> tuple[int, int, int]:
        return self.colours.get(label, NO_LABEL)

    def _restyle(self) -> None:
        if self.data is None or self.data.xy is None:
            return
        key = self.colour_by.currentText()
        brushes, symbols, sizes, pens = [], [], [], []
        for kind, ref, labels in zip(self.data.kinds, self.data.refs, self.data.labels, strict=False):
            mine = labels.split(";") if labels else []
            if kind == "label":
                colour = self.colour_of(ref) if key in ("top label", ref) else (200, 200, 200)
            elif kind == "text":
                colour = (255, 215, 0)
            elif key != "top label":
                colour = (220, 50, 50) if key in mine else (200, 200, 200)
            else:
                colour = self.colour_of(mine[0]) if mine else NO_LABEL
            brushes.append(pg.mkBrush(*colour, 215))
            symbols.append(SYMBOLS[kind])
            sizes.append(7 if kind == "image" else 15 if kind == "label" else 20)
            pens.append(pg.mkPen(30, 30, 30) if kind != "image" else None)
        self.scatter.setData(
            pos=self.data.xy, brush=brushes, symbol=symbols, size=sizes, pen=pens, data=np.arange(len(self.data))
        )
        if key == "top label":
            shown = [n for n, c in sorted(self._top_counts.items(), key=lambda kv: -kv[1]) if c][:MAX_LEGEND]
            more = sum(1 for c in self._top_counts.values() if c) - len(shown)
            swatches = [
                f'<span style="color: rgb{self.colour_of(n)}">■</span>&nbsp;{html.escape(n)}' for n in shown
            ] + ([f"… {more} more"] if more > 0 else [])
            head = "● photo (colour: its top label)   ▲ label, named   ★ text query     "
        else:
            swatches = [f'<span style="color: rgb(220, 50, 50)">■</span>&nbsp;{html.escape(key)}']
            head = "● photo   ▲ label, named   ★ text query     "
        self.legend.setText(head + "  ".join(swatches))

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
        rows = [int(p.data()) for p in points]
        labels = [i for i in rows if self.data.kinds[i] == "label"]  # drawn on top of the photos: they win
        if labels:
            self.select_label(self.data.refs[labels[-1]])
        elif self.data.kinds[rows[0]] == "image":
            self.selection = [rows[0]]
            self.photos_selected.emit([self.data.refs[rows[0]]])

    def select_label(self, label: str) -> list[str]:
        """Select the photos carrying `label` (core `photos_with_label`); returns their paths (and emits them)."""
        from ..core.views.embedding_map import photos_with_label

        if self.data is None:
            return []
        paths = photos_with_label(self.data, label)
        wanted = set(paths)
        self.selection = [i for i, r in enumerate(self.data.refs) if self.data.kinds[i] == "image" and r in wanted]
        self.label_selected.emit(label, paths)
        return paths

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
