"""The map at scale: UMAP time for 10k and 50k points, and the frame time while hovering over 50k points.

    QT_QPA_PLATFORM=offscreen python bench/map_bench.py [--sizes 10000 50000] [--dim 128]

Points are seeded clustered unit vectors (24 clusters, like labelled photos). PCA is timed beside UMAP in the
same run as the instant baseline. Hover: 300 synthetic mouse moves over the scatter; each is handled (nearest
point, tooltip) and the frame repainted; the median and worst time per move are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((24, dim))
    x = centres[rng.integers(0, 24, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    p.add_argument("--dim", type=int, default=128)
    args = p.parse_args()
    from xmr_gui.core.views.embedding_map import MapData, project

    project(clustered(5000, args.dim), "umap")  # numba compiles on first use (per code path): not part of the figure
    layouts = {}
    for n in args.sizes:
        x = clustered(n, args.dim)
        t0 = time.perf_counter()
        project(x, "pca")
        pca = time.perf_counter() - t0
        t0 = time.perf_counter()
        layouts[n] = project(x, "umap")
        umap_s = time.perf_counter() - t0
        print(
            f"{n} points ({args.dim}-d): PCA {pca:.2f} s, UMAP {umap_s:.1f} s (ratio {umap_s / max(pca, 1e-9):.0f}x)",
            flush=True,
        )

    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from xmr_gui.qt.map_view import MapView

    app = QApplication.instance() or QApplication([])
    n = max(args.sizes)
    xy = layouts[n]
    labels = [f"label{i % 24}" for i in range(n)]
    view = MapView()
    view.resize(1200, 800)
    view.show()
    view.set_data(
        MapData(["image"] * n, [f"/photos/{i}.jpg" for i in range(n)], labels, np.zeros((n, 2), np.float32), xy), "umap"
    )
    app.processEvents()
    vb = view.plot.getViewBox()
    rng = np.random.default_rng(1)
    times = []
    for _ in range(300):
        x, y = xy[rng.integers(0, n)]
        scene = vb.mapViewToScene(QPointF(float(x), float(y)))
        t0 = time.perf_counter()
        view._on_mouse_moved((scene,))
        view.plot.viewport().repaint()
        app.processEvents()
        times.append(time.perf_counter() - t0)
    print(
        f"hover over {n} points: median {statistics.median(times) * 1000:.1f} ms, "
        f"worst {max(times) * 1000:.1f} ms per move (incl. repaint)",
        flush=True,
    )
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: PySide6 + pyqtgraph can crash while collecting at exit


if __name__ == "__main__":
    sys.exit(main())
