"""The one helper that runs core calls off the GUI thread: a QRunnable whose signals carry the outcome.

    task = run_task(session.index, with_progress=True)
    task.signals.progress.connect(...); task.signals.result.connect(...); task.signals.error.connect(...)
    task.cancel()   # sets the threading.Event the core call checks

The core function gets `on_progress` and `cancel` keyword arguments when `with_progress` is true. A failure
crosses to the GUI thread as the exception object itself (its traceback attached), and the GUI side decides by
its type what to show (`error_message`): never by parsing a message.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.base.errors import BUG_HINT, is_expected


class TaskSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(object)  # the exception raised, traceback attached
    finished = Signal()


class Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.signals = TaskSignals()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cancel = threading.Event()
        self.pool: QThreadPool = QThreadPool.globalInstance()
        if with_progress:
            self._kwargs.update(on_progress=self.signals.progress.emit, cancel=self._cancel)
        self.setAutoDelete(False)  # the caller keeps a reference and reads .signals after run()

    def start(self) -> None:
        self.pool.start(self)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            out = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never raised into Qt
            self.signals.error.emit(exc)
        else:
            self.signals.result.emit(out)
        finally:
            self.signals.finished.emit()


def error_message(exc: BaseException) -> str:
    """What the window shows for a failed task: one line for what the user can fix (an XmrError, or the system's
    word on a file), else the traceback of a bug with where to report it."""
    if is_expected(exc):
        return user_line(exc)
    return f"{type(exc).__name__}: {exc}\n\n{BUG_HINT}:\n\n" + "".join(traceback.format_exception(exc))


def user_line(exc: BaseException) -> str:
    """An expected error as one line: its message (lines joined, should one span several), else its type."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    with_progress: bool = False,
    pool: QThreadPool | None = None,
    start: bool = True,
    **kwargs: Any,
) -> Task:
    """A Task for fn(*args); started at once unless `start` is false (connect first, then `task.start()`)."""
    task = Task(fn, *args, with_progress=with_progress, **kwargs)
    task.pool = pool or QThreadPool.globalInstance()
    if start:
        task.start()
    return task
