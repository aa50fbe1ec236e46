"""The main window: open a folder (or the demo) and a checkpoint, index with progress, and the three tabs.

It says which model answers (the status bar, and a banner when the model will not do well on the folder or a
better one is a download away), and the Model menu switches models: the folder is re-opened with the new one
(a CLIP model downloaded first, in a dialog with Cancel) and re-indexed with progress.

It presents a core `Session` and keeps the folder's open-index-switch sequence; the parts are their own modules:
the tabs (tabs.py), the menu bar (menus.py), the welcome page, banner and status bar (status.py), the download
dialog and the switch's way back (model_switch.py), what is remembered between runs (settings.py) and the dialogs
(dialogs.py). Every slow call runs through a TaskRunner (tasks.py) so the event loop never blocks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.session import Session
from . import dialogs
from .menus import WindowMenus
from .model_switch import DownloadWatch, Rollback
from .settings import WindowSettings
from .status import ModelBanner, StatusPanel, WelcomePage, index_summary
from .tabs import MainTabs
from .tasks import TaskRunner
from .thumbs import ThumbnailCache
from .worker import error_message

if TYPE_CHECKING:  # the window shows before numpy / Pillow / model code is imported
    from ..core.indexing.indexer import IndexReport, Progress
    from ..core.learn.checkpoint import Checkpoint
    from ..core.models import Offer
    from .graph_view import GraphView
    from .map_view import MapView
    from .worker import Task

TITLE_BAR = 40  # px of the screen's free height left for the window manager's title bar


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
        """`settings`: the settings file, read into `remembered`, which writes each change back to it."""
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.remembered = WindowSettings.load(settings)
        self._index_task: Task | None = None
        self._note = ""  # a word about the model (an int8 fallback) kept for the indexing summary
        self.downloads = DownloadWatch(session, self)
        self.downloads.canceled.connect(self.cancel_indexing)
        self.downloads.shown.connect(self.download_shown)
        self.download_bytes.connect(self.downloads.bytes_arrived)
        self.setWindowTitle("xmr — photo search")
        self.setAcceptDrops(True)
        self._fit_to_screen(1280, 800)
        self.thumbs = ThumbnailCache(parent=self)
        self.tasks = TaskRunner(self)
        self.tasks.failed.connect(self.on_failed)
        self.tasks.stopped.connect(self._on_stopped)
        self.tabs = MainTabs(session, self.tasks, self.thumbs)
        self.search, self.graph_tab, self.map_tab = self.tabs.search, self.tabs.graph_tab, self.tabs.map_tab
        self._build_ui()
        self.menus = WindowMenus(self)
        self.model_entries, self.skipped_action = self.menus.model_entries, self.menus.skipped
        self._connect_tabs()
        self._update_status()

    @property
    def graph_view(self) -> GraphView | None:
        return self.graph_tab.view

    @property
    def map_view(self) -> MapView | None:
        return self.map_tab.view

    @property
    def download(self) -> dialogs.DownloadDialog | None:
        return self.downloads.dialog

    @property
    def banner_warning(self) -> bool:
        return self.banner.warning

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.addToolBar(self.search.toolbar)
        self.welcome = WelcomePage()
        self.welcome.demo_button.clicked.connect(self.open_demo)
        self.welcome.open_button.clicked.connect(self.open_folder_dialog)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.banner = ModelBanner(self.session)
        self.banner_label = self.banner.label
        column.addWidget(self.banner)
        column.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

        self.status = StatusPanel(self.session, self.statusBar(), self)
        self.status.cancel_button.clicked.connect(self.cancel_indexing)
        self.progress, self.library_label, self.model_label = (
            self.status.progress,
            self.status.library_label,
            self.status.model_label,
        )

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at width × height, or smaller on a smaller screen (a 1366 × 768 laptop): never taller or wider than
        the screen's free area, with room for the window's title bar."""
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height() - TITLE_BAR)
        self.resize(width, height)

    def _connect_tabs(self) -> None:
        self.search.search_done.connect(self.search_done)
        self.search.describe_done.connect(self.describe_done)
        self.search.message.connect(self.statusBar().showMessage)
        self.search.error.connect(self.show_error)
        self.graph_tab.graph_shown.connect(self.graph_shown)
        self.map_tab.map_shown.connect(self.map_shown)

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
        self.status.show_busy("preparing the model …")
        self._index_task = self.tasks.start(
            self.session.open_folder,
            folder,
            on_result=lambda _lib: self._on_folder_opened(folder),
            with_progress=True,
            on_progress=self._on_prepare_step,
            on_finished=self._on_index_task_finished,
            on_bytes=self.download_bytes.emit,
        )

    def _on_prepare_step(self, step: str) -> None:
        """Export, quantisation and the int8 check say what they are doing (the first use of a model)."""
        self.status.show_step(step)
        self.downloads.set_step(step)
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
        self.downloads.close()
        prepared = self.session.prepared
        if prepared is not None and prepared.fell_back and prepared.checked_now:
            self._note = prepared.reason  # said once (the check is kept per CPU), with the indexing summary
        self.remembered.add_recent_folder(folder)
        self.menus.refresh_recent()
        self._update_status()
        self._show_decision()
        self._start_indexing()

    def _start_indexing(self) -> None:
        self.status.show_busy("preparing …")
        started: dict[str, Task] = {}
        self._index_task = started["task"] = self.tasks.start(
            self.session.index,
            on_result=lambda report: self._on_indexed(report, started.get("task")),
            with_progress=True,
            on_progress=self._on_index_progress,
            on_finished=self._on_index_task_finished,
        )

    def reindex(self) -> None:
        """Bring the open library up to date (after sidecars were written: their keywords are read) unless it is."""
        if self._index_task is None and self.session.library is not None:
            self._start_indexing()

    def _on_index_progress(self, p: Progress) -> None:
        self.status.show_indexing(p)
        self.search.add_indexed(list(p.latest))

    def _on_indexed(self, report: IndexReport, task: Task | None = None) -> None:
        if task is not None and task is not self._index_task:  # cancelled for a new folder or model: superseded
            return
        self._index_task = None
        self.status.hide_progress()
        note, self._note = self._note, ""
        self.statusBar().showMessage(index_summary(report, note), 30000 if note else 15000)
        self._update_status()
        self.search.after_indexing()
        self.indexing_done.emit(report)

    def _on_index_task_finished(self, task: Task) -> None:
        if task is self._index_task:  # it failed or was cancelled: nothing follows
            self.downloads.close()
            self._index_task = None
            self.status.hide_progress()

    def _on_stopped(self, message: str) -> None:
        """A task the user cancelled said so (a download stopped, an export interrupted): a status line, no box."""
        self.statusBar().showMessage(message, 15000)
        self._note = message

    def cancel_indexing(self) -> None:
        if self._index_task is not None:
            self._index_task.cancel()
            self.progress.setFormat("cancelling …")

    def query_image(self, path: str) -> None:
        self.search.query_image(path)

    # -- the model -------------------------------------------------------------------------------
    def refresh_model_menu(self) -> None:
        """(Re)build the Model menu's entries: what is on offer now, the active one checked."""
        self.model_entries.refresh(self.session.choice, self.remembered.existing_checkpoints())

    def choose_model(self, offer: Offer) -> None:
        """Switch to `offer` (remembered); with a folder open, re-open it with the new model (downloading and
        exporting it first when needed) and re-index. A failed or cancelled switch goes back to the model before."""
        previous = self.session.choice
        self.remembered.choose_model(offer.checkpoint, offer.spec)
        lib = self.session.library
        if lib is None:
            self.session.choice = previous.with_model(offer.checkpoint, offer.spec)
            self._update_status()
            return
        rollback = Rollback(previous, lib.folder)
        self.cancel_indexing()
        self.search.clear()
        self.status.show_busy(f"switching to {offer.title} …")
        self._index_task = self.tasks.start(
            self.session.set_model,
            offer.spec,
            on_result=lambda _lib: self._on_folder_opened(rollback.folder),
            with_progress=True,
            on_progress=self._on_prepare_step,
            on_finished=lambda t: self._on_switch_finished(t, rollback),
            on_bytes=self.download_bytes.emit,
            checkpoint=offer.checkpoint,
        )
        if not offer.cached:  # its size at once; the bytes as they come (Cancel stops the task)
            self.downloads.open(offer.title.split(",")[0], offer.download_mb)

    def _on_switch_finished(self, task: Task, rollback: Rollback) -> None:
        failed = task is self._index_task  # a success has cleared it and started indexing
        self._on_index_task_finished(task)
        if failed:  # back to the model before, so the folder stays searchable
            self.session.choice = rollback.previous
            self.remembered.choose_model(rollback.previous.checkpoint, rollback.previous.spec)
            self.open_folder(rollback.folder)

    def _show_decision(self) -> None:
        self.status.show_decision_line()
        self.banner.show_decision()

    # -- checkpoint, settings, skipped ----------------------------------------------------------
    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "xmr checkpoints (*.xmr);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str) -> None:
        self.tasks.start(self.session.set_checkpoint, path, on_result=self._on_checkpoint)

    def _on_checkpoint(self, ckpt: Checkpoint) -> None:
        self.remembered.add_checkpoint(Path(ckpt.path))
        self.statusBar().showMessage(f"Checkpoint {ckpt.path.name} loaded", 8000)
        self._update_status()
        self._show_decision()
        dialogs.show_model_card(ckpt, self)
        if self.session.library is not None:
            self._start_indexing()

    def model_settings(self) -> None:
        dialog = dialogs.ModelSettingsDialog(self.session.choice, self)
        if dialog.exec():
            self.session.choice = choice = dialog.chosen()
            self.remembered.choose_device(choice.device, choice.batch_size)

    def show_skipped(self) -> None:
        if self.session.library is not None:
            dialogs.show_skipped(self.session.skipped(), self)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open photo folder")
        if folder:
            self.open_folder(folder)

    def _update_status(self) -> None:
        status = self.status.refresh()
        if status is not None:
            self.skipped_action.setText(f"Skipped ({status.skipped})…")
            self.model_shown.emit(self.model_label.text())

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
