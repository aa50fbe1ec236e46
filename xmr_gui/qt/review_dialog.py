"""Labels to review (`xmr review-labels` in the window): three lists of what `search.review` finds in the open
library — keywords a photo likely misses, keywords that look doubtful, labels that could be merged — judged by each
photo's nearest photos and, with a trained checkpoint open, its classifiers. Only the missing keywords the user
checks are written, after a confirmation, to XMP sidecars (`search.review.write_missing`, as `--write-sidecars`);
doubtful keywords and merges are only listed, for the user's photo manager, as the core has no safe write for them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .thumbs import ThumbnailCache
from .widgets import reveal_in_folder
from .worker import user_line

if TYPE_CHECKING:
    from ..core.search.review import Finding, Judged, Written
    from ..core.session import Session
    from .main_window import MainWindow
    from .tasks import TaskRunner
    from .worker import Task

ICON = 64


def counted(n: int, thing: str, things: str | None = None) -> str:
    """ "1 photo", "3 photos"."""
    return f"{n} {thing if n == 1 else things or thing + 's'}"


NOTES = {
    "missing": "Most of each photo's nearest photos carry this keyword and the photo does not. Check the ones to "
    "add, then “Write accepted to sidecars”: nothing is written before, and never into a photo.",
    "doubtful": "None of each photo's nearest photos carries this keyword. xmr only adds keywords: remove a wrong "
    "one in your photo manager (Lightroom, digiKam, darktable, …), which keeps the keywords.",
    "merge": "One word written two ways, or two keywords on nearly the same photos. xmr does not rename keywords: "
    "merge them in your photo manager.",
}


class FindingList(QTreeWidget):
    """One kind of finding, one row each: the photo's thumbnail and name (or two labels, for a merge), the keyword
    and why; missing ones with a check box to accept. A photo row's menu opens, reveals or copies its photo."""

    def __init__(self, kind: str, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.findings: list[Finding] = []
        self._thumbs = thumbs
        self._items: dict[str, list[QTreeWidgetItem]] = {}  # photo → its rows, to set the thumbnail once decoded
        first = "label" if kind == "merge" else "photo"
        second = "other label" if kind == "merge" else "keyword"
        self.setHeaderLabels([first, second, "of its nearest photos" if kind == "missing" else "why"])
        self.setRootIsDecorated(False)
        self.setIconSize(QSize(ICON, ICON) if kind != "merge" else QSize(0, 0))
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 300)
        self.setColumnWidth(1, 140)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu)
        self.itemDoubleClicked.connect(lambda item, _: self._open(self._photo(item)))
        thumbs.ready.connect(self._on_thumb)

    def show_findings(self, findings: list[Finding]) -> None:
        self.clear()
        self._items = {}
        self.findings = findings
        for n, f in enumerate(findings):
            first = f.subject if f.kind == "merge" else os.path.basename(f.subject)
            item = QTreeWidgetItem([first, f.label, f.why])
            item.setData(0, Qt.ItemDataRole.UserRole, n)
            item.setToolTip(0, f.subject)
            if f.kind == "missing":
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Unchecked)  # nothing is accepted until the user says so
            if f.kind != "merge":
                self._items.setdefault(f.subject, []).append(item)
                pixmap = self._thumbs.get(f.subject)
                if pixmap is not None:
                    item.setIcon(0, QIcon(pixmap))
            self.addTopLevelItem(item)

    def item_at(self, n: int) -> QTreeWidgetItem:
        return cast(QTreeWidgetItem, self.topLevelItem(n))  # never None for n < topLevelItemCount()

    def set_all_checked(self, checked: bool) -> None:
        for n in range(self.topLevelItemCount()):
            item = self.item_at(n)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def accepted(self) -> list[Finding]:
        """The findings whose box is checked (and that were not written yet), in list order."""
        items = (self.item_at(n) for n in range(self.topLevelItemCount()))
        return [
            self.findings[int(it.data(0, Qt.ItemDataRole.UserRole))]
            for it in items
            if it.flags() & Qt.ItemFlag.ItemIsUserCheckable and it.checkState(0) == Qt.CheckState.Checked
        ]

    def mark_written(self, written: list[Finding]) -> None:
        """These findings are in their photos' sidecars now: shown so, no longer checkable."""
        for n in range(self.topLevelItemCount()):
            item = self.item_at(n)
            if self.findings[int(item.data(0, Qt.ItemDataRole.UserRole))] in written:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
                item.setText(2, "written to its sidecar")

    def _photo(self, item: QTreeWidgetItem | None) -> str | None:
        if item is None or self.kind == "merge":
            return None
        return self.findings[int(item.data(0, Qt.ItemDataRole.UserRole))].subject

    def _on_thumb(self, path: str) -> None:
        pixmap = self._thumbs.get(path)
        for item in self._items.get(path, []):
            if pixmap is not None:
                item.setIcon(0, QIcon(pixmap))

    def _open(self, path: str | None) -> None:
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _on_context_menu(self, pos: QPoint) -> None:
        path = self._photo(self.itemAt(pos))
        if path is None:
            return
        menu = QMenu(self)
        menu.addAction("Open", lambda: self._open(path))
        menu.addAction("Reveal in folder", lambda: reveal_in_folder(path))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        menu.exec(self.viewport().mapToGlobal(pos))


