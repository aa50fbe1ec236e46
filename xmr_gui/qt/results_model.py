"""The list model behind the thumbnail grid: (path, score) rows, thumbnails filled in as they decode."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, QUrl
from PySide6.QtGui import QColor, QPainter, QPixmap

from .thumbs import SIZE, ThumbnailCache

if TYPE_CHECKING:
    from ..core.search.photos import Hit

PathRole = Qt.ItemDataRole.UserRole
ScoreRole = Qt.ItemDataRole.UserRole + 1


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbs: ThumbnailCache, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, float | None]] = []
        self._row_of: dict[str, int] = {}
        self._notes: dict[str, str] = {}  # path -> why it is shown ("keyword", or the date it was taken)
        self._cosines: dict[str, float] = {}  # path -> its cosine, where the score adds a label query's vote
        self._thumbs = thumbs
        self._placeholder = QPixmap(SIZE, SIZE)
        self._placeholder.fill(QColor(128, 128, 128, 60))
        self._squares: dict[str, QPixmap] = {}
        thumbs.ready.connect(self._on_thumb)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        path, score = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            name = os.path.basename(path)
            note = self._notes.get(path)
            if note is not None:
                return f"{note}  {name}"
            return name if score is None else f"{score:.3f}  {name}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._square(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = path if score is None else f"{path}\nscore {score:.4f}"
            cosine = self._cosines.get(path)
            if cosine is not None:  # a label query: the score adds the vote of the photos labelled with it
                tip += f" (cosine {cosine:.4f} + the labelled training photos' vote)"
            return tip + ("\ncarries the query as a keyword" if self._notes.get(path) == "keyword" else "")
        if role == PathRole:
            return path
        if role == ScoreRole:
            return score
        return None

    def set_hits(self, hits: list[Hit]) -> None:
        self.beginResetModel()
        self._rows = [(h.path, None if h.taken and not h.score else h.score) for h in hits]
        # a keyword hit says so; a filters-only list shows each photo's date instead of a score
        self._notes = {
            h.path: "keyword" if h.by_keyword else (h.taken or "")[:10] for h in hits if h.by_keyword or h.taken
        }
        self._cosines = {h.path: h.cosine for h in hits if h.cosine is not None}
        self._row_of = {p: i for i, (p, _) in enumerate(self._rows)}
        self.endResetModel()

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return ["text/uri-list", "text/plain"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """Dragged photos are file URLs: a file manager copies them, a chat app attaches them."""
        data = QMimeData()
        paths = [self._rows[i.row()][0] for i in indexes if i.isValid()]
        data.setUrls([QUrl.fromLocalFile(p) for p in paths])
        data.setText("\n".join(paths))
        return data

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction  # never Move: dragging a result out must not remove the photo

    def set_paths(self, paths: list[str]) -> None:
        """Rows without scores (a selection from the map)."""
        self.beginResetModel()
        self._notes, self._cosines = {}, {}
        self._rows = [(p, None) for p in paths]
        self._row_of = {p: i for i, (p, _) in enumerate(self._rows)}
        self.endResetModel()

    def append_paths(self, paths: list[str]) -> None:
        new = [p for p in paths if p not in self._row_of]
        if not new:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
        for p in new:
            self._row_of[p] = len(self._rows)
            self._rows.append((p, None))
        self.endInsertRows()

    def clear(self) -> None:
        self.set_hits([])

    def path_at(self, row: int) -> str:
        return self._rows[row][0]

    def rows(self) -> list[tuple[str, float | None]]:
        return list(self._rows)

    def _square(self, path: str) -> QPixmap:
        """The thumbnail on a SIZE×SIZE transparent square, standing on its bottom edge: every cell of the grid
        the same size (it lays out with uniform item sizes), so a tall photo's caption is not pushed out of view."""
        square = self._squares.get(path)
        if square is not None:
            return square
        thumb = self._thumbs.get(path)
        if thumb is None or thumb.isNull():
            return self._placeholder
        if thumb.width() == thumb.height() == SIZE:
            square = thumb
        else:
            square = QPixmap(SIZE, SIZE)
            square.fill(Qt.GlobalColor.transparent)
            painter = QPainter(square)
            painter.drawPixmap((SIZE - thumb.width()) // 2, SIZE - thumb.height(), thumb)
            painter.end()
        if len(self._squares) > 4 * SIZE:  # a bound, not a cache policy: the ThumbnailCache keeps the decoded ones
            self._squares.clear()
        self._squares[path] = square
        return square

    def _on_thumb(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
