"""The window's dialogs: the model settings, the skipped files, a checkpoint's model card, warnings.

XMR_GUI_NO_DIALOGS=1 (tests, `--self-test`) keeps the message boxes that would wait for a click from opening.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QMessageBox, QSpinBox, QWidget

from ..core.session import ModelChoice

if TYPE_CHECKING:
    from ..core.learn.checkpoint import Checkpoint


def dialogs_shown() -> bool:
    return not os.environ.get("XMR_GUI_NO_DIALOGS")


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
        return dataclasses.replace(self.choice, device=self.device.currentText(), batch_size=self.batch.value())


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
    metrics = card.get("metrics", {}).get("test", {})
    backbone = card["backbone"]
    return (
        f"<b>{ckpt.path.name}</b><br>backbone: {backbone['model']} ({backbone['weights']})"
        f"<br>{len(ckpt.labels)} labels: {', '.join(ckpt.labels)}<br>"
        + "<br>".join(f"{k}: {v:.4f}" for k, v in metrics.items())
    )


def show_model_card(ckpt: Checkpoint, parent: QWidget | None = None) -> None:
    if dialogs_shown():
        QMessageBox.information(parent, "Model card", model_card_html(ckpt))
