"""The window's dialogs: the model settings, a model's download, the skipped files, a checkpoint's model card,
warnings.

XMR_GUI_NO_DIALOGS=1 (tests, `--self-test`) keeps the message boxes that would wait for a click from opening.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
    QWidget,
)

from ..core.runtime.spec import Device
from ..core.session import ModelChoice

if TYPE_CHECKING:
    from ..core.learn.checkpoint import Checkpoint


def dialogs_shown() -> bool:
    return not os.environ.get("XMR_GUI_NO_DIALOGS")


def find_duplicates(window: Any) -> None:
    """File → Find near-duplicates… (duplicates_dialog.py, imported on first use: off the window's start-up path)."""
    from .duplicates_dialog import find_and_show

    find_and_show(window.session, window.tasks, window.thumbs, window)


def review_labels(window: Any) -> None:
    """File → Review labels… (review_dialog.py, imported on first use)."""
    from .review_dialog import open_review

    open_review(window)


def warn(message: str, parent: QWidget | None = None) -> None:
    if dialogs_shown():
        QMessageBox.warning(parent, "xmr", message)


class ModelSettingsDialog(QDialog):
    """Device and batch size of the session's model choice; `chosen()` is the choice with them, once accepted."""

    def __init__(self, choice: ModelChoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ..core.runtime.factory import cuda_possible

        self.choice = choice
        self.setWindowTitle("Model")
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"] if cuda_possible() else ["auto", "cpu"])  # CUDA only when present
        self.device.setCurrentText(choice.device)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(choice.batch_size)
        form.addRow("Device (auto = CUDA when present)", self.device)
        form.addRow("Batch size", self.batch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> ModelChoice:
        return dataclasses.replace(self.choice, device=Device(self.device.currentText()), batch_size=self.batch.value())


class DownloadDialog(QProgressDialog):
    """A model's weights being downloaded: its size, the megabytes so far, and Cancel (what arrived is kept and the
    next try resumes from it). Not modal: the window stays usable meanwhile."""

    def __init__(self, what: str, size_mb: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.size_mb = size_mb
        self.setWindowTitle("Downloading a model")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.setMinimumWidth(460)
        self.setCancelButtonText("Cancel")
        self.setRange(0, 0)  # busy until the hub says the size
        self.setLabelText(self._head() + "\nconnecting …")

    def _head(self) -> str:
        size = f", {self.size_mb:,} MB" if self.size_mb else ""
        return f"Downloading {self.what}{size} (once; kept in the model cache)"

    def set_step(self, step: str) -> None:
        """What the preparation says (the download's size once known, then the export after it)."""
        self.setLabelText(f"{self._head()}\n{step}")

    def set_bytes(self, done: int, total: int) -> None:
        if total > 0:
            self.size_mb = max(1, round(total / 1e6))
            self.setRange(0, max(total // 1024, 1))  # kB: a QProgressDialog counts in int
            self.setValue(min(done, total) // 1024)
            self.setLabelText(f"{self._head()}\n{done / 1e6:,.1f} of {total / 1e6:,.1f} MB")


def show_skipped(rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
    """The files that could not be indexed, each with its reason (in the box's details)."""
    box = QMessageBox(parent)
    box.setWindowTitle(f"Skipped ({len(rows)})")
    box.setText(f"{len(rows)} files could not be indexed:")
    box.setDetailedText("\n".join(f"{p}\t{r}" for p, r in rows) or "Nothing was skipped.")
    box.exec()


def model_card_html(ckpt: Checkpoint) -> str:
    """A checkpoint's name, backbone, labels and test metrics, for a message box."""
    card = ckpt.card
    measured = card.get("metrics", {})
    metrics = measured.get("test", {})
    on = "validation" if measured.get("report_split") == "val" else "test"  # a keyword dataset keeps no test photos
    backbone = card["backbone"]
    return (
        f"<b>{ckpt.path.name}</b><br>backbone: {backbone['model']} ({backbone['weights']})"
        f"<br>{len(ckpt.labels)} labels: {', '.join(ckpt.labels)}<br>"
        + (f"measured on the {on} photos:<br>" if metrics else "")
        + "<br>".join(f"{k}: {v:.4f}" for k, v in metrics.items())
    )


def show_model_card(ckpt: Checkpoint, parent: QWidget | None = None) -> None:
    if dialogs_shown():
        QMessageBox.information(parent, "Model card", model_card_html(ckpt))
