"""The main window: open a folder and a checkpoint, index with progress, search both ways, compare spaces.

It presents a core `Session`; every slow call runs through `run_task` so the event loop never blocks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..core.session import ModelChoice, Session
from .results_model import ResultsModel
from .thumbs import ThumbnailCache, make_thumbnail
from .widgets import DescribePanel, ResultsGrid
from .worker import Task, run_task

if TYPE_CHECKING:  # the window shows before numpy / Pillow / model code is imported
    from ..core.indexing.indexer import IndexReport, Progress
    from ..core.search.photos import Hit

MAX_RESULTS = 500
MAX_RECENT = 8


def _eta(seconds: float) -> str:
    if seconds == float("inf"):
        return "–"
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


class MainWindow(QMainWindow):
    indexing_done = Signal(object)  # IndexReport
    search_done = Signal(list)  # hits shown
    describe_done = Signal(list)  # LabelRows shown
    error_shown = Signal(str)
    map_shown = Signal(str)  # "pca" / "umap"
    graph_shown = Signal(int)  # edges

    def __init__(self, session: Session, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self._tasks: dict[Any, tuple[Task, Callable[[Any], None], Callable[[Any], None] | None]] = {}
        self._index_task: Task | None = None
        self._hits: list[Hit] = []
        self._index_started = 0.0
        self.setWindowTitle("xmr — photo search")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.thumbs = ThumbnailCache(parent=self)
        self.model = ResultsModel(self.thumbs, self)
        self.compare_model = ResultsModel(self.thumbs, self)
        self._build_ui()
        self._build_menus()
        self._update_status()

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        bar = QToolBar("Search")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search photos by text, e.g. “a dog on the beach”  (Ctrl+F, Enter)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self._on_search)
        bar.addWidget(self.search_box)
        self.compare_box = QCheckBox("Compare raw vs checkpoint")
        self.compare_box.setToolTip(
            "Run the query in the backbone's own space (zero-shot) and in the checkpoint's learned space, side by side"
        )
        self.compare_box.toggled.connect(self._on_compare_toggled)
        bar.addWidget(self.compare_box)
        bar.addWidget(QLabel("  min score "))
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(-100, 100)
        self.threshold.setValue(-100)
        self.threshold.setFixedWidth(140)
        self.threshold.valueChanged.connect(self._apply_threshold)
        bar.addWidget(self.threshold)
        self.count_label = QLabel("")
        bar.addWidget(self.count_label)

        self.grid = ResultsGrid(self.model)
        self.compare_grid = ResultsGrid(self.compare_model, "checkpoint space")
        self.compare_grid.setVisible(False)
        self.describe_panel = DescribePanel()
        for g in (self.grid, self.compare_grid):
            g.find_similar.connect(self.query_image)
            g.picked.connect(self._on_picked)
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(self.compare_grid)
        split.addWidget(self.describe_panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([860, 0, 420])

        self.welcome = QWidget()
        w = QVBoxLayout(self.welcome)
        w.addStretch()
        hello = QLabel(
            "<h2>xmr — search your photos by text, or by photo</h2>"
            "<p>Open a folder (Ctrl+O) or drop one here. Not sure? Try the built-in demo world.</p>"
        )
        hello.setAlignment(Qt.AlignmentFlag.AlignCenter)
        w.addWidget(hello)
        self.demo_button = QPushButton("Open the demo")
        self.demo_button.clicked.connect(self.open_demo)
        open_button = QPushButton("Open folder…")
        open_button.clicked.connect(self._on_open_folder_dialog)
        for b in (self.demo_button, open_button):
            b.setMaximumWidth(240)
            w.addWidget(b, alignment=Qt.AlignmentFlag.AlignCenter)
        w.addStretch()
        # The graph and map tabs import pyqtgraph, so they are built the first time they are shown.
        self.tabs = QTabWidget()
        self.tabs.addTab(split, "Photos")
        self.graph_tab, self.map_tab = QWidget(), QWidget()
        self.tabs.addTab(self.graph_tab, "Label graph")
        self.tabs.addTab(self.map_tab, "Map")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.graph_view: Any = None
        self.map_view: Any = None
        self._map_key: tuple[str, str] | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self.setCentralWidget(self.stack)

        status = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.library_label = QLabel("")
        status.addWidget(self.progress)
        status.addWidget(self.cancel_button)
        status.addPermanentWidget(self.library_label)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self._action(menu, "&Open folder…", self._on_open_folder_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = menu.addMenu("Open &recent")
        self._action(menu, "Open &demo", self.open_demo)
        self._action(menu, "Open &checkpoint…", self._on_open_checkpoint_dialog)
        self.skipped_action = self._action(menu, "Skipped (0)…", self._on_show_skipped)
        menu.addSeparator()
        self._action(menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        model_menu = self.menuBar().addMenu("&Model")
        self._action(model_menu, "Device and batch size…", self._on_model_settings)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: (self.search_box.setFocus(), self.search_box.selectAll()))  # type: ignore[func-returns-value]
        self.addAction(find)
        esc = QAction(self)
        esc.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        esc.triggered.connect(self.cancel_indexing)
        self.addAction(esc)
        self._refresh_recent()

    def _action(self, menu: Any, text: str, slot: Callable[[], Any], shortcut: Any = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    # -- tasks -------------------------------------------------------------------------------
    def _start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        with_progress: bool = False,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Task:
        task = run_task(fn, *args, with_progress=with_progress, start=False)
        # Bound methods of this window are delivered on the GUI thread (queued); callbacks are looked up there.
        self._tasks[task.signals] = (task, on_result, on_progress)
        task.signals.result.connect(self._relay_result)
        task.signals.progress.connect(self._relay_progress)
        task.signals.error.connect(self.show_error)
        task.signals.finished.connect(self._relay_finished)
        task.start()
        return task

    def _relay_result(self, value: Any) -> None:
        entry = self._tasks.get(self.sender())
        if entry is not None:
            entry[1](value)

    def _relay_progress(self, value: Any) -> None:
        entry = self._tasks.get(self.sender())
        if entry is not None and entry[2] is not None:
            entry[2](value)

    def _relay_finished(self) -> None:
        entry = self._tasks.pop(self.sender(), None)
        if entry is not None and entry[0] is self._index_task:  # it failed or was cancelled: nothing follows
            self._index_task = None
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message.splitlines()[0], 10000)
        self.error_shown.emit(message)
        if not os.environ.get("XMR_GUI_NO_DIALOGS"):
            QMessageBox.warning(self, "xmr", message)

    # -- folder + indexing ---------------------------------------------------------------------
    def open_folder(self, folder: str) -> None:
        self.cancel_indexing()
        self.stack.setCurrentIndex(1)
        self.model.clear()
        self.statusBar().showMessage(f"Opening {folder} …")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("preparing the model …")
        self.cancel_button.setVisible(True)
        self._index_task = self._start(
            self.session.open_folder,
            folder,
            on_result=lambda _lib: self._on_folder_opened(folder),
            with_progress=True,
            on_progress=self._on_prepare_step,
        )

    def _on_prepare_step(self, step: str) -> None:
        """Export, quantisation and the int8 check say what they are doing (the first use of a model)."""
        self.progress.setFormat(step)
        self.statusBar().showMessage(step)

    def open_demo(self) -> None:
        from ..core.base import paths

        def draw() -> Path:
            from ..core.demo_run import draw_world

            return draw_world(paths.demo_dir())[0]

        self.statusBar().showMessage("Drawing the demo world …")
        self._start(draw, on_result=lambda out: self.open_folder(str(Path(out) / "images")))

    def _on_folder_opened(self, folder: str) -> None:
        self._index_task = None
        prepared = self.session.prepared
        if prepared is not None and prepared.fell_back and prepared.checked_now:
            self.statusBar().showMessage(prepared.reason, 20000)  # said once: the check is kept per CPU
        recent = [folder] + [f for f in self._recent() if f != folder]
        self.settings.setValue("recent_folders", recent[:MAX_RECENT])
        self._refresh_recent()
        self._update_status()
        self._start_indexing()

    def _start_indexing(self) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("preparing …")
        self.cancel_button.setVisible(True)
        self._index_started = time.perf_counter()
        self._index_task = self._start(
            self.session.index, on_result=self._on_indexed, with_progress=True, on_progress=self._on_index_progress
        )

    def _on_index_progress(self, p: Progress) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.progress.setFormat(f"%v / %m photos · {p.rate:.1f} img/s · ETA {_eta(p.eta)}")
        if p.latest and not self.search_box.text().strip():
            self.model.append_paths(list(p.latest))
            self.count_label.setText(f"  {self.model.rowCount()} photos")

    def _on_indexed(self, report: IndexReport) -> None:
        self._index_task = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        c = report.counts()
        verb = "Cancelled" if report.cancelled else "Indexed"
        self.statusBar().showMessage(
            f"{verb}: {c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['removed']} removed, {c['skipped']} skipped ({report.seconds:.1f} s)",
            15000,
        )
        self._update_status()
        if self.search_box.text().strip():
            self._on_search()
        elif self.model.rowCount() == 0:
            self._start(self.session.search_text, "a photo", MAX_RESULTS, on_result=self._show_hits)
        self.indexing_done.emit(report)

    def cancel_indexing(self) -> None:
        if self._index_task is not None:
            self._index_task.cancel()
            self.progress.setFormat("cancelling …")

    # -- queries -----------------------------------------------------------------------------
    def _on_search(self) -> None:
        query = self.search_box.text().strip()
        if not query or self.session.library is None:
            return
        self.statusBar().showMessage(f"Searching “{query}” …")
        if self.compare_box.isChecked() and self.session.has_checkpoint:
            self._start(self.session.compare_text, query, MAX_RESULTS, on_result=self._show_compare)
        else:
            self._start(self.session.search_text, query, MAX_RESULTS, on_result=self._show_hits)

    def query_image(self, path: str) -> None:
        if self.session.library is None:
            self.show_error("Open a folder first, then drop a photo to find similar ones.")
            return
        self.statusBar().showMessage(f"Photos like {os.path.basename(path)} …")
        self._start(self.session.search_image, path, MAX_RESULTS, on_result=self._show_hits)
        self._describe(path)

    def _on_picked(self, path: str) -> None:
        self._describe(path)

    def _describe(self, path: str) -> None:
        self._start(
            lambda: (self.session.describe(path, 10), make_thumbnail(path)),
            on_result=lambda out: self._show_description(path, *out),
        )

    def _show_description(self, path: str, rows: list[Any], image: Any) -> None:
        self.describe_panel.show_labels(path, rows, QPixmap.fromImage(image) if image is not None else None)
        self.describe_done.emit(rows)

    def _show_hits(self, hits: list[Hit]) -> None:
        self._hits = hits
        self.compare_grid.setVisible(False)
        self.grid.set_title("")
        self._apply_threshold()
        self.statusBar().showMessage(f"{len(hits)} results", 5000)
        self.search_done.emit(hits)

    def _show_compare(self, pair: tuple[list[Hit], list[Hit]]) -> None:
        raw, learned = pair
        self._hits = raw
        self.grid.set_title("raw backbone (zero-shot)")
        self.compare_grid.setVisible(True)
        self.compare_model.set_hits(learned)
        self._apply_threshold()
        self.search_done.emit(learned)

    def _apply_threshold(self) -> None:
        cut = self.threshold.value() / 100.0
        shown = [h for h in self._hits if h.score >= cut]
        self.model.set_hits(shown)
        self.count_label.setText(f"  {len(shown)} results" + (f" (score ≥ {cut:.2f})" if cut > -1 else ""))

    def _on_compare_toggled(self, on: bool) -> None:
        if on and not self.session.has_checkpoint:
            self.statusBar().showMessage("Compare needs a checkpoint: File → Open checkpoint", 8000)
        if self.search_box.text().strip():
            self._on_search()

    # -- label graph + map tabs ----------------------------------------------------------------
    def _on_tab_changed(self, index: int) -> None:
        if index == 1:
            self._ensure_graph_tab()
        elif index == 2:
            self._ensure_map_tab()
            self.refresh_map()

    def _ensure_graph_tab(self) -> None:
        if self.graph_source is not None:
            return
        layout = QVBoxLayout(self.graph_tab)
        row = QHBoxLayout()
        row.addWidget(QLabel("Graph of"))
        self.graph_source = QComboBox()
        self.graph_source.addItem("the open checkpoint", "checkpoint")
        self.graph_source.addItem("this folder's labels", "folder")
        self.graph_source.addItem("example: MIRFlickr-25K (real annotations)", "mirflickr")
        self.graph_source.currentIndexChanged.connect(lambda _i: self.show_graph(self.graph_source.currentData()))
        row.addWidget(self.graph_source)
        row.addStretch()
        layout.addLayout(row)
        self._graph_holder = QVBoxLayout()
        layout.addLayout(self._graph_holder, 1)
        self.show_graph("checkpoint" if self.session.has_checkpoint or self.session.choice.checkpoint else "mirflickr")

    graph_source: Any = None

    def show_graph(self, source: str) -> None:
        index = self.graph_source.findData(source)
        if index >= 0 and index != self.graph_source.currentIndex():
            self.graph_source.setCurrentIndex(index)  # comes back here through the signal
            return
        self._start(self.session.label_graph, source, on_result=self._on_graph)

    def _on_graph(self, graph: Any) -> None:
        from .graph_view import GraphView

        if self.graph_view is not None:
            self._graph_holder.removeWidget(self.graph_view)
            self.graph_view.deleteLater()
        self.graph_view = GraphView(graph)
        self.graph_view.query_requested.connect(self._on_label_query)
        self.graph_view.graph_changed.connect(self.graph_shown.emit)
        self._graph_holder.addWidget(self.graph_view)
        self.graph_shown.emit(graph.graph.n_edges)

    def _on_label_query(self, label: str) -> None:
        self.search_box.setText(label)
        self._on_search()

    def _ensure_map_tab(self) -> None:
        if self.map_view is not None:
            return
        from .map_view import MapView

        self.map_view = MapView()
        self.map_view.photos_selected.connect(self._on_map_selection)
        self.map_view.data_shown.connect(self.map_shown.emit)
        QVBoxLayout(self.map_tab).addWidget(self.map_view)

    def refresh_map(self) -> None:
        """PCA at once, then UMAP in the background (both cached per index + space in the core)."""
        if self.session.library is None or self.map_view is None:
            return
        query = self.search_box.text().strip()
        key = (str(self.session.status().get("indexed")), query)
        if key == self._map_key:
            return
        self._map_key = key
        queries = [query] if query else []
        self.map_view.set_busy("PCA …")
        self._start(self.session.map, "pca", queries, on_result=lambda data: self._on_map(data, "pca", queries))

    def _on_map(self, data: Any, method: str, queries: list[str]) -> None:
        if method == "pca":
            self.map_view.set_data(data, method)
            self.map_view.set_busy("UMAP computing in the background (PCA shown) …")
            self._start(self.session.map, "umap", queries, on_result=lambda d: self._on_map(d, "umap", queries))
        else:
            self.map_view.set_busy("")
            self.map_view.set_data(data, method)  # after: its status line ("UMAP: n photos …") stays

    def _on_map_selection(self, paths: list[str]) -> None:
        self.model.set_paths(paths)
        self.count_label.setText(f"  {len(paths)} selected on the map")
        if len(paths) == 1:
            self._describe(paths[0])
        else:
            self.tabs.setCurrentIndex(0)

    # -- checkpoint, settings, skipped ----------------------------------------------------------
    def _on_open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "xmr checkpoints (*.xmr);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        def adopt() -> Any:
            ckpt = self.session.set_checkpoint(path)
            return ckpt

        self._start(adopt, on_result=self._on_checkpoint)

    def _on_checkpoint(self, ckpt: Any) -> None:
        self.settings.setValue("checkpoint", str(ckpt.path))
        card = ckpt.card
        metrics = card.get("metrics", {}).get("test", {})
        text = (
            f"<b>{ckpt.path.name}</b><br>backbone: {card['backbone']['model']} ({card['backbone']['weights']})"
            f"<br>{len(ckpt.labels)} labels: {', '.join(ckpt.labels)}<br>"
            + "<br>".join(f"{k}: {v:.4f}" for k, v in metrics.items())
        )
        self.statusBar().showMessage(f"Checkpoint {ckpt.path.name} loaded", 8000)
        self._update_status()
        if not os.environ.get("XMR_GUI_NO_DIALOGS"):
            QMessageBox.information(self, "Model card", text)
        if self.session.library is not None:
            self._start_indexing()

    def _on_model_settings(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Model")
        form = QFormLayout(dialog)
        from ..core.runtime.factory import cuda_possible

        device = QComboBox()
        device.addItems(["auto", "cpu", "cuda"] if cuda_possible() else ["auto", "cpu"])  # CUDA only when present
        device.setCurrentText(self.session.choice.device)
        batch = QSpinBox()
        batch.setRange(1, 1024)
        batch.setValue(self.session.choice.batch_size)
        form.addRow("Device (auto = CUDA when present)", device)
        form.addRow("Batch size", batch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec():
            c = self.session.choice
            self.session.choice = ModelChoice(c.checkpoint, c.spec, device.currentText(), batch.value())
            self.settings.setValue("device", device.currentText())
            self.settings.setValue("batch_size", batch.value())

    def _on_show_skipped(self) -> None:
        if self.session.library is None:
            return
        rows = self.session.skipped()
        text = "\n".join(f"{p}\t{r}" for p, r in rows) or "Nothing was skipped."
        box = QMessageBox(self)
        box.setWindowTitle(f"Skipped ({len(rows)})")
        box.setText(f"{len(rows)} files could not be indexed:")
        box.setDetailedText(text)
        box.exec()

    def _on_open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open photo folder")
        if folder:
            self.open_folder(folder)

    def _recent(self) -> list[str]:
        value: Any = self.settings.value("recent_folders", [])  # a str, a list of str or None, by platform
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self._recent():
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(f))  # type: ignore[misc]
        self.recent_menu.setEnabled(bool(self._recent()))

    def _update_status(self) -> None:
        s = self.session.status()
        if not s.get("folder"):
            self.library_label.setText("no folder open")
            return
        ckpt = Path(str(s["checkpoint"])).name if s.get("checkpoint") else "raw backbone"
        self.library_label.setText(f"{s['indexed']} photos · {ckpt} · {s['model']} · {s['precision']}")
        self.skipped_action.setText(f"Skipped ({s['skipped']})…")

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            self.handle_drop(url.toLocalFile())
            break

    def handle_drop(self, path: str) -> None:
        from ..core.runtime.images import IMAGE_SUFFIXES

        if os.path.isdir(path):
            self.open_folder(path)
        elif os.path.isfile(path) and Path(path).suffix.lower() in IMAGE_SUFFIXES:
            self.query_image(path)
        else:
            self.show_error(f"Not a folder or a photo: {path}")

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.cancel_indexing()
        QTimer.singleShot(0, lambda: None)
        super().closeEvent(event)
