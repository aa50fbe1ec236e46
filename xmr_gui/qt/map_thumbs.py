"""Thumbnails on the map, with level of detail as you zoom.

Zoomed out, the map is dots (one ScatterPlotItem, cheap at 10,000 photos). Once the view holds few enough photos for
their thumbnails to cover at most `COVER` of the plot at 32 pixels (and at most `MAX_SHOWN`), each visible photo is
drawn as its thumbnail, framed in its dot's colour, at a fixed size on screen: the largest of `SIDES` that keeps to
that share, so thumbnails grow as you zoom in. A small folder is thumbnails from the start. Thumbnails come from the
window's ThumbnailCache, decoded on its thread pool: a photo whose thumbnail is not ready yet stays a dot until it
arrives. Only the visible photos get an item, and items are reused from a pool, so zooming and panning never build
thousands of items.

pyqtgraph has no image-sprite scatter (its ScatterPlotItem draws one symbol per point from a shared atlas): hence
this small layer of QGraphicsItems that ignore the view's scale.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from .thumbs import ThumbnailCache

MAX_SHOWN = 150  # photos in view at most for thumbnails to replace the dots
SIDES = (112, 80, 56, 40, 32)  # thumbnail sides in pixels, the largest that fits is used
COVER = 0.3  # thumbnails may cover at most this share of the plot (their sum of areas; they overlap where dense)


class Thumb(QGraphicsItem):
    """One thumbnail, centred on its photo's map position, `side` pixels whatever the zoom, framed in a colour."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.pixmap = QPixmap()
        self.side = 52
        self.frame = QColor(120, 120, 120)
        self.row = -1
        self.on_click: Callable[[int], None] | None = None

    def mouseClickEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # pyqtgraph's scene calls this
        if event.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            event.accept()
            self.on_click(self.row)

    def show_photo(self, row: int, pixmap: QPixmap, side: int, frame: QColor) -> None:
        if (row, side, frame.rgba()) != (self.row, self.side, self.frame.rgba()) or pixmap.cacheKey() != (
            self.pixmap.cacheKey()
        ):
            self.prepareGeometryChange()
            self.row, self.side, self.frame = row, side, frame
            self.pixmap = pixmap
            self.update()
        self.setVisible(True)

    def boundingRect(self) -> QRectF:
        h = self.side / 2 + 2
        return QRectF(-h, -h, 2 * h, 2 * h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.pixmap.isNull():
            return
        w, h = self.pixmap.width(), self.pixmap.height()  # already scaled to `side` (ThumbLayer.scaled)
        target = QRectF(-w / 2, -h / 2, w, h)
        painter.drawPixmap(target.topLeft(), self.pixmap)
        painter.setPen(QPen(self.frame, 2))
        painter.drawRect(target.adjusted(-1, -1, 1, 1))


class ThumbLayer(QObject):
    clicked = Signal(int)  # the map row of a thumbnail clicked

    """Draws thumbnails over a plot's view box for the photos in view when few enough are (see module doc).

    `mode` is "dots" or "thumbnails"; `update()` recomputes what is shown (called, coalesced, on every range
    change and when a thumbnail arrives)."""

    def __init__(self, view_box, thumbs: ThumbnailCache, parent: QObject | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self.view_box = view_box
        self.thumbs = thumbs
        self.mode = "dots"
        self.enabled = True
        self.xy = np.zeros((0, 2), np.float32)
        self.rows: list[int] = []
        self.raised: set[int] = set()  # map rows drawn above the names (the selected photo)
        self.paths: list[str] = []
        self.frames: list[QColor] = []
        self.shown: list[int] = []  # photo indices drawn as thumbnails now
        self._items: list[Thumb] = []
        self._wanted: set[str] = set()
        self._scaled: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()  # (path, side) -> pixmap of that side
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(15)  # coalesce a drag's many range changes into one update per frame
        self._timer.timeout.connect(self.update)
        view_box.sigRangeChanged.connect(lambda *_a: self._timer.start())
        thumbs.ready.connect(self._on_ready)

    def set_photos(self, xy: np.ndarray, rows: list[int], paths: list[str], frames: list[QColor]) -> None:
        """The photos: map positions, their rows in the map's data (what `clicked` tells), paths, frame colours."""
        self.xy, self.rows = np.asarray(xy, np.float32).reshape(-1, 2), rows
        self.paths, self.frames = paths, frames
        self.update()

    def raise_rows(self, rows: list[int]) -> None:
        """Draw these photos' thumbnails above the names (a selected photo is never hidden by its cluster's name)."""
        self.raised = set(rows)
        self.update()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self.update()

    def visible(self) -> np.ndarray:
        """Indices of the photos inside the view box's range."""
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        x, y = self.xy[:, 0], self.xy[:, 1]
        return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))

    def side_for(self, n: int) -> int | None:
        """The thumbnail side for `n` photos in view, None when even the smallest would cover too much."""
        rect = self.view_box.sceneBoundingRect()
        area = rect.width() * rect.height()
        if n == 0 or n > MAX_SHOWN:
            return None
        return next((s for s in SIDES if n * s * s <= COVER * area), None)

    def update(self) -> None:
        inside = self.visible() if self.enabled and len(self.xy) else np.zeros(0, np.intp)
        side = self.side_for(len(inside))
        if not self.enabled or side is None:
            self.mode, self.shown = "dots", []
            self._wanted = set()
            for item in self._items:
                item.setVisible(False)
            return
        self.mode = "thumbnails"
        self._wanted = {self.paths[i] for i in inside}
        self.shown = []
        for i in inside.tolist():
            pixmap = self.thumbs.get(self.paths[i])  # None until decoded off the GUI thread: stays a dot till then
            if pixmap is not None and not pixmap.isNull():
                self.shown.append(i)
        while len(self._items) < len(self.shown):
            item = Thumb()
            item.on_click = self.clicked.emit
            self.view_box.addItem(item, ignoreBounds=True)
            self._items.append(item)
        for item, i in zip(self._items, self.shown, strict=False):
            pixmap = self.scaled(self.paths[i], side)
            item.setPos(QPointF(float(self.xy[i, 0]), float(self.xy[i, 1])))
            item.setZValue(5.5 if self.rows[i] in self.raised else 3)  # names are 5, the neighbour overlay 6+
            item.show_photo(self.rows[i], pixmap, side, self.frames[i])
        for item in self._items[len(self.shown) :]:
            item.setVisible(False)

    def scaled(self, path: str, side: int) -> QPixmap:
        """The thumbnail of `path` scaled once to `side` pixels (painting a pre-scaled pixmap costs a copy, where
        scaling at every paint would cost a filter per frame)."""
        key = (path, side)
        if key in self._scaled:
            self._scaled.move_to_end(key)
            return self._scaled[key]
        full = self.thumbs.get(path)
        assert full is not None
        mode = Qt.TransformationMode.SmoothTransformation
        pixmap = full.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)
        self._scaled[key] = pixmap
        while len(self._scaled) > 4 * MAX_SHOWN:
            self._scaled.popitem(last=False)
        return pixmap

    def _on_ready(self, path: str) -> None:
        if path in self._wanted:
            self._timer.start()

    def items(self) -> list[Thumb]:
        """The thumbnail items on the map now (visible ones)."""
        return [item for item in self._items if item.isVisible()]
