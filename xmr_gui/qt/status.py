"""What the window says about its state: the welcome page before a folder is open, the banner about the folder's
model above the tabs, and the status bar's progress (with Cancel) and labels (the library's photos and precision,
the model that answers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.session import LibraryStatus, Session

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar

    from ..core.indexing.indexer import IndexReport, Progress

WARNING_STYLE = "QLabel { background: #fff3cd; color: #664d03; border: 1px solid #e0c36c; padding: 6px; }"
INFO_STYLE = "QLabel { background: #e7f1ff; color: #084298; border: 1px solid #9ec5fe; padding: 6px; }"


def eta(seconds: float) -> str:
    if seconds == float("inf"):
        return "–"
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def index_summary(report: IndexReport, note: str = "") -> str:
    """The status line after indexing: what changed and how long it took, then a word about the model if any."""
    c = report.counts()
    verb = "Cancelled" if report.cancelled else "Indexed"
    return (
        f"{verb}: {c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
        f"{c['removed']} removed, {c['skipped']} skipped ({report.seconds:.1f} s)" + (f" — {note}" if note else "")
    )


def chosen_name(session: Session) -> str:
    """The model the session will use, named before any folder is open."""
    choice = session.choice
    if choice.checkpoint is not None:
        return f"checkpoint {Path(choice.checkpoint).name}"
    if choice.spec is not None:
        return f"{choice.spec.model} ({choice.spec.weights})"
    return "automatic (chosen per folder)"


class WelcomePage(QWidget):
    """What the window shows before a folder is open: what xmr does, and two ways in (the window connects them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.addStretch()
        hello = QLabel(
            "<h2>xmr — search your photos by text, or by photo</h2>"
            "<p>Open a folder (Ctrl+O) or drop one here. Not sure? Try the built-in demo world.</p>"
        )
        hello.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(hello)
        self.demo_button = QPushButton("Open the demo")
        self.open_button = QPushButton("Open folder…")
        for button in (self.demo_button, self.open_button):
            button.setMaximumWidth(240)
            column.addWidget(button, alignment=Qt.AlignmentFlag.AlignCenter)
        column.addStretch()


class ModelBanner(QWidget):
    """A line above the tabs about the folder's model: a warning (the demo checkpoint on real photos; always
    shown), or where a better model is (closable, and then not shown again while the window is open)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.warning = False
        self._hint_dismissed = False
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 0)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Hide")
        close.clicked.connect(self._on_close)
        row.addWidget(self.label, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def show_decision(self) -> None:
        """The open folder's model decision: its warning, else the way to a better model, else nothing."""
        from ..core.models import recommended_clip  # imports Pillow: not at the window's start-up

        decision = self.session.decision
        if decision is not None and decision.warning:
            self._show(f"⚠ Model: {decision.warning}", warning=True)
        elif decision is not None and decision.hint and not self._hint_dismissed:
            model, tag, mb = recommended_clip()
            self._show(
                f"This folder is searched with the offline model, which knows ImageNet's 1,000 object classes. "
                f"For search by any words, pick a CLIP model in the Model menu ({model}, {tag}: downloaded once, "
                f"{mb} MB).",
                warning=False,
            )
        else:
            self.setVisible(False)

    def _show(self, text: str, warning: bool) -> None:
        self.label.setText(text)
        self.label.setStyleSheet(WARNING_STYLE if warning else INFO_STYLE)
        self.warning = warning
        self.setVisible(True)

    def _on_close(self) -> None:
        if not self.warning:
            self._hint_dismissed = True
        self.setVisible(False)


class StatusPanel(QObject):
    """The status bar's parts: a progress bar with Cancel on the left, the library's photos and the model's name
    on the right. `cancel_button.clicked` is for the window to connect."""

    def __init__(self, session: Session, bar: QStatusBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.bar = bar
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.library_label = QLabel("")
        self.model_label = QLabel("")
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)
        bar.addPermanentWidget(self.library_label)
        bar.addPermanentWidget(self.model_label)
        bar.messageChanged.connect(self._on_message)  # a long message is clipped there: hover shows it whole

    def _on_message(self, message: str) -> None:
        self.bar.setToolTip(message)

    def show_busy(self, text: str) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.cancel_button.setVisible(True)

    def show_step(self, step: str) -> None:
        """A step of a model's first-use preparation, in the progress bar (a status-bar message would hide it)."""
        self.progress.setRange(0, 1)  # a busy (0, 0) bar draws no text; an empty one shows the step
        self.progress.setValue(0)
        self.progress.setFormat(step)
        self.progress.setToolTip(step)
        self.bar.clearMessage()

    def show_indexing(self, p: Progress) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.progress.setFormat(f"%v / %m photos · {p.rate:.1f} img/s · ETA {eta(p.eta)}")

    def show_decision_line(self) -> None:
        """The open folder's model decision, whole, as the model label's tool tip."""
        decision = self.session.decision
        self.model_label.setToolTip(decision.line if decision is not None else "")

    def hide_progress(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def refresh(self) -> LibraryStatus | None:
        """The labels as the session stands; returns the library's status (None with no folder open)."""
        status, lib = self.session.status(), self.session.library
        if status is None or lib is None:
            self.library_label.setText("no folder open")
            self.model_label.setText(f"Model: {chosen_name(self.session)}")
            return None
        self.library_label.setText(f"{status.indexed} photos · {status.precision}")
        self.library_label.setToolTip(f"{status.folder}\n{status.model}")
        self.model_label.setText(f"Model: {lib.model_name()}")  # the library's own: no wait on the session's lock
        return status
