"""Near-duplicate groups side by side (`xmr duplicates` in the window): one row of thumbnails per group, the photo
to keep first. Each thumbnail's menu reveals it in its folder or copies its path; nothing is ever deleted."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QMainWindow,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .results_model import ResultsModel
from .thumbs import SIZE, ThumbnailCache
from .widgets import ResultsGrid

if TYPE_CHECKING:
    from ..core.search.duplicates import Group
    from ..core.session import Session
    from .tasks import TaskRunner


class DuplicatesDialog(QDialog):
    def __init__(self, groups: list[Group], thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Near-duplicates")
        self.resize(1000, 640)
        copies = sum(len(g.paths) - 1 for g in groups)
        self.summary = QLabel(
            f"{len(groups)} groups, {copies} copies beside the photo to keep (first in each row: most pixels, then "
            "oldest). Right-click a photo to reveal it or copy its path; xmr never deletes anything."
            if groups
            else "No near-duplicates found."
        )
        self.summary.setWordWrap(True)
        body = QWidget()
        rows = QVBoxLayout(body)
        self.grids: list[ResultsGrid] = []
        for n, group in enumerate(groups, 1):
            model = ResultsModel(thumbs, self)
            model.set_paths(list(group.paths))
            grid = ResultsGrid(model, f"Group {n}: {len(group.paths)} photos — keep {os.path.basename(group.paths[0])}")
            grid.view.setFlow(QListView.Flow.LeftToRight)
            grid.view.setWrapping(False)
            grid.view.setFixedHeight(SIZE + 64)
            grid.view.setIconSize(QSize(SIZE, SIZE))
            rows.addWidget(grid)
            self.grids.append(grid)
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)


def find_and_show(session: Session, tasks: TaskRunner, thumbs: ThumbnailCache, parent: QWidget) -> None:
    """Find the open library's near-duplicates off the GUI thread, then show them (File → Find near-duplicates)."""
    if session.library is None:
        return
    status = parent.statusBar() if isinstance(parent, QMainWindow) else None
    if status is not None:
        status.showMessage("Looking for near-duplicates …")

    def show(groups: list[Group]) -> None:
        if status is not None:
            status.showMessage(f"{len(groups)} groups of near-duplicates", 8000)
        dialog = DuplicatesDialog(groups, thumbs, parent)
        parent.setProperty("duplicates_dialog", dialog)  # tests and screenshots find it here
        dialog.show()

    tasks.start(session.duplicates, on_result=show)
