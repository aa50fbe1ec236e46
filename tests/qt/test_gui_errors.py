"""A failed task crosses from the worker thread as the exception itself; the window decides by its type what to
show: an error the user can fix as one line, anything else as a bug with its traceback and where to report it."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def fail(exc: BaseException) -> None:
    raise exc


@pytest.fixture
def window(window_maker):
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice

    return window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), "cpu", 16))


def test_the_worker_hands_over_the_exception_object_with_its_traceback(qtbot):
    from xmr_gui.core.session import SessionError
    from xmr_gui.qt.worker import run_task

    exc = SessionError("open a folder first")
    task = run_task(fail, exc, start=False)
    with qtbot.waitSignal(task.signals.error, timeout=10_000) as error:
        task.start()
    assert error.args[0] is exc
    assert exc.__traceback__ is not None and exc.__traceback__.tb_next.tb_frame.f_code.co_name == "fail"


def test_a_user_error_shows_exactly_one_line_without_a_traceback(qtbot, window):
    from xmr_gui.core.base.errors import REPORT_URL
    from xmr_gui.core.session import SessionError

    with qtbot.waitSignal(window.error_shown, timeout=10_000) as shown:
        window.tasks.start(fail, SessionError("open a folder first"), on_result=lambda _: None)
    assert shown.args[0] == "open a folder first"
    assert window.statusBar().currentMessage() == "open a folder first"
    assert REPORT_URL not in shown.args[0]


def test_a_bug_shows_its_traceback_and_where_to_report_it(qtbot, window):
    from xmr_gui.core.base.errors import REPORT_URL

    with qtbot.waitSignal(window.error_shown, timeout=10_000) as shown:
        window.tasks.start(fail, ZeroDivisionError("division by zero"), on_result=lambda _: None)
    message = shown.args[0]
    assert message.startswith("ZeroDivisionError: division by zero\n")
    assert REPORT_URL in message and "Traceback (most recent call last)" in message
    assert "in fail\n    raise exc" in message  # formatted from the object's own traceback, from the worker thread
    assert window.statusBar().currentMessage() == "ZeroDivisionError: division by zero"


def test_errors_are_routed_by_type_not_by_the_shape_of_their_message(qtbot, window):
    """A user error whose message spans lines is still the user's (to `on_error`, as one line); a one-line bug is
    still a bug (to `failed`, never to `on_error`)."""
    from xmr_gui.core.search.suggest import SuggestError

    caught: list[BaseException] = []
    failed: list[BaseException] = []
    window.tasks.failed.connect(failed.append)
    user = SuggestError("the sidecar is damaged:\nleft as it is")
    window.tasks.start(fail, user, on_result=lambda _: None, on_error=caught.append)
    qtbot.waitUntil(lambda: bool(caught or failed), timeout=10_000)
    assert caught == [user] and failed == []
    bug = KeyError("x")
    with qtbot.waitSignal(window.tasks.failed, timeout=10_000) as got:
        window.tasks.start(fail, bug, on_result=lambda _: None, on_error=caught.append)
    assert got.args[0] is bug and caught == [user]


def test_a_cancelled_task_stops_quietly_unless_it_hit_a_bug(qtbot, window):
    from xmr_gui.core.runtime.hub_download import DownloadCancelled

    def wait_then_fail(go: threading.Event, exc: BaseException) -> None:
        assert go.wait(10)
        raise exc

    stopped = DownloadCancelled("download stopped;\nresumes next time")
    for exc, signal in ((stopped, "stopped"), (RuntimeError("x"), "failed")):
        go = threading.Event()
        task = window.tasks.start(wait_then_fail, go, exc, on_result=lambda _: None)
        task.cancel()
        with qtbot.waitSignal(getattr(window.tasks, signal), timeout=10_000) as got:
            go.set()
        assert got.args[0] == ("download stopped; resumes next time" if signal == "stopped" else exc)


def test_a_user_error_with_an_empty_message_is_named_by_its_type():
    from xmr_gui.core.store.library import LibraryError
    from xmr_gui.qt.worker import error_message

    assert error_message(LibraryError()) == "LibraryError"
    assert error_message(OSError(2, "No such file or directory")) == "[Errno 2] No such file or directory"
