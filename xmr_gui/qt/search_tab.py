"""The Photos tab: text and photo queries over the session's library, the results as thumbnails (side by side
when comparing the raw backbone with the checkpoint), and the picked photo's labels (with a checkpoint, also its
keywords and the checkpoint's suggestions, which can be added to its XMP sidecar). A text query far from all
the model knows gets a hint above the results naming the nearest concepts it does know.

Its toolbar (search box, compare, score threshold) goes at the top of the window; the window adds it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..core.session import Session
from .filter_completer import FilterCompleter
from .results_model import ResultsModel
from .tasks import TaskRunner
from .thumbs import ThumbnailCache, make_thumbnail
from .widgets import DescribePanel, ResultsGrid
from .worker import user_line

if TYPE_CHECKING:  # the window shows before numpy / Pillow / model code is imported
    from pathlib import Path

    from ..core.learn.keywords import Labels
    from ..core.search.photos import Hit
    from ..core.session import LabelRow, SearchAnswer

MAX_RESULTS = 500


class SearchTab(QWidget):
    search_done = Signal(list)  # hits shown
    describe_done = Signal(list)  # LabelRows shown
    labels_added = Signal(str)  # the describe panel's line after adding labels to a sidecar: done, or why not
    message = Signal(str, int)  # for the status bar: text, milliseconds shown (0: until the next one)
    hint_done = Signal(object)  # the out-of-vocabulary hint for the last text query (a line, or None), once known
    error = Signal(str)

    def __init__(
        self, session: Session, tasks: TaskRunner, thumbs: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self._hits: list[Hit] = []
        self._learned: list[Hit] = []  # the checkpoint's side of a comparison (the slider cuts both)
        self._describing = ""  # the photo whose labels the describe panel is waiting for
        self.model = ResultsModel(thumbs, self)
        self.compare_model = ResultsModel(thumbs, self)
        self.toolbar = self._build_toolbar()
        self.grid = ResultsGrid(self.model)
        self.compare_grid = ResultsGrid(self.compare_model, "checkpoint space")
        self.compare_grid.setVisible(False)
        self.describe_panel = DescribePanel()
        self.describe_panel.add_requested.connect(self.add_labels)
        for g in (self.grid, self.compare_grid):
            g.find_similar.connect(self.query_image)
            g.picked.connect(self.describe)
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(self.compare_grid)
        split.addWidget(self.describe_panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([860, 0, 420])
        self.hint_label = QLabel("")
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint_label.setStyleSheet(
            "QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c36c; padding: 6px; }"
        )
        self.hint_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.hint_label.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint_label)
        layout.addWidget(split, 1)

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar("Search")
        bar.setMovable(False)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText(
            "Search photos, e.g. “a dog on the beach - sand after:2023 camera:pixel keyword:grandma”  (Ctrl+F, Enter)"
        )
        self.search_box.setToolTip(
            "Terms joined by “ + ” or “ - ” mix and exclude (“2:a dog + 0.5:/path/to/photo.jpg”); filters anywhere: "
            "after:/before: (YYYY, YYYY-MM, YYYY-MM-DD), camera:, folder:, keyword:; a query that is one of your "
            "keywords lists the photos carrying it first"
        )
        self.completer = FilterCompleter(self.search_box, self)
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        bar.addWidget(self.search_box)
        self.compare_box = QCheckBox("Compare raw vs checkpoint")
        self.compare_box.setToolTip(
            "Run the query in the backbone's own space (zero-shot) and in the checkpoint's learned space, side by side"
        )
        self.compare_box.toggled.connect(self._on_compare_toggled)
        bar.addWidget(self.compare_box)
        bar.addWidget(QLabel("  min cosine "))
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(-100, 100)
        self.threshold.setValue(-100)
        self.threshold.setFixedWidth(140)
        self.threshold.valueChanged.connect(self._apply_threshold)
        bar.addWidget(self.threshold)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)
        return bar

    # -- queries -----------------------------------------------------------------------------
    def query(self) -> str:
        return self.search_box.text().strip()

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def search(self) -> None:
        """Run the search box's text (in both spaces when comparing)."""
        query = self.query()
        if not query or self.session.library is None:
            return
        self.message.emit(f"Searching “{query}” …", 0)
        self.show_hint(None)
        if self.compare_box.isChecked() and self.session.has_checkpoint:
            self.tasks.start(self.session.compare_text, query, MAX_RESULTS, on_result=self._show_compare)
        else:
            self.tasks.start(self.session.search, query, MAX_RESULTS, on_result=self._show_answer)
        # after the search (the session runs one call at a time): the first one for a checkpoint prepares the
        # offline text model it compares labels in (~30 s, once per cache)
        self.tasks.start(self.session.query_hint, query, on_result=lambda line: self._on_hint(query, line))

    def _on_hint(self, query: str, line: str | None) -> None:
        if query != self.query():  # a newer search is on its way, with its own hint
            return
        self.show_hint(line)
        self.hint_done.emit(line)

    def show_hint(self, line: str | None) -> None:
        self.hint_label.setText(f"⚠ {line}" if line else "")
        self.hint_label.setToolTip(line or "")
        self.hint_label.setVisible(bool(line))

    def search_for(self, text: str) -> None:
        self.search_box.setText(text)
        self.search()

    def query_image(self, path: str) -> None:
        """Photos like the one at `path`, and its labels."""
        if self.session.library is None:
            self.error.emit("Open a folder first, then drop a photo to find similar ones.")
            return
        self.message.emit(f"Photos like {os.path.basename(path)} …", 0)
        self.tasks.start(self.session.search_image, path, MAX_RESULTS, on_result=self._show_hits)
        self.describe(path)

    def describe(self, path: str) -> None:
        """The photo's labels; with a checkpoint's classifiers, its keywords and the checkpoint's suggestions."""
        session = self.session
        self._describing = path  # the latest photo asked for: an earlier one's answer arriving later is dropped

        def work() -> tuple[list[LabelRow], Labels | None, Any]:
            suggesting = session.can_suggest
            rows = session.describe(path, 10)  # with a checkpoint's classifiers: its suggestions, at any score
            return rows, session.keywords(path) if suggesting else None, make_thumbnail(path)

        self.tasks.start(work, on_result=lambda out: self._show_description(path, *out))

    def _show_description(self, path: str, rows: list[LabelRow], keywords: Labels | None, image: Any) -> None:
        if path != self._describing:
            return
        pixmap = QPixmap.fromImage(image) if image is not None else None
        self.describe_panel.show_labels(path, rows, pixmap, keywords)
        self.describe_done.emit(rows)

    def add_labels(self, path: str, labels: list[str]) -> None:
        """Add `labels` to the photo's XMP sidecar, then show its keywords as they are now."""
        session = self.session
        self.tasks.start(
            lambda: (session.add_labels(path, labels), session.keywords(path)),
            on_result=lambda out: self._on_labels_added(path, labels, *out),
            on_error=lambda exc: self._on_labels_not_added(path, exc),
        )

    def _on_labels_added(self, path: str, labels: list[str], sidecar: Path, keywords: Labels) -> None:
        line = f"Added {', '.join(labels)} to {sidecar.name} (the photo itself is unchanged)"
        if self.describe_panel.path == path:  # another photo may have been picked meanwhile
            self.describe_panel.show_keywords(keywords)
            self.describe_panel.show_status(line)
        self.message.emit(line, 8000)
        self.labels_added.emit(line)

    def _on_labels_not_added(self, path: str, error: BaseException) -> None:
        line = f"Not added: {user_line(error)}"
        if self.describe_panel.path == path:
            self.describe_panel.show_status(line, error=True)
        self.message.emit(line, 10000)
        self.labels_added.emit(line)

    def _show_hits(self, hits: list[Hit], line: str | None = None) -> None:
        self._hits, self._learned = hits, []
        self.compare_grid.setVisible(False)
        self.grid.set_title("")
        self._apply_threshold()
        self.message.emit(line or f"{len(hits)} results", 8000 if line else 5000)
        self.search_done.emit(hits)

    def _show_answer(self, found: SearchAnswer) -> None:
        """A text search's hits, the status line saying what its filters let through, which came by keyword and how
        the query was read."""
        line = f"{len(found.hits)} results"
        if found.matching is not None:
            line = f"{found.matching} of {found.indexed} photos match the filters; {line}"
        tagged = sum(h.by_keyword for h in found.hits)
        if tagged:
            line += f"; {tagged} carry the query as a keyword (listed first, marked “keyword”)"
        if found.how:
            line += f"; answered {found.how}"
        if found.notes:
            line += " — " + "; ".join(found.notes)
        self._show_hits(found.hits, line)

    def refresh_filter_values(self) -> None:
        """Complete filter values from the open library's cameras, folders and keywords."""
        if self.session.library is not None:
            self.tasks.start(self.session.filter_values, on_result=self.completer.set_values)

    def _show_compare(self, pair: tuple[list[Hit], list[Hit]]) -> None:
        raw, learned = pair
        self._hits, self._learned = raw, learned
        self.grid.set_title("raw backbone (zero-shot)")
        self.compare_grid.setVisible(True)
        self._apply_threshold()
        self.search_done.emit(learned)

    def _apply_threshold(self) -> None:
        cut = self.threshold.value() / 100.0
        shown = [h for h in self._hits if h.similarity >= cut]  # a cosine, as --min-score (the vote never counts)
        self.model.set_hits(shown)
        if self.compare_grid.isVisible():
            self.compare_model.set_hits([h for h in self._learned if h.similarity >= cut])
        self.count_label.setText(f"  {len(shown)} results" + (f" (cosine ≥ {cut:.2f})" if cut > -1 else ""))

    def _on_compare_toggled(self, on: bool) -> None:
        if on and not self.session.has_checkpoint:
            self.message.emit("Compare needs a checkpoint: File → Open checkpoint", 8000)
        if self.query():
            self.search()

    # -- what the rest of the window shows here ------------------------------------------------
    def clear(self) -> None:
        self.model.clear()
        self.show_hint(None)

    def add_indexed(self, paths: list[str]) -> None:
        """Photos just indexed, shown as they come while there is no query."""
        if paths and not self.query():
            self.model.append_paths(paths)
            self.count_label.setText(f"  {self.model.rowCount()} photos")

    def after_indexing(self) -> None:
        """Run the query again on the updated library; with none and nothing shown yet, show some photos."""
        self.refresh_filter_values()
        if self.query():
            self.search()
        elif self.model.rowCount() == 0:
            self.tasks.start(self.session.search_text, "a photo", MAX_RESULTS, on_result=self._show_hits)

    def show_paths(self, paths: list[str], note: str) -> None:
        self.model.set_paths(paths)
        self.count_label.setText(f"  {len(paths)} {note}")
