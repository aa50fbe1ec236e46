"""The map of the shared space: photos, label embeddings and the text query as one scatter (pyqtgraph).

Photos are coloured by their cluster (named by the model's nearest concepts, the names drawn at the clusters'
centres), by their top label when a checkpoint or the folder's labels give them labels, by one label, or not at all
(map_style); symbol = modality. Zoomed in, the photos in view become their thumbnails (map_thumbs). The layout is
the spread one (uses the plot) or the projection as computed. Clicking a photo selects it and rings its nearest
neighbours of the full space (map_neighbours); a click on a label marker selects that label's photos, a box selects
many; all go to the grid, and can be exported to CSV. A view (layout, zoom, colouring, selection, query) can be
saved as a bookmark (map_bookmarks, through the Map tab).
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from .map_names import NameLayer
from .map_neighbours import K, NeighbourList, NeighbourOverlay, full_space_neighbours
from .map_style import CLUSTER, Style
from .map_thumbs import ThumbLayer
from .thumbs import ThumbnailCache

if TYPE_CHECKING:
    from ..core.views.embedding_map import MapData

SYMBOLS = {"image": "o", "label": "t1", "text": "star"}  # t1: triangle up, as the legend draws it
LAYOUTS = {"spread": "spread (uses the plot)", "computed": "as computed"}


class MapView(QWidget):
    photos_selected = Signal(list)  # absolute paths
    label_selected = Signal(str, list)  # a label marker was clicked: the label, its photos' absolute paths
    data_shown = Signal(str)  # "pca" / "umap" when a layout is drawn

    def __init__(self, thumbs: ThumbnailCache | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: MapData | None = None
        self.method = ""
        self.xy = np.zeros((0, 2), np.float32)  # every row's position in the layout shown
        self.selection: list[int] = []  # rows of self.data
        self.scheme = Style()
        self.neighbours: list[int] = []  # rows of the selected photo's neighbours in the full space
        self.plot = pg.PlotWidget()
        self.plot.setBackground(self.palette().color(self.backgroundRole()).lighter(108))  # follows the theme
        self.plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):  # a projection's coordinates mean nothing to read off
            self.plot.hideAxis(axis)
        self.scatter = pg.ScatterPlotItem(pxMode=True, size=7, hoverable=False)
        self.scatter.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.scatter)
        self.markers = pg.ScatterPlotItem(pxMode=True, hoverable=False)  # label markers and queries again, on top of
        self.markers.setZValue(4)  # the thumbnails (3), so they stay visible and clickable among them
        self.markers.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.markers, ignoreBounds=True)
        self.thumbs = ThumbLayer(self.plot.getViewBox(), thumbs or ThumbnailCache(parent=self), self)
        self.thumbs.clicked.connect(self.select_photo)
        self.overlay = NeighbourOverlay(self.plot)
        self.box = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen(220, 60, 60, width=2))
        self.box.setVisible(False)
        self.plot.addItem(self.box)
        self.names = NameLayer(self.plot)
        self._hover = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)
        self.layout_choice = QComboBox()
        self.layout_choice.currentIndexChanged.connect(lambda _i: self._relayout())
        self.colour_by = QComboBox()
        for combo in (self.layout_choice, self.colour_by):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.colour_by.currentIndexChanged.connect(lambda _i: self._restyle())
        self.show_thumbs = QCheckBox("thumbnails when zoomed in")
        self.show_thumbs.setChecked(True)
        self.show_thumbs.toggled.connect(self.thumbs.set_enabled)
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
        self.tools = QHBoxLayout()  # what is drawn; the Map tab adds its projection choice at the front
        for w in (QLabel("layout"), self.layout_choice, QLabel("colour by"), self.colour_by, self.show_thumbs):
            self.tools.addWidget(w)
        self.tools.addStretch()
        self.tools.addWidget(self.busy)
        self.tools.addWidget(self.status)
        self.action_row = QHBoxLayout()  # what to do with it; the Map tab adds Save view / Open view
        for button in (self.box_button, self.apply_box, self.export_button):
            self.action_row.addWidget(button)
        self.action_row.addStretch()
        self.neighbour_list = NeighbourList()
        self.neighbour_list.row_clicked.connect(self.select_photo)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot)
        split.addWidget(self.neighbour_list)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(self.tools)
        layout.addLayout(self.action_row)
        layout.addWidget(split, 1)
        self.legend = QLabel("● photo")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)

    # -- data --------------------------------------------------------------------------------
    def set_busy(self, text: str) -> None:
        self.busy.setVisible(bool(text))
        self.status.setText(text)

    def set_data(self, data: MapData, method: str) -> None:
        self.data, self.method = data, method
        self.scheme = Style.of(data)
        self._fill(self.layout_choice, [(LAYOUTS.get(n, n), n) for n in self.layouts()])
        self._fill(self.colour_by, self.scheme.colourings(data))
        self.selection, self.neighbours = [], []
        self.overlay.clear()
        self.neighbour_list.clear_neighbours()
        self._relayout(auto_range=True)
        n = {k: data.kinds.count(k) for k in SYMBOLS}
        clusters = data.clusters
        what = f"{len(clusters.names)} clusters" if clusters is not None else f"{n['label']} labels"
        self.status.setText(f"{method.upper()}: {n['image']} photos, {what}, {n['text']} queries")
        self.data_shown.emit(method)

    @staticmethod
    def _fill(combo: QComboBox, items: list[tuple[str, str]]) -> None:
        """Replace a combo's (text, key) items, keeping the current key where it is still offered."""
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, key in items:
            combo.addItem(text, key)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def layouts(self) -> dict[str, np.ndarray]:
        """Layout name -> every row's position (the default layout, `data.xy`, is "spread")."""
        if self.data is None or self.data.xy is None:
            return {}
        return dict(self.data.layouts or {"spread": self.data.xy})

    def choose(self, combo: QComboBox, key: str) -> bool:
        """Select `key` in one of the map's combos (layout_choice, colour_by); False if it is not offered."""
        index = combo.findData(key)
        if index >= 0:
            combo.setCurrentIndex(index)
        return index >= 0

    def _relayout(self, auto_range: bool = False) -> None:
        if self.data is None:
            return
        layouts = self.layouts()
        self.xy = np.asarray(layouts.get(self.layout_choice.currentData(), self.data.xy), np.float32)
        self._restyle()
        if len(self.selection) == 1 and self.neighbours:
            self.select_photo(self.selection[0], emit=False)
        else:
            self.overlay.mark(self.xy, self.selection)
        if auto_range:
            self.plot.autoRange()

    def cluster_centres(self) -> np.ndarray:
        """Where each cluster's name goes in the layout shown (the core's centres for the default layout)."""
        clusters = self.data.clusters if self.data is not None else None
        if self.data is None or clusters is None:
            return np.zeros((0, 2), np.float32)
        if self.data.xy is not None and np.array_equal(self.xy, self.data.xy):
            return np.asarray(clusters.centres, np.float32)
        return np.asarray(clusters.centres_in(self.xy), np.float32)

    def _draw_names(self, key: str) -> None:
        assert self.data is not None
        xy, kinds, refs = self.xy, self.data.kinds, self.data.refs
        markers = [(refs[i], float(xy[i, 0]), float(xy[i, 1])) for i, k in enumerate(kinds) if k != "image"]
        clusters = self.data.clusters
        named = []
        if key == CLUSTER and clusters is not None:
            at = self.cluster_centres()
            colours = self.scheme.cluster_colours
            named = [(n, float(at[c, 0]), float(at[c, 1]), colours[c]) for c, n in enumerate(clusters.names)]
        self.names.draw(markers, named)

    def colour_key(self) -> str:
        return str(self.colour_by.currentData() or "none")

    def _restyle(self) -> None:
        if self.data is None or not len(self.xy):
            return
        key = self.colour_key()
        colours = self.scheme.colours(self.data, key)
        brushes = {c: pg.mkBrush(*c, 215) for c in set(colours)}  # one brush per colour, shared by its points
        pens = {"image": pg.mkPen(None), "label": pg.mkPen(30, 30, 30), "text": pg.mkPen(30, 30, 30)}
        kinds = self.data.kinds
        self.scatter.setData(
            pos=self.xy,
            brush=[brushes[c] for c in colours],
            symbol=[SYMBOLS[k] for k in kinds],
            size=[7 if k == "image" else 15 if k == "label" else 20 for k in kinds],
            pen=[pens[k] for k in kinds],  # shared objects: pyqtgraph renders one atlas symbol per distinct style
            data=np.arange(len(kinds)),
        )
        others = [i for i, k in enumerate(kinds) if k != "image"]
        self.markers.setData(
            pos=self.xy[others],
            brush=[brushes[colours[i]] for i in others],
            symbol=[SYMBOLS[kinds[i]] for i in others],
            size=[15 if kinds[i] == "label" else 20 for i in others],
            pen=pens["label"],
            data=np.asarray(others, np.int64),
        )
        photos = [i for i, k in enumerate(kinds) if k == "image"]
        frames = [QColor(*colours[i]) for i in photos]
        self.thumbs.set_photos(self.xy[photos], photos, [self.data.refs[i] for i in photos], frames)
        self._draw_names(key)
        self.legend.setText(self.scheme.legend(self.data, key))

    def colour_of(self, label: str) -> tuple[int, int, int]:
        return self.scheme.label_colour(label)

    # -- hover, click, box -------------------------------------------------------------------
    def nearest(self, x: float, y: float, radius_px: float = 8.0) -> int | None:
        """Index of the closest point to (x, y) in data coordinates within `radius_px` pixels, or None."""
        if self.data is None or not len(self.xy):
            return None
        sx, sy = self.plot.getViewBox().viewPixelSize()
        d = ((self.xy[:, 0] - x) / max(sx, 1e-12)) ** 2 + ((self.xy[:, 1] - y) / max(sy, 1e-12)) ** 2
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
        cluster = self.data.clusters.name_of_row(i) if self.data.clusters is not None else ""
        group = f"<br>cluster: {html.escape(cluster)}" if cluster else ""
        return f"{img}{html.escape(os.path.basename(ref))}<br>{html.escape(labels.replace(';', ', '))}{group}"

    def _on_mouse_moved(self, event) -> None:  # type: ignore[no-untyped-def]
        pos = event[0]
        if not self.plot.sceneBoundingRect().contains(pos) or self.thumbs.mode == "thumbnails":
            return  # over thumbnails the photos show themselves
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
            self.select_photo(rows[0])

    def select_photo(self, row: int, emit: bool = True) -> list[int]:
        """Select one photo: its K nearest photos of the full space are ringed and listed (green where the map keeps
        them near, red where it puts them far). Returns their rows, nearest first."""
        assert self.data is not None
        is_image = np.array([k == "image" for k in self.data.kinds], bool)
        found = full_space_neighbours(self.data.vectors, self.xy, is_image, row, K)
        self.selection, self.neighbours = [row], [n.row for n in found]
        self.thumbs.raise_rows([row])
        self.overlay.show(self.xy, row, found)
        self.neighbour_list.show_neighbours(os.path.basename(self.data.refs[row]), found, self.data.refs)
        if emit:
            self.photos_selected.emit([self.data.refs[row]])
        return self.neighbours

    def _forget_neighbours(self) -> None:
        self.neighbours = []
        self.overlay.clear()
        self.neighbour_list.clear_neighbours()

    def select_label(self, label: str) -> list[str]:
        """Select the photos carrying `label` (core `photos_with_label`); returns their paths (and emits them)."""
        from ..core.views.embedding_map import photos_with_label

        if self.data is None:
            return []
        paths = photos_with_label(self.data, label)
        wanted = set(paths)
        self.select_rows([i for i, r in enumerate(self.data.refs) if self.data.kinds[i] == "image" and r in wanted])
        self.label_selected.emit(label, paths)
        return paths

    def _on_box_toggled(self, on: bool) -> None:
        if on and self.data is not None:
            (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
            self.box.setPos(QPointF(x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3))
            self.box.setSize(QPointF((x1 - x0) * 0.4, (y1 - y0) * 0.4))
        self.box.setVisible(on)

    def select_rect(self, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Select the photos inside the rectangle; returns their paths (and emits them)."""
        if self.data is None:
            return []
        paths = self.select_rows(self.rows_in(x0, y0, x1, y1))
        self.photos_selected.emit(paths)
        return paths

    def rows_in(self, x0: float, y0: float, x1: float, y1: float) -> list[int]:
        assert self.data is not None
        x, y = self.xy[:, 0], self.xy[:, 1]
        inside = (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))
        return [int(i) for i in np.flatnonzero(inside) if self.data.kinds[i] == "image"]

    def select_rows(self, rows: list[int]) -> list[str]:
        """Select these photos (rows of the map) without telling anyone; returns their paths."""
        assert self.data is not None
        self.selection = rows
        self.thumbs.raise_rows(rows)
        self._forget_neighbours()
        self.overlay.mark(self.xy, rows)
        return [self.data.refs[i] for i in rows]

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
