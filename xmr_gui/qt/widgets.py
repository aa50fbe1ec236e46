"""Presentation widgets: the thumbnail grid and the image → text panel (with a checkpoint, its suggestions to add to
a photo's sidecar). No logic beyond showing things."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QMenu,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.base.defaults import SUGGEST_MIN_SCORE
from .results_model import PathRole, ResultsModel
from .thumbs import SIZE

if TYPE_CHECKING:
    from ..core.learn.keywords import Labels
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


NEEDS_CHECKPOINT = "Suggesting labels needs a trained checkpoint (its label classifiers): File → Open checkpoint…"
PER_LABEL = "check: per label (calibrated)"
CALIBRATED = "check: calibrated ≥ {:.2f}"  # the checkpoint's one threshold for every label (`xmr suggest`'s default)


class ThresholdBox(QDoubleSpinBox):
    """The describe panel's minimum score to check a suggestion from: the user's, one for every label, or, when the
    checkpoint has them, its calibrated thresholds (the box's lowest step, shown as CALIBRATED or PER_LABEL)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0.0, 1.0)
        self.setSingleStep(0.05)
        self.setDecimals(2)
        self.setValue(SUGGEST_MIN_SCORE)  # as `xmr suggest --min-score`'s default for a checkpoint without thresholds
        self.setPrefix("check ≥ ")
        self.per_label_offered = False

    def offer_per_label(self, offered: bool, text: str = PER_LABEL) -> None:
        """Offer the checkpoint's calibrated thresholds, shown as `text` (and start there) or not (start at
        SUGGEST_MIN_SCORE); offered as before, the user's choice stays."""
        if offered == self.per_label_offered and (not offered or text == self.specialValueText()):
            return
        self.per_label_offered = offered
        self.blockSignals(True)
        self.setSpecialValueText(text if offered else "")
        self.setMinimum(-self.singleStep() if offered else 0.0)
        self.setValue(self.minimum() if offered else SUGGEST_MIN_SCORE)
        self.blockSignals(False)

    def override(self) -> float | None:
        """The one threshold the user chose for every label; None: each label's own."""
        return None if self.per_label_offered and self.value() < 0.0 else self.value()

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        if self.override() is None and steps > 0:
            self.setValue(SUGGEST_MIN_SCORE)  # up from the per-label thresholds: the usual single one, not 0.00
        else:
            super().stepBy(steps)


class DescribePanel(QWidget):
    """Image → text: the query photo and its ranked labels as bars; with a checkpoint, who lifted each label, the
    photo's own keywords, and the suggestions as check boxes to add to its XMP sidecar."""

    add_requested = Signal(str, list)  # photo path, the checked labels it does not have yet

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = ""
        self.photo = QLabel("Drop a photo here, or pick one in the grid,\nto see its labels.")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setMinimumHeight(SIZE)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.keywords = QLabel("")
        self.keywords.setWordWrap(True)
        self.keywords.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keywords.setVisible(False)
        self.table = QTreeWidget()
        self.table.setColumnCount(3)
        self.table.setHeaderLabels(["label", "score", "lifted by (graph neighbours)"])
        self.table.setRootIsDecorated(False)
        self.table.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(1, 120)
        self.table.itemChanged.connect(self._update_add_button)
        self.min_score = ThresholdBox()
        self.min_score.valueChanged.connect(self._check_by_score)
        self.min_score.setVisible(False)
        self.rule = QLabel("")  # which threshold checks the suggestions: each label's own, or one for all
        self.rule.setWordWrap(True)
        self.rule.setVisible(False)
        self.add_button = QPushButton("Add checked labels to sidecar")
        self.add_button.setToolTip(NEEDS_CHECKPOINT)
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(self._on_add)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QHBoxLayout()
        controls.addWidget(self.min_score)
        controls.addWidget(self.add_button, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.photo)
        layout.addWidget(self.caption)
        layout.addWidget(self.keywords)
        layout.addWidget(self.table)
        layout.addLayout(controls)
        layout.addWidget(self.rule)
        layout.addWidget(self.status)
        self._scores: dict[str, float] = {}
        self._thresholds: dict[str, float | None] = {}  # each suggestion's calibrated threshold (None: none)
        self._per_label = False  # they are each label's own, not one for every label
        self._kept: set[str] = set()  # the photo's keywords, casefolded
        self._busy = False
        self.suggesting = False  # the rows shown are a checkpoint's suggestions: check boxes, the add button

    def show_labels(
        self, path: str, rows: list[LabelRow], pixmap: QPixmap | None, keywords: Labels | None = None
    ) -> None:
        """The photo's ranked labels; given its `keywords` (a checkpoint suggests), also those and check boxes."""
        if pixmap is not None and not pixmap.isNull():
            self.photo.setPixmap(pixmap)
        self.path = path
        self.caption.setText(os.path.basename(path))
        self.status.setText("")
        self._busy = False
        self._scores = {r.label: r.score for r in rows}
        self._thresholds = {r.label: r.threshold for r in rows}
        self.suggesting = suggesting = keywords is not None
        self.keywords.setVisible(suggesting)
        self.min_score.setVisible(suggesting)
        self.rule.setVisible(suggesting)
        calibrated = [r for r in rows if r.threshold is not None]
        self._per_label = any(r.per_label for r in calibrated)
        text = PER_LABEL if self._per_label or not calibrated else CALIBRATED.format(calibrated[0].threshold)
        self.min_score.offer_per_label(suggesting and bool(calibrated), text)
        self.add_button.setToolTip(
            "Add the checked labels to the photo's XMP sidecar (photo.jpg.xmp) as keywords; the photo itself is never"
            " modified and an existing sidecar keeps its other fields"
            if suggesting
            else NEEDS_CHECKPOINT
        )
        self.table.blockSignals(True)  # itemChanged for each new row would re-check the button once per row
        self.table.clear()
        self.table.setColumnHidden(2, not any(r.lifted_by for r in rows))  # only a checkpoint's graph lifts labels
        top = max((r.score for r in rows), default=1.0) or 1.0
        for r in rows:
            lifted = ", ".join(f"{n} +{v:.2f}" for n, v in r.lifted_by)
            item = QTreeWidgetItem([r.label, "", lifted])
            item.setToolTip(2, f"{r.label} was raised by its graph neighbours: {lifted}" if lifted else "")
            if r.threshold is not None:
                whose = f"{r.label}'s own threshold" if r.per_label else "the threshold for every label"
                item.setToolTip(1, f"{whose}: {r.threshold:.3f} (calibrated on your labelled photos)")
            self.table.addTopLevelItem(item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * max(r.score, 0.0) / top) if top > 0 else 0)
            bar.setFormat(f"{r.score:.3f}")
            bar.setTextVisible(True)
            self.table.setItemWidget(item, 1, bar)
        self.table.blockSignals(False)
        if keywords is not None:
            self.show_keywords(keywords)
        else:
            self._kept = set()
            self._update_add_button()

    def show_keywords(self, keywords: Labels) -> None:
        """The photo's own keywords (and what could not be read); suggestions it already has are shown checked and
        cannot be unchecked (the sidecar keeps them), the others checked by score."""
        text = "Keywords: " + (", ".join(keywords.labels) if keywords.labels else "no labels")
        if keywords.problems:
            text += "\n⚠ " + "; ".join(keywords.problems)
        self.keywords.setText(text)
        self.keywords.setToolTip("from " + "; ".join(keywords.sources) if keywords.sources else "")
        self._kept = {label.casefold() for label in keywords.labels}
        self._check_by_score()

    def show_status(self, line: str, error: bool = False) -> None:
        """One line under the table: what the last write did, or why it did not."""
        self._busy = False
        self.status.setText(("⚠ " if error else "") + line)
        self.status.setStyleSheet("QLabel { color: #b02a37; }" if error else "")
        self._update_add_button()

    def labels(self) -> list[str]:
        return [self._item(i).text(0) for i in range(self.table.topLevelItemCount())]

    def checked_labels(self) -> list[str]:
        """The checked suggestions the photo does not have yet, best first."""
        items = (self._item(i) for i in range(self.table.topLevelItemCount()))
        return [
            it.text(0)
            for it in items
            if it.checkState(0) == Qt.CheckState.Checked and it.flags() & Qt.ItemFlag.ItemIsUserCheckable
        ]

    def _item(self, i: int) -> QTreeWidgetItem:
        return cast(QTreeWidgetItem, self.table.topLevelItem(i))  # never None for i < topLevelItemCount()

    def _check_by_score(self) -> None:
        if not self.suggesting:
            return
        from ..core.search.suggest import cut  # the rule `xmr suggest` uses; numpy is loaded by now, not at start-up

        override = self.min_score.override()
        self._say_rule(override)
        self.table.blockSignals(True)
        for i in range(self.table.topLevelItemCount()):
            item = self._item(i)
            label = item.text(0)
            kept = label.casefold() in self._kept
            choice = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled  # a kept one is greyed, fixed
            item.setFlags(item.flags() & ~choice if kept else item.flags() | choice)
            checked = kept or self._scores.get(label, 0.0) >= cut(self._thresholds.get(label), override)
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setToolTip(0, "already one of the photo's keywords" if kept else f"{label}: check to add it")
        self.table.blockSignals(False)
        self._update_add_button()

    def _say_rule(self, override: float | None) -> None:
        """Which threshold checked the suggestions, in the line under the table and the box's tooltip."""
        if override is None and self._per_label:
            line = (
                "Checked from each label's own threshold, calibrated on your labelled photos when the checkpoint was "
                "trained (hover a score to see it). Step the box up to use one threshold for every label."
            )
        elif override is None:
            t = next((t for t in self._thresholds.values() if t is not None), SUGGEST_MIN_SCORE)
            line = (
                f"Checked from {t:.2f} for every label, the threshold calibrated on your labelled photos when the "
                "checkpoint was trained, aiming at suggestions right 70 % of the time (one threshold for all labels "
                "measured better than each label's own). Step the box up to choose your own."
            )
        elif self.min_score.per_label_offered:
            mine = "each label's own" if self._per_label else "the calibrated one"
            line = f"Checked from {override:.2f} for every label (your choice); step below 0.00 for {mine}."
        else:
            line = f"Checked from {override:.2f} for every label: this checkpoint has no calibrated threshold."
        self.rule.setText(line)
        self.min_score.setToolTip(line)

    def _update_add_button(self) -> None:
        self.add_button.setEnabled(self.suggesting and not self._busy and bool(self.checked_labels()))

    def _on_add(self) -> None:
        labels = self.checked_labels()
        if not labels or not self.path:
            return
        self._busy = True
        self.add_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(f"Adding {', '.join(labels)} …")
        self.add_requested.emit(self.path, labels)
