"""The main window: open a folder (or the demo) and a checkpoint, index with progress, and the three tabs.

It says which model answers (the status bar, and a banner when the model will not do well on the folder or a
better one is a download away), and the Model menu switches models: the folder is re-opened with the new one
(a CLIP model downloaded first, in a dialog with Cancel) and re-indexed with progress.

It presents a core `Session`. The tabs are their own widgets (search_tab, views_tab), every slow call runs
through a TaskRunner (tasks.py) so the event loop never blocks, and the dialogs are in dialogs.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.session import Session
from . import dialogs
from .model_menu import ModelEntries
from .search_tab import SearchTab
from .tasks import TaskRunner
from .thumbs import ThumbnailCache
from .views_tab import GraphTab, MapTab
from .worker import error_message

if TYPE_CHECKING:  # the window shows before numpy / Pillow / model code is imported
    from ..core.indexing.indexer import IndexReport, Progress
    from ..core.learn.checkpoint import Checkpoint
    from ..core.models import Offer
    from .graph_view import GraphView
    from .map_view import MapView
    from .worker import Task

MAX_RECENT = 8
MAX_CHECKPOINTS = 8
TITLE_BAR = 40  # px of the screen's free height left for the window manager's title bar
WARNING_STYLE = "QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c36c; padding: 6px; }"
INFO_STYLE = "QLabel { background: #e7f1ff; color: #084298; border: 1px solid #9ec5fe; padding: 6px; }"


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
    preparation_step = Signal(str)  # what the model's first-use preparation is doing (export, int8 check, ...)
    download_bytes = Signal(object, object)  # (done, total) bytes of a model's download, from the worker thread
    download_shown = Signal(object)  # the DownloadDialog just opened
    model_shown = Signal(str)  # the status bar's model line, after a folder opened or the model changed

    def __init__(self, session: Session, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self._index_task: Task | None = None
        self._note = ""  # a word about the model (an int8 fallback) kept for the indexing summary
        self.download: dialogs.DownloadDialog | None = None
        self._hint_dismissed = False
        self.download_bytes.connect(self._on_download_bytes)
        self.setWindowTitle("xmr — photo search")
        self.setAcceptDrops(True)
        self._fit_to_screen(1280, 800)
        self.thumbs = ThumbnailCache(parent=self)
        self.tasks = TaskRunner(self)
        self.tasks.failed.connect(self.on_failed)
        self.tasks.stopped.connect(self._on_stopped)
        self.search = SearchTab(session, self.tasks, self.thumbs)
        self.graph_tab = GraphTab(session, self.tasks)
        self.map_tab = MapTab(session, self.tasks)
        self._build_ui()
        self._build_menus()
        self._connect_tabs()
        self._update_status()

    @property
    def graph_view(self) -> GraphView | None:
        return self.graph_tab.view

    @property
    def map_view(self) -> MapView | None:
        return self.map_tab.view

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.addToolBar(self.search.toolbar)
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
        self.tabs = QTabWidget()
        self.tabs.addTab(self.search, "Photos")
        self.tabs.addTab(self.graph_tab, "Label graph")
        self.tabs.addTab(self.map_tab, "Map")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._build_banner())
        column.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

        status = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.library_label = QLabel("")
        self.model_label = QLabel("")
        status.addWidget(self.progress)
        status.addWidget(self.cancel_button)
        status.addPermanentWidget(self.library_label)
        status.addPermanentWidget(self.model_label)
        status.messageChanged.connect(self._status_tooltip)  # a long message is clipped there: hover shows it whole

    def _status_tooltip(self, message: str) -> None:
        self.statusBar().setToolTip(message)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at width × height, or smaller on a smaller screen (a 1366 × 768 laptop): never taller or wider than
        the screen's free area, with room for the window's title bar."""
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height() - TITLE_BAR)
        self.resize(width, height)

    def _build_banner(self) -> QWidget:
        """A line above the tabs about the model: a warning (the demo checkpoint on real photos), or where a better
        model is (closable)."""
        self.banner = QWidget()
        self.banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(4, 4, 4, 0)
        self.banner_label = QLabel("")
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Hide")
        close.clicked.connect(self._dismiss_banner)
        row.addWidget(self.banner_label, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.banner.setVisible(False)
        self.banner_warning = False
        return self.banner

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self._action(menu, "&Open folder…", self._on_open_folder_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = menu.addMenu("Open &recent")
        self._action(menu, "Open &demo", self.open_demo)
        self._action(menu, "Open &checkpoint…", self._on_open_checkpoint_dialog)
        self.skipped_action = self._action(menu, "Skipped (0)…", self._on_show_skipped)
        menu.addSeparator()
        self._action(menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.model_menu = model_menu = self.menuBar().addMenu("&Model")
        self._action(model_menu, "Device and batch size…", self._on_model_settings)
        model_menu.addSeparator()
        self.model_entries = ModelEntries(model_menu)
        self.model_entries.chosen.connect(self.choose_model)
        model_menu.aboutToShow.connect(self.refresh_model_menu)
        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.search.focus_search)
        self.addAction(find)
        esc = QAction(self)
        esc.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        esc.triggered.connect(self.cancel_indexing)
        self.addAction(esc)
        self._refresh_recent()

    def _action(self, menu: QMenu, text: str, slot: Callable[[], Any], shortcut: Any = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _connect_tabs(self) -> None:
        self.search.search_done.connect(self.search_done)
        self.search.describe_done.connect(self.describe_done)
        self.search.message.connect(self.statusBar().showMessage)
        self.search.error.connect(self.show_error)
        self.graph_tab.graph_shown.connect(self.graph_shown)
        self.graph_tab.query_requested.connect(self.search.search_for)
        self.map_tab.map_shown.connect(self.map_shown)
        self.map_tab.photos_selected.connect(self._on_map_selection)
        self.map_tab.label_selected.connect(self._on_map_label)

    def on_failed(self, exc: BaseException) -> None:
        """A task failed: one line for an error the user can fix, the traceback and where to report it for a bug."""
        self.show_error(error_message(exc))

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message.splitlines()[0], 10000)
        self.error_shown.emit(message)
        dialogs.warn(message, self)

    # -- folder + indexing ---------------------------------------------------------------------
    def open_folder(self, folder: str) -> None:
        self.cancel_indexing()
        self.stack.setCurrentIndex(1)
        self.search.clear()
        self.statusBar().showMessage(f"Opening {folder} …")
        self._show_progress("preparing the model …")
        self._index_task = self.tasks.start(
            self.session.open_folder,
            folder,
            on_result=lambda _lib: self._on_folder_opened(folder),
            with_progress=True,
            on_progress=self._on_prepare_step,
            on_finished=self._on_index_task_finished,
            on_bytes=self.download_bytes.emit,
        )

    def _show_progress(self, text: str) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.cancel_button.setVisible(True)

    def _hide_progress(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _on_prepare_step(self, step: str) -> None:
        """Export, quantisation and the int8 check say what they are doing (the first use of a model); shown in
        the progress bar, since a status-bar message would hide it."""
        self.progress.setRange(0, 1)  # a busy (0, 0) bar draws no text; an empty one shows the step
        self.progress.setValue(0)
        self.progress.setFormat(step)
        self.progress.setToolTip(step)
        self.statusBar().clearMessage()
        if self.download is not None:
            self.download.set_step(step)
        self.preparation_step.emit(step)

    def open_demo(self) -> None:
        from ..core.base import paths

        def draw() -> Path:
            from ..core.demo_run import draw_world

            return draw_world(paths.demo_dir())[0]

        self.statusBar().showMessage("Drawing the demo world …")
        self.tasks.start(draw, on_result=lambda out: self.open_folder(str(Path(out) / "images")))

    def _on_folder_opened(self, folder: str) -> None:
        self._index_task = None
        self._close_download()
        prepared = self.session.prepared
        if prepared is not None and prepared.fell_back and prepared.checked_now:
            self._note = prepared.reason  # said once (the check is kept per CPU), with the indexing summary
        recent = [folder] + [f for f in self._recent() if f != folder]
        self.settings.setValue("recent_folders", recent[:MAX_RECENT])
        self._refresh_recent()
        self._update_status()
        self._show_decision()
        self._start_indexing()

    def _start_indexing(self) -> None:
        self._show_progress("preparing …")
        started: dict[str, Task] = {}
        self._index_task = started["task"] = self.tasks.start(
            self.session.index,
            on_result=lambda report: self._on_indexed(report, started.get("task")),
            with_progress=True,
            on_progress=self._on_index_progress,
            on_finished=self._on_index_task_finished,
        )

    def _on_index_progress(self, p: Progress) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.progress.setFormat(f"%v / %m photos · {p.rate:.1f} img/s · ETA {_eta(p.eta)}")
        self.search.add_indexed(list(p.latest))

    def _on_indexed(self, report: IndexReport, task: Task | None = None) -> None:
        if task is not None and task is not self._index_task:  # cancelled for a new folder or model: superseded
            return
        self._index_task = None
        self._hide_progress()
        c = report.counts()
        verb = "Cancelled" if report.cancelled else "Indexed"
        note, self._note = (f" — {self._note}" if self._note else ""), ""
        self.statusBar().showMessage(
            f"{verb}: {c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['removed']} removed, {c['skipped']} skipped ({report.seconds:.1f} s){note}",
            30000 if note else 15000,
        )
        self._update_status()
        self.search.after_indexing()
        self.indexing_done.emit(report)

    def _on_index_task_finished(self, task: Task) -> None:
        if task is self._index_task:  # it failed or was cancelled: nothing follows
            self._close_download()
            self._index_task = None
            self._hide_progress()

    def _on_stopped(self, message: str) -> None:
        """A task the user cancelled said so (a download stopped, an export interrupted): a status line, no box."""
        self.statusBar().showMessage(message.splitlines()[0], 15000)
        self._note = message.splitlines()[0]

    def cancel_indexing(self) -> None:
        if self._index_task is not None:
            self._index_task.cancel()
            self.progress.setFormat("cancelling …")

    # -- queries and tabs ----------------------------------------------------------------------
    def query_image(self, path: str) -> None:
        self.search.query_image(path)

    def _on_tab_changed(self, index: int) -> None:
        if index == 1:
            self.graph_tab.ensure()
        elif index == 2:
            self.map_tab.ensure()
            self.map_tab.refresh(self.search.query())

    def _on_map_selection(self, paths: list[str]) -> None:
        self.search.show_paths(paths, "selected on the map")
        if len(paths) == 1:
            self.search.describe(paths[0])
        else:
            self.tabs.setCurrentIndex(0)

    def _on_map_label(self, label: str, paths: list[str]) -> None:
        """A label marker clicked on the map: its photos in the grid, shown (as a box selection is)."""
        self.search.show_paths(paths, f"with the label {label} (map)")
        self.tabs.setCurrentIndex(0)

    # -- the model -------------------------------------------------------------------------------
    def refresh_model_menu(self) -> None:
        """(Re)build the Model menu's entries: what is on offer now, the active one checked."""
        self.model_entries.refresh(self.session.choice, self._checkpoints())

    def choose_model(self, offer: Offer) -> None:
        """Switch to `offer` (remembered); with a folder open, re-open it with the new model (downloading and
        exporting it first when needed) and re-index. A failed or cancelled switch goes back to the model before."""
        previous = self.session.choice
        self._remember_model(offer.checkpoint, offer.spec)
        lib = self.session.library
        if lib is None:
            self.session.choice = previous.with_model(offer.checkpoint, offer.spec)
            self._update_status()
            return
        folder = lib.folder
        self.cancel_indexing()
        self.search.clear()
        self._show_progress(f"switching to {offer.title} …")
        self._index_task = self.tasks.start(
            self.session.set_model,
            offer.spec,
            on_result=lambda _lib: self._on_folder_opened(folder),
            with_progress=True,
            on_progress=self._on_prepare_step,
            on_finished=lambda t: self._on_switch_finished(t, previous, folder),
            on_bytes=self.download_bytes.emit,
            checkpoint=offer.checkpoint,
        )
        if not offer.cached:  # its size at once; the bytes as they come (Cancel stops the task)
            self._open_download(offer.title.split(",")[0], offer.download_mb)

    def _on_switch_finished(self, task: Task, previous: Any, folder: str) -> None:
        failed = task is self._index_task  # a success has cleared it and started indexing
        self._on_index_task_finished(task)
        if failed:  # back to the model before, so the folder stays searchable
            self.session.choice = previous
            self._remember_model(previous.checkpoint, previous.spec)
            self.open_folder(folder)

    def _remember_model(self, checkpoint: Path | None, spec: Any) -> None:
        if checkpoint is not None:
            self.settings.setValue("checkpoint", str(checkpoint))
            self.settings.remove("model")
            return
        self.settings.remove("checkpoint")
        if spec is None:
            self.settings.remove("model")
        else:
            self.settings.setValue("model", spec.to_json())

    def _checkpoints(self) -> list[Path]:
        value: Any = self.settings.value("checkpoints", [])
        found = [value] if isinstance(value, str) else list(value or [])
        return [Path(p) for p in found if Path(p).is_file()]

    def _open_download(self, what: str, size_mb: int | None) -> None:
        if self.download is None:
            self.download = dialogs.DownloadDialog(what, size_mb, self)
            self.download.canceled.connect(self.cancel_indexing)
            self.download.show()
            self.download_shown.emit(self.download)

    def _on_download_bytes(self, done: int, total: int) -> None:
        if total and done >= total and self.download is None:  # the last word of a download already shown whole
            return
        if self.download is None:
            choice = self.session.choice
            self._open_download(choice.spec.model if choice.spec is not None else "the model", None)
        assert self.download is not None
        self.download.set_bytes(done, total)
        if total and done >= total:  # the export follows, told in the progress bar
            self._close_download()

    def _close_download(self) -> None:
        if self.download is not None:
            self.download.canceled.disconnect(self.cancel_indexing)  # closing a QProgressDialog says "canceled"
            self.download.close()
            self.download.deleteLater()
            self.download = None

    def _show_decision(self) -> None:
        """The folder's model decision: a warning (always shown), else the way to a better model (closable)."""
        from ..core.models import recommended_clip

        decision = self.session.decision
        self.model_label.setToolTip(decision.line if decision is not None else "")
        if decision is not None and decision.warning:
            self._set_banner(f"⚠ Model: {decision.warning}", warning=True)
        elif decision is not None and decision.hint and not self._hint_dismissed:
            model, tag, mb = recommended_clip()
            self._set_banner(
                f"This folder is searched with the offline model, which knows ImageNet's 1,000 object classes. "
                f"For search by any words, pick a CLIP model in the Model menu ({model}, {tag}: downloaded once, "
                f"{mb} MB).",
                warning=False,
            )
        else:
            self.banner.setVisible(False)

    def _set_banner(self, text: str, warning: bool) -> None:
        self.banner_label.setText(text)
        self.banner_label.setStyleSheet(WARNING_STYLE if warning else INFO_STYLE)
        self.banner_warning = warning
        self.banner.setVisible(True)

    def _dismiss_banner(self) -> None:
        if not self.banner_warning:
            self._hint_dismissed = True
        self.banner.setVisible(False)

    # -- checkpoint, settings, skipped ----------------------------------------------------------
    def _on_open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "xmr checkpoints (*.xmr);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        self.tasks.start(self.session.set_checkpoint, path, on_result=self._on_checkpoint)

    def _on_checkpoint(self, ckpt: Checkpoint) -> None:
        self._remember_model(ckpt.path, None)
        opened = [str(ckpt.path)] + [str(p) for p in self._checkpoints() if str(p) != str(ckpt.path)]
        self.settings.setValue("checkpoints", opened[:MAX_CHECKPOINTS])
        self.statusBar().showMessage(f"Checkpoint {ckpt.path.name} loaded", 8000)
        self._update_status()
        self._show_decision()
        dialogs.show_model_card(ckpt, self)
        if self.session.library is not None:
            self._start_indexing()

    def _on_model_settings(self) -> None:
        dialog = dialogs.ModelSettingsDialog(self.session.choice, self)
        if dialog.exec():
            self.session.choice = choice = dialog.chosen()
            self.settings.setValue("device", choice.device)
            self.settings.setValue("batch_size", choice.batch_size)

    def _on_show_skipped(self) -> None:
        if self.session.library is not None:
            dialogs.show_skipped(self.session.skipped(), self)

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
        lib = self.session.library
        if s is None or lib is None:
            self.library_label.setText("no folder open")
            self.model_label.setText(f"Model: {self._chosen_name()}")
            return
        self.library_label.setText(f"{s.indexed} photos · {s.precision}")
        self.library_label.setToolTip(f"{s.folder}\n{s.model}")
        self.model_label.setText(f"Model: {lib.model_name()}")  # the library's own: no wait on the session's lock
        self.skipped_action.setText(f"Skipped ({s.skipped})…")
        self.model_shown.emit(self.model_label.text())

    def _chosen_name(self) -> str:
        choice = self.session.choice
        if choice.checkpoint is not None:
            return f"checkpoint {Path(choice.checkpoint).name}"
        if choice.spec is not None:
            return f"{choice.spec.model} ({choice.spec.weights})"
        return "automatic (chosen per folder)"

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
