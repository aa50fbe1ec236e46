"""The one base class of everything a user can cause, and how the front ends tell it from a bug.

Each package raises its own subclass (ModelError, CheckpointError, CatalogError, LibraryError, ImageSkipped,
SessionError, ...) with a message that says what to do. The CLI prints an XmrError as one line,
`xmr: error: ...`, and the window as one line in a message box; anything else is a bug in xmr and is shown
with its traceback and where to report it.
"""

from __future__ import annotations

REPORT_URL = "https://github.com/xmr/xmr/issues"
BUG_HINT = f"this is a bug in xmr: please report it at {REPORT_URL} with the traceback"


class XmrError(Exception):
    """Something the user (their input, files or machine) can cause and fix; the message says how."""


def is_expected(exc: BaseException) -> bool:
    """Whether `exc` is shown as one line: an XmrError, or the system's own word on a file (OSError)."""
    return isinstance(exc, (XmrError, OSError))
