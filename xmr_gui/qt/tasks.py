"""Core calls started from the window, with each outcome handed to its callback on the GUI thread.

    tasks = TaskRunner(parent=window)
    tasks.failed.connect(window.on_failed)   # gets the exception; worker.error_message says it
    tasks.start(session.search_text, "a dog", 200, on_result=grid.show)

The calls run on the thread pool (worker.Task); their signals reach this object's slots on the GUI thread, where
the callbacks registered for that task are looked up and called. A failure arrives as the exception object and
is routed by its type: an error the user can cause (`is_expected`) goes to the task's `on_error`, or to `stopped`
when the user cancelled the task; anything else is a bug and always goes to `failed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..core.base.errors import is_expected
from .worker import Task, run_task, user_line


class TaskRunner(QObject):
    failed = Signal(object)  # the exception of a task that failed (worker.error_message says what to show)
    stopped = Signal(str)  # a task the user cancelled ended with an error saying so: its one line, no warning

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._callbacks: dict[QObject, tuple[Task, Callable[[Any], None], Callable[[Any], None] | None]] = {}
        self._finished: dict[QObject, Callable[[Task], None]] = {}
        self._errors: dict[QObject, Callable[[BaseException], None]] = {}

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        with_progress: bool = False,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[Task], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> Task:
        """Run fn(*args, **kwargs) off the GUI thread; `on_finished` hears the task end however it ended (after its
        result); `on_error`, when given, gets an error the user can fix instead of `failed` (a bug still goes to
        `failed`)."""
        task = run_task(fn, *args, with_progress=with_progress, start=False, **kwargs)
        self._callbacks[task.signals] = (task, on_result, on_progress)
        if on_finished is not None:
            self._finished[task.signals] = on_finished
        if on_error is not None:
            self._errors[task.signals] = on_error
        task.signals.result.connect(self._relay_result)
        task.signals.progress.connect(self._relay_progress)
        task.signals.error.connect(self._relay_error)
        task.signals.finished.connect(self._relay_finished)
        task.start()
        return task

    def _relay_result(self, value: Any) -> None:
        entry = self._callbacks.get(self.sender())
        if entry is not None:
            entry[1](value)

    def _relay_progress(self, value: Any) -> None:
        entry = self._callbacks.get(self.sender())
        if entry is not None and entry[2] is not None:
            entry[2](value)

    def _relay_error(self, exc: BaseException) -> None:
        entry = self._callbacks.get(self.sender())
        on_error = self._errors.get(self.sender())
        if not is_expected(exc):  # a bug, cancelled or not: its traceback is shown
            self.failed.emit(exc)
        elif entry is not None and entry[0].cancelled:
            self.stopped.emit(user_line(exc))
        elif on_error is not None:
            on_error(exc)
        else:
            self.failed.emit(exc)

    def _relay_finished(self) -> None:
        entry = self._callbacks.pop(self.sender(), None)
        on_finished = self._finished.pop(self.sender(), None)
        self._errors.pop(self.sender(), None)
        if entry is not None and on_finished is not None:
            on_finished(entry[0])