class ReviewDialog(QDialog):
    """Runs the review off the GUI thread (progress, Cancel), lists what it found, and writes the accepted missing
    keywords to sidecars once the user confirms."""

    written = Signal(int)  # how many sidecars were written (the window re-indexes to read them)

    def __init__(
        self, session: Session, tasks: TaskRunner, thumbs: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session, self.tasks = session, tasks
        self.setWindowTitle("Review labels")
        self.resize(1000, 680)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.neighbours = QSpinBox()
        self.neighbours.setRange(1, 100)
        self.neighbours.setValue(10)
        self.neighbours.setPrefix("judged by the ")
        self.neighbours.setSuffix(" nearest photos")
        self.run_button = QPushButton("Review again")
        self.run_button.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        top = QHBoxLayout()
        top.addWidget(self.neighbours)
        top.addWidget(self.run_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        top.addStretch(0)
        self.lists = {kind: FindingList(kind, thumbs) for kind in NOTES}
        self.missing, self.doubtful, self.merges = self.lists["missing"], self.lists["doubtful"], self.lists["merge"]
        self.missing.itemChanged.connect(self._update_write_button)
        self.accept_all = QPushButton("Accept all")
        self.accept_all.clicked.connect(lambda: self.missing.set_all_checked(True))
        self.accept_none = QPushButton("Accept none")
        self.accept_none.clicked.connect(lambda: self.missing.set_all_checked(False))
        self.write_button = QPushButton("Write accepted to sidecars…")
        self.write_button.clicked.connect(self.confirm_write)
        writing = QHBoxLayout()  # on the missing keywords' page: the only kind that is ever written
        for button in (self.accept_all, self.accept_none, self.write_button):
            writing.addWidget(button)
        writing.addStretch(1)
        self.tabs = QTabWidget()
        for kind, view in self.lists.items():
            page = QWidget()
            column = QVBoxLayout(page)
            note = QLabel(NOTES[kind])
            note.setWordWrap(True)
            column.addWidget(note)
            column.addWidget(view, 1)
            if kind == "missing":
                column.addLayout(writing)
            self.tabs.addTab(page, "")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self.confirm: QMessageBox | None = None  # the open "write?" question
        self._task: Task | None = None
        self._show_counts()

    # -- the review ------------------------------------------------------------------------------
    def start(self) -> None:
        """Review the open library off the GUI thread; the lists are filled when it is done."""
        if self._task is not None or self.session.library is None:
            return
        for view in self.lists.values():
            view.show_findings([])
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.run_button.setEnabled(False)
        self.status.setText("")
        self._update_write_button()
        self.summary.setText("Reviewing the library's keywords …")
        self._task = self.tasks.start(
            self.session.review_labels,
            self.neighbours.value(),
            with_progress=True,
            on_progress=self._on_progress,
            on_result=self._show,
            on_finished=self._on_finished,
            on_error=lambda exc: self.say(f"Not reviewed: {user_line(exc)}", error=True),
        )

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.progress.setFormat("cancelling …")

    def reject(self) -> None:
        """Close (or Esc) stops a review still running; nothing is written either way."""
        self.cancel()
        super().reject()

    def _on_progress(self, judged: Judged) -> None:
        self.progress.setRange(0, judged.total)
        self.progress.setValue(judged.done)
        self.progress.setFormat(f"{judged.done} of {judged.total} photos")

    def _on_finished(self, task: Task) -> None:
        self._task = None
        self.progress.setVisible(False)
        self.progress.setFormat("%p%")
        self.cancel_button.setVisible(False)
        self.run_button.setEnabled(True)
        if task.cancelled:
            self.summary.setText("Review stopped.")
            self.say("Review stopped: nothing was written.")

    def _show(self, findings: list[Finding]) -> None:
        for kind, view in self.lists.items():
            view.show_findings([f for f in findings if f.kind == kind])
        self._show_counts()
        lib = self.session.library
        ckpt = lib.checkpoint if lib is not None else None
        by = f"each photo's {self.neighbours.value()} nearest photos"
        if self.session.can_suggest and ckpt is not None:
            by += f" and the classifiers of {os.path.basename(ckpt.path)} (for the labels it knows)"
        else:
            by += " (open a trained checkpoint to have its classifiers confirm each finding)"
        self.summary.setText(
            f"{counted(len(self.missing.findings), 'keyword')} likely missing, {len(self.doubtful.findings)} "
            f"doubtful, {counted(len(self.merges.findings), 'pair')} of labels that could be merged — judged by {by}."
        )

    def _show_counts(self) -> None:
        titles = ("Likely missing", "Doubtful", "Could be merged")
        for n, (title, view) in enumerate(zip(titles, self.lists.values(), strict=True)):
            self.tabs.setTabText(n, f"{title} ({len(view.findings)})")
        self._update_write_button()

    # -- writing ---------------------------------------------------------------------------------
    def _update_write_button(self) -> None:
        self.write_button.setEnabled(self._task is None and bool(self.missing.accepted()))

    def confirm_write(self) -> None:
        """Ask before writing; the answer arrives on the box's button (it does not block the window)."""
        accepted = self.missing.accepted()
        if not accepted:
            return
        photos = len({f.subject for f in accepted})
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Write to sidecars",
            f"Add {counted(len(accepted), 'keyword')} to the XMP sidecars of {counted(photos, 'photo')}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText(
            "Each goes to the photo's sidecar (photo.jpg.xmp, or the photo.xmp that exists); the photos themselves "
            "are never changed and an existing sidecar keeps its other fields."
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: self._on_answer(box, box.standardButton(button), accepted))
        self.confirm = box
        box.open()

    def _on_answer(self, box: QMessageBox, answer: QMessageBox.StandardButton, accepted: list[Finding]) -> None:
        self.confirm = None
        if answer != QMessageBox.StandardButton.Yes:
            self.say("Nothing was written.")
            return
        self.write_button.setEnabled(False)
        self.say(f"Writing {counted(len(accepted), 'keyword')} …")
        self.tasks.start(
            self.session.write_missing,
            accepted,
            on_result=lambda written: self._on_written(written, accepted),
            on_error=lambda exc: self.say(f"Not written: {user_line(exc)}", error=True),
        )

    def _on_written(self, written: Written, accepted: list[Finding]) -> None:
        failed = {photo for photo, _ in written.failed}
        self.missing.mark_written([f for f in accepted if f.subject not in failed])
        line = f"{counted(len(written.sidecars), 'sidecar')} written (the photos themselves are unchanged)"
        if written.failed:
            line += f"; {len(written.failed)} not written: " + "; ".join(f"{p}: {why}" for p, why in written.failed)
        if written.sidecars:
            line += ". The library reads them now (indexing); Review again then shows what is left."
        self.say(line, error=bool(written.failed))
        self._update_write_button()
        self.written.emit(len(written.sidecars))

    def say(self, line: str, error: bool = False) -> None:
        self.status.setText(("⚠ " if error else "") + line)
        self.status.setStyleSheet("QLabel { color: #b02a37; }" if error else "")


def open_review(window: MainWindow) -> ReviewDialog | None:
    """File → Review labels…: the dialog, its review started; the window re-indexes after a write so the library
    reads the new keywords."""
    if window.session.library is None:
        window.statusBar().showMessage("Open a folder first, then review its keywords.", 8000)
        return None
    dialog = ReviewDialog(window.session, window.tasks, window.thumbs, window)
    dialog.written.connect(lambda n: window.reindex() if n else None)
    window.setProperty("review_dialog", dialog)  # tests and screenshots find it here
    dialog.show()
    dialog.start()
    return dialog
