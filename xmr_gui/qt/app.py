"""`xmr-gui` / `xmr gui`: start the window fast (no torch at start-up), then everything loads in the background."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import resources
from typing import cast

SELF_TEST_QUERY = "a beach with sea and sand"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xmr-gui",
        description="The xmr window: index a photo folder, search it by text or by photo, and inspect the model.",
    )
    from .. import __version__

    p.add_argument("--version", action="version", version=f"xmr {__version__}")
    p.add_argument("folder", nargs="?", help="photo folder to open (default: offer the built-in demo)")
    p.add_argument("--checkpoint", metavar="FILE", help="trained .xmr checkpoint to search with")
    p.add_argument("--query", metavar="TEXT", help="run this text search once the folder is indexed")
    p.add_argument("--image", metavar="PHOTO", help="once indexed, show photos similar to PHOTO and its labels")
    p.add_argument(
        "--tab",
        choices=("photos", "graph", "map"),
        default="photos",
        help="which view to show once the folder is indexed",
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="open the real window on the demo, index it, run one text search, print the top result "
        "(score<TAB>path) as the last line and exit 0 (offscreen when there is no display)",
    )
    return p


def _choice(args: argparse.Namespace, store):  # type: ignore[no-untyped-def]
    """--checkpoint, else what the user last chose in the window (a checkpoint they opened, a model from the Model
    menu), else automatic: `models.decide` picks per folder (the demo world's checkpoint for the demo, a cached CLIP
    model, else the offline real model)."""
    from .settings import WindowSettings

    return WindowSettings.load(store).choice(args.checkpoint)


def create_window(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """(QApplication, MainWindow, Session) for parsed arguments, not yet shown (start-up benchmarks use it too)."""
    from PySide6.QtWidgets import QApplication

    from ..core.session import Session
    from .main_window import MainWindow
    from .settings import open_store

    app = cast(QApplication, QApplication.instance()) or QApplication([sys.argv[0]])  # instance(): a QCoreApplication
    app.setApplicationName("xmr")
    app.setDesktopFileName("xmr")
    icon = resources.files("xmr_gui").joinpath("data/xmr-256.png")  # package data: wheels carry it too
    if icon.is_file():
        from PySide6.QtGui import QIcon, QPixmap

        pixmap = QPixmap()
        pixmap.loadFromData(icon.read_bytes())  # bytes, not a path: works from any resource loader
        app.setWindowIcon(QIcon(pixmap))
    store = open_store()
    session = Session(_choice(args, store))
    return app, MainWindow(session, store), session


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.self_test:
        os.environ["XMR_GUI_NO_DIALOGS"] = "1"
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QThreadPool, QTimer

    app, window, session = create_window(args)
    window.show()
    outcome = {"code": 0}
    if args.self_test:
        _wire_self_test(window, app, outcome)
        QTimer.singleShot(0, window.open_demo)
    elif args.folder:
        QTimer.singleShot(0, lambda: window.open_folder(os.path.abspath(args.folder)))
        _queue_first_queries(window, args)
    code = app.exec()
    QThreadPool.globalInstance().waitForDone()
    window.thumbs.wait()
    session.close()
    return outcome["code"] if args.self_test else code


def _queue_first_queries(window, args) -> None:  # type: ignore[no-untyped-def]
    """--query / --image: run once, after the first indexing finishes."""

    def run(_report) -> None:  # type: ignore[no-untyped-def]
        window.indexing_done.disconnect(run)
        if args.image:
            window.query_image(os.path.abspath(args.image))
        if args.query:
            window.search.search_box.setText(args.query)
            window.search.search_box.returnPressed.emit()
        window.tabs.setCurrentIndex(("photos", "graph", "map").index(args.tab))

    if args.query or args.image or args.tab != "photos":
        window.indexing_done.connect(run)


def _wire_self_test(window, app, outcome) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    def fail(message: str) -> None:
        print(f"self-test failed: {message}", file=sys.stderr, flush=True)
        outcome["code"] = 1
        app.exit(1)

    def searched(hits) -> None:  # type: ignore[no-untyped-def]
        if not hits:
            fail("the search returned nothing")
            return
        print(f"{hits[0].score:.4f}\t{hits[0].path}", flush=True)
        app.exit(0)

    def indexed(report) -> None:  # type: ignore[no-untyped-def]
        print(f"indexed: {report.counts()}", file=sys.stderr, flush=True)
        window.search_done.connect(searched)
        window.search.search_box.setText(SELF_TEST_QUERY)
        window.search.search_box.returnPressed.emit()

    window.indexing_done.connect(indexed)
    window.error_shown.connect(fail)
    QTimer.singleShot(600_000, lambda: fail("timed out after 10 minutes"))


if __name__ == "__main__":
    sys.exit(main())
