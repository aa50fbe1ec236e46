"""The window's start-up time against a bare PySide6 window, and its responsiveness while indexing.

    QT_QPA_PLATFORM=offscreen python bench/gui_bench.py [--runs 15] [--size 400]

Start-up: each run is a fresh process that imports, builds and shows a window, then quits from the event
loop's first turn; the xmr window is measured the same way (`create_window`), beside a bare QMainWindow.
Responsiveness: the demo world is indexed from the window while a 5 ms QTimer records the gaps between its
ticks; the longest gap is the longest time the GUI thread could not paint or react (goal < 100 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = (
    "from PySide6.QtCore import QTimer\nfrom PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication([])\nw = QMainWindow()\nw.resize(1280, 800)\nw.show()\n"
    "QTimer.singleShot(0, app.quit)\napp.exec()\n"
)
XMR = (
    "from PySide6.QtCore import QTimer\nfrom xmr_gui.qt.app import build_parser, create_window\n"
    "app, w, s = create_window(build_parser().parse_args([]))\nw.show()\n"
    "QTimer.singleShot(0, app.quit)\napp.exec()\n"
)


def startup(code: str, runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def responsiveness(size: int) -> tuple[float, float, int]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.qt.app import build_parser, create_window

    os.environ["XMR_GUI_NO_DIALOGS"] = "1"
    app, window, session = create_window(build_parser().parse_args([]))
    window.show()
    world = write_demo(tempfile.mkdtemp(prefix="xmr-gui-bench-"), size)
    clock, gaps, last = QElapsedTimer(), [], [0]
    clock.start()

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(tick)
    result = {}

    def done(report) -> None:  # type: ignore[no-untyped-def]
        result["report"] = report
        probe.stop()
        app.quit()

    window.indexing_done.connect(done)
    window.open_folder(str(world / "images"))
    last[0] = clock.elapsed()
    probe.start()
    app.exec()
    session.close()
    return max(gaps), statistics.quantiles(gaps, n=100)[98], result["report"].encoded


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--size", type=int, default=400)
    args = p.parse_args()
    env = dict(
        os.environ,
        QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        XMR_HOME=tempfile.mkdtemp(prefix="xmr-gui-home-"),
    )
    os.environ.update(env)
    startup(BARE, 2, env), startup(XMR, 2, env)  # warm the file cache for both
    bare, xmr = [], []
    for _ in range(args.runs):  # interleaved, so drift on a noisy machine hits both alike
        bare += startup(BARE, 1, env)
        xmr += startup(XMR, 1, env)
    b, x = statistics.median(bare), statistics.median(xmr)
    print(
        f"start-up, median of {args.runs} processes: bare PySide6 window {b * 1000:.0f} ms, "
        f"xmr window {x * 1000:.0f} ms, ratio {x / b:.2f} (goal <= 2.0)"
    )
    worst, p99, n = responsiveness(args.size)
    print(
        f"while indexing {n} photos from the window: longest event-loop stall {worst:.0f} ms, "
        f"p99 gap {p99:.0f} ms (probe interval 5 ms; goal < 100 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
