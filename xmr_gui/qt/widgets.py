"""Presentation widgets: the thumbnail grid and the image → text panel. No logic beyond showing things."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListView,
    QMenu,
    QProgressBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .results_model import PathRole, ResultsModel
from .thumbs import SIZE

if TYPE_CHECKING:
    from ..core.session import LabelRow


def reveal_in_folder(path: str) -> None:
    """Show the file in the system file manager (its folder, where selecting is not portable)."""
    if sys.platform == "darwin":
        subprocess.Popen(["open", "-R", path])  # noqa: S603,S607
    elif sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", path])  # noqa: S603,S607
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


class ResultsGrid(QWidget):
    """A titled, virtualised thumbnail grid over a ResultsModel."""

    find_similar = Signal(str)
    picked = Signal(str)

    def __init__(self, model: ResultsModel, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.title = QLabel(title)
        self.title.setVisible(bool(title))
        self.view = QListView()
        self.view.setModel(model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)  # lays out 10k items without a frozen frame
        self.view.setBatchSize(200)
        self.view.setUniformItemSizes(True)
        self.view.setIconSize(QSize(SIZE, SIZE))
        self.view.setGridSize(QSize(SIZE + 24, SIZE + 40))
        self.view.setMovement(QListView.Movement.Static)
        # One caption line per photo, long names shortened in the middle ("0.963  skimage_as…naut.jpg"): wrapped
        # captions under tall (portrait) thumbnails ran out of room and showed only "…".
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        copy = QAction("Copy paths", self.view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selected_paths)
        self.view.addAction(copy)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.view.doubleClicked.connect(lambda idx: self._open(idx.data(PathRole)))
        self.view.clicked.connect(lambda idx: self.picked.emit(idx.data(PathRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view)

    def selected_paths(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.path_at(r) for r in rows]

    def copy_selected_paths(self) -> None:
        """Ctrl+C: the selected photos' absolute paths, one per line (pastes into a terminal or a file list)."""
        paths = self.selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    def set_title(self, text: str) -> None:
        self.title.setText(text)
        self.title.setVisible(bool(text))

    def _open(self, path: str | None) -> None:
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _on_context_menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        path = idx.data(PathRole)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self._open(path))
        menu.addAction("Reveal in folder", lambda: reveal_in_folder(path))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        menu.addAction("Find similar", lambda: self.find_similar.emit(path))
        menu.exec(self.view.viewport().mapToGlobal(pos))


class DescribePanel(QWidget):
    """Image → text: the query photo and its ranked labels as bars; with a checkpoint, who lifted each label."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo = QLabel("Drop a photo here, or pick one in the grid,\nto see its labels.")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setMinimumHeight(SIZE)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setColumnCount(3)
        self.table.setHeaderLabels(["label", "score", "lifted by (graph neighbours)"])
        self.table.setRootIsDecorated(False)
        self.table.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(1, 120)
        layout = QVBoxLayout(self)
        layout.addWidget(self.photo)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)

    def show_labels(self, path: str, rows: list[LabelRow], pixmap: QPixmap | None) -> None:
        if pixmap is not None and not pixmap.isNull():
            self.photo.setPixmap(pixmap)
        self.caption.setText(os.path.basename(path))
        self.table.clear()
        self.table.setColumnHidden(2, not any(r.lifted_by for r in rows))  # only a checkpoint's graph lifts labels
        top = max((r.score for r in rows), default=1.0) or 1.0
        for r in rows:
            lifted = ", ".join(f"{n} +{v:.2f}" for n, v in r.lifted_by)
            item = QTreeWidgetItem([r.label, "", lifted])
            item.setToolTip(2, f"{r.label} was raised by its graph neighbours: {lifted}" if lifted else "")
            self.table.addTopLevelItem(item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * max(r.score, 0.0) / top) if top > 0 else 0)
            bar.setFormat(f"{r.score:.3f}")
            bar.setTextVisible(True)
            self.table.setItemWidget(item, 1, bar)

    def labels(self) -> list[str]:
        # topLevelItem(i) is never None for i < topLevelItemCount()
        return [
            cast(QTreeWidgetItem, self.table.topLevelItem(i)).text(0) for i in range(self.table.topLevelItemCount())
        ]
