"""Frame times of the map at 10,000 photos: the window's map (colours, names, thumbnails as you zoom) against a
plain pyqtgraph scatter of the same dots, in the same process, at several zoom levels.

    QT_QPA_PLATFORM=offscreen python bench/map_frames.py [--n 10000] [--frames 30]

Photos: n small JPEGs written to a temporary folder (their thumbnails are decoded by the window's thumbnail cache,
off the GUI thread, before a zoom level is timed: what is timed is painting, not decoding). Vectors: n unit vectors
in 12 groups, laid out by PCA and `spread_out` as the map does, with the core's 12 named clusters (photos coloured
by cluster, the names drawn). A frame is one full repaint of the plot (`QWidget.grab()`; the map's window 1280×800,
the plain plot the same size as the map's plot); a pan frame also moves the view by 2% and runs the level-of-detail
update, as a drag does. Each zoom level is timed on the map and on the plain scatter alternately; the ratio is map /
plain."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def write_photos(folder: Path, n: int) -> list[str]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        im = Image.new("RGB", (64, 48), colour)
        im.paste(tuple(255 - c for c in colour), (8 + i % 24, 8, 40 + i % 24, 40))
        path = folder / f"p{i:05d}.jpg"
        im.save(path, quality=80)
        out.append(str(path))
    return out


def frame_ms(widget, frames: int, before=None) -> list[float]:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    times = []
    for f in range(frames):
        if before is not None:
            before(f)
        t0 = time.perf_counter()
        widget.grab()
        QApplication.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args(argv)

    os.environ.setdefault("XMR_HOME", tempfile.mkdtemp(prefix="xmr-frames-home-"))
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from xmr_gui.core.views.clusters import Vocabulary, name_clusters
    from xmr_gui.core.views.embedding_map import MapData, project, spread_out
    from xmr_gui.qt.map_view import MapView

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    paths = write_photos(Path(tempfile.mkdtemp(prefix="xmr-frames-")), args.n)
    print(f"{args.n} photos written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rng = np.random.default_rng(1)
    groups = rng.standard_normal((12, 64))
    v = groups[np.arange(args.n) % 12] + 0.8 * rng.standard_normal((args.n, 64))
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    xy = spread_out(project(v, "pca"))
    data = MapData(["image"] * args.n, paths, [""] * args.n, v, xy)
    words = [f"group {g}" for g in range(12)]  # the map's real clusters (k-means in the space), named from these
    vocab = Vocabulary(words, (groups / np.linalg.norm(groups, axis=1, keepdims=True)).astype(np.float32), "bench")
    data.clusters = name_clusters(v, np.ones(args.n, bool), xy, vocab, k=12)

    view = MapView()
    view.resize(1280, 800)
    view.show()
    t0 = time.perf_counter()
    view.set_data(data, "pca")
    app.processEvents()
    set_data_ms = (time.perf_counter() - t0) * 1000
    app.processEvents()
    plain = pg.PlotWidget()
    for axis in ("left", "bottom"):  # as the map: no axes
        plain.hideAxis(axis)
    plain.resize(view.plot.size())
    plain.addItem(pg.ScatterPlotItem(pos=xy, size=7, brush=pg.mkBrush(150, 150, 150, 215), pen=None))
    plain.show()
    app.processEvents()

    # zoom levels by the share of the map's width in view (the map spans [-1, 1]²), centred on a photo
    cx, cy = (float(c) for c in xy[0])
    levels = [1.0, 0.25, 0.08, 0.04, 0.02]  # 1.0: the whole map (centred on it, not on the photo)
    rows = []
    for share in levels:
        half = share  # half-width in map units: share × 2 / 2
        x, y = (0.0, 0.0) if share == 1.0 else (cx, cy)
        for w in (view.plot, plain):
            w.setRange(xRange=(x - half, x + half), yRange=(y - half, y + half), padding=0)
        view.thumbs.update()
        view.thumbs.thumbs.wait()  # decode the thumbnails in view (off the GUI thread) before timing paints
        for _ in range(5):
            app.processEvents()
            time.sleep(0.02)
        view.thumbs.update()
        n_in = len(view.thumbs.visible())

        def pan(f: int, w=None, half=half) -> None:  # type: ignore[no-untyped-def]
            dx = (0.02 if f % 2 == 0 else -0.02) * 2 * half
            (x0, x1), (y0, y1) = w.getViewBox().viewRange()
            w.setRange(xRange=(x0 + dx, x1 + dx), yRange=(y0, y1), padding=0)
            if w is view.plot:
                view.thumbs.update()  # what the coalescing timer runs after a move

        still_map, still_plain, pan_map, pan_plain = [], [], [], []
        for _ in range(3):  # alternate, so load on the machine hits both alike
            still_map += frame_ms(view.plot, args.frames // 3)
            still_plain += frame_ms(plain, args.frames // 3)
            pan_map += frame_ms(view.plot, args.frames // 3, lambda f: pan(f, view.plot))
            pan_plain += frame_ms(plain, args.frames // 3, lambda f: pan(f, plain))
        med = statistics.median
        p95 = lambda xs: float(np.percentile(xs, 95))  # noqa: E731
        rows.append(
            (share, n_in, view.thumbs.mode, len(view.thumbs.items()), med(still_map), med(still_plain), med(pan_map),
             p95(pan_map), med(pan_plain))
        )  # fmt: skip
    size = view.plot.size()
    print(f"CPU: {cpu_name()}; Qt platform {os.environ['QT_QPA_PLATFORM']}; n = {args.n}; "
          f"plot {size.width()}x{size.height()} (window 1280x800)")  # fmt: skip
    print(f"set_data (colours, {len(data.clusters)} cluster names, legend) for {args.n} photos: {set_data_ms:.0f} ms")
    print(
        "| view (share of the map's width) | photos in view | map shows | frame: map / plain dots (ms) | ratio "
        "| pan frame: map (median / p95) / plain (ms) | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for share, n_in, mode, n_thumbs, sm, sp, pm, p9, pp in rows:
        shows = f"{n_thumbs} thumbnails" if mode == "thumbnails" else "dots"
        print(
            f"| {share:g} | {n_in} | {shows} | {sm:.1f} / {sp:.1f} | {sm / sp:.2f} | {pm:.1f} / {p9:.1f} / {pp:.1f} "
            f"| {pm / pp:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
