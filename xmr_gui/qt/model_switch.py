"""Switching the model: the download dialog of a model being fetched, and the way back to the model before when a
switch fails or is cancelled.

A switch re-opens the folder with the new model (`Session.set_model`), which downloads and exports it first when
needed: the dialog shows its size at once and the bytes as they come, and its Cancel stops the task.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ..core.session import ModelChoice, Session
from .dialogs import DownloadDialog


@dataclass(frozen=True)
class Rollback:
    """What a switch goes back to if it fails: the model chosen before, and the folder to re-open with it."""

    previous: ModelChoice
    folder: str


class DownloadWatch(QObject):
    """The one download dialog, opened when a model's bytes start to arrive (or at once, when the menu knows the
    model is not cached) and closed when they are all in; its Cancel is `canceled`."""

    bytes_arrived = Signal(object, object)  # (done, total): emitted from the worker thread, handled on the GUI's
    shown = Signal(object)  # the DownloadDialog just opened
    canceled = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.window = parent
        self.dialog: DownloadDialog | None = None
        self.bytes_arrived.connect(self._on_bytes)

    def open(self, what: str, size_mb: int | None) -> None:
        if self.dialog is None:
            self.dialog = DownloadDialog(what, size_mb, self.window)
            self.dialog.canceled.connect(self.canceled)
            self.dialog.show()
            self.shown.emit(self.dialog)

    def set_step(self, step: str) -> None:
        if self.dialog is not None:
            self.dialog.set_step(step)

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.canceled)  # closing a QProgressDialog says "canceled"
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _on_bytes(self, done: int, total: int) -> None:
        if total and done >= total and self.dialog is None:  # the last word of a download already shown whole
            return
        if self.dialog is None:
            choice = self.session.choice
            self.open(choice.spec.model if choice.spec is not None else "the model", None)
        assert self.dialog is not None
        self.dialog.set_bytes(done, total)
        if total and done >= total:  # the export follows, told in the progress bar
            self.close()
