"""Render the README's screenshots of the window on real photographs with the offline model (imagenet-minilm).

    .venv/bin/python docs/screenshots.py [--out assets/screenshots] [--photos FOLDER]
    .venv/bin/python docs/screenshots.py --teaching CHECKPOINT --photos FOLDER   # the label graph and the map
    .venv/bin/python docs/screenshots.py --demo-views                             # the same on the demo world
    .venv/bin/python docs/screenshots.py --map --photos FOLDER   # the map of a folder without a checkpoint

The real window, offscreen (QT_QPA_PLATFORM=offscreen; no display or Xvfb needed), 1280×800, grabbed to PNG:

- real-photos-search.png: a text search over scikit-image's sample photographs, the top hit's labels beside;
- real-photos-describe.png: another text search, and the cat photo picked: its labels (image → text) on the right.

The photos are the scikit-image samples whose notes say public domain or CC0 (copied from the installed package;
nothing is downloaded). --photos uses another folder instead (for looking only: commit screenshots of photos you
may publish). A fresh data dir is used, so the folder is indexed from scratch; the model's ONNX export is made
once per cache dir (~30 s).

--teaching: the Label graph and Map tabs of a checkpoint over its photos, which show no photo (names and dots
only), so they may be published whatever the photos' licence:

- real-labels-graph.png: the checkpoint's label graph (layered when its labels form a hierarchy), --select chosen;
- real-labels-map.png: the map (UMAP) of the photos, coloured by their top label, every label named.

For the README: a checkpoint trained on Debian's tuxpaint-stamps-default by folder (`cartoon/` and `symbols/`
left out, as bench/offline_model.py does), `xmr train STAMPS --labels-from folders --out /tmp/tux.xmr`.
--demo-views: the same two tabs on the demo world (200 drawn scenes, the demo checkpoint), as label-graph.png
and embedding-map.png, with --query placed on the map; and search-and-describe.png: that query's results with the
top hit's labels (the checkpoint's suggestions, each with the neighbours that lifted it) on the right.

--map: the Map tab of a photo folder opened with the offline model and no checkpoint (named clusters):

- map-clusters.png: the whole map (UMAP, spread), photos coloured by cluster, the clusters' names, the legend;
- map-neighbours.png: zoomed in on the photo --describe names (thumbnails), it selected: its nearest neighbours
  of the full space ringed and listed, red dashed where the map puts them far;
- map-computed.png: the projection as computed (no spreading), thumbnails off, coloured by cluster.

For the README: tuxpaint's animal stamps (birds, mammals, fish) and scikit-image's samples (`xmr gui FOLDER` on
them, as issue #27 measured). Under Xvfb for a real window: `Xvfb :77 -screen 0 1366x768x24 &` then
`DISPLAY=:77 QT_QPA_PLATFORM=xcb`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# scikit-image samples whose notes say public domain or CC0 (skimage/data/_fetchers.py)
PUBLIC = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "horse.png",
    "hubble_deep_field.jpg",
    "microaneurysms.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
SEARCH = "a cup of coffee"
SEARCH_2 = "an animal"
DESCRIBE = "chelsea.png"


def sample_photos(into: Path) -> Path:
    import skimage.data

    data = Path(skimage.data.data_dir)
    into.mkdir(parents=True, exist_ok=True)
    for name in PUBLIC:
        if (data / name).is_file():
            shutil.copyfile(data / name, into / name)
    return into


def wait(app, signal, timeout_s: float = 600.0):  # type: ignore[no-untyped-def]
    """Run the event loop until `signal` fires; its arguments."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got: list[tuple] = []

    def fired(*args) -> None:  # type: ignore[no-untyped-def]
        got.append(args)
        loop.quit()

    signal.connect(fired)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(fired)
    if not got:
        sys.exit(f"screenshots: timed out waiting for {signal}")
    return got[0]


def settle(app, ms: int = 1500) -> None:  # type: ignore[no-untyped-def]
    """Let thumbnails decode and layouts finish."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def views_shots(app, window, out: Path, prefix: str, select: str, query: str) -> None:  # type: ignore[no-untyped-def]
    """Grab the Label graph tab (with `select` picked) and the Map tab (once UMAP is shown)."""
    names = {
        "real-labels": ("real-labels-graph.png", "real-labels-map.png"),
        "demo": ("label-graph.png", "embedding-map.png"),
    }[prefix]
    if query:
        window.search.search_for(query)
        wait(app, window.search_done)
    window.tabs.setCurrentIndex(1)
    wait(app, window.graph_shown)
    view = window.graph_view
    if select in view.graph.labels:
        view._select(view.graph.labels.index(select))
    settle(app)
    shot = out / names[0]
    window.grab().save(str(shot))
    print(shot)
    window.tabs.setCurrentIndex(2)
    while wait(app, window.map_shown)[0] != "umap":
        pass
    settle(app)
    shot = out / names[1]
    window.grab().save(str(shot))
    print(shot)


def map_shots(app, window, out: Path, select: str) -> None:  # type: ignore[no-untyped-def]
    """The Map tab of a folder without a checkpoint: the whole map, a photo's neighbours, the computed layout."""
    window.tabs.setCurrentIndex(2)
    while wait(app, window.map_shown)[0] != "umap":
        pass
    view = window.map_view
    settle(app, 3000)  # the thumbnails in view decode on the thumbnail cache's threads
    shot = out / "map-clusters.png"
    window.grab().save(str(shot))
    print(shot)
    rows = [i for i, ref in enumerate(view.data.refs) if os.path.basename(ref) == select] or [0]
    view.select_photo(rows[0])
    window.tabs.setCurrentIndex(2)  # selecting shows the photo in the Photos tab: back to the map
    x, y = (float(v) for v in view.xy[rows[0]])
    view.plot.setRange(xRange=(x - 0.45, x + 0.45), yRange=(y - 0.35, y + 0.35), padding=0)
    settle(app, 3000)
    shot = out / "map-neighbours.png"
    window.grab().save(str(shot))
    print(shot)
    view.show_thumbs.setChecked(False)
    view.choose(view.layout_choice, "computed")
    view.plot.autoRange()
    settle(app)
    shot = out / "map-computed.png"
    window.grab().save(str(shot))
    print(shot)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    p.add_argument("--photos", type=Path, help="another photo folder (default: scikit-image's public samples)")
    p.add_argument("--query", default=SEARCH)
    p.add_argument("--query-2", default=SEARCH_2, help="the text search under the describe panel")
    p.add_argument("--describe", default=DESCRIBE, help="file name of the photo to describe")
    p.add_argument("--teaching", type=Path, metavar="CHECKPOINT", help="the label graph and map of this checkpoint")
    p.add_argument("--demo-views", action="store_true", help="the label graph and map of the demo world")
    p.add_argument("--map", action="store_true", help="the map of --photos without a checkpoint (named clusters)")
    p.add_argument("--select", default="", help="the label picked in the graph (default: cats, or cloud for the demo)")
    args = p.parse_args()
    if (args.teaching or args.map) and not args.photos:
        p.error("--teaching needs --photos (the folder the checkpoint's labels describe)")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XMR_GUI_NO_DIALOGS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="xmr-shots-"))
    os.environ["XMR_HOME"] = str(work / "home")  # a fresh library; the model cache stays the user's
    if args.demo_views:
        from xmr_gui.core.demo.world import write_demo

        photos = write_demo(work / "world", 200, seed=0) / "images"
    else:
        photos = args.photos.resolve() if args.photos else sample_photos(work / "photos")

    from PySide6.QtCore import QSettings, QThreadPool
    from PySide6.QtWidgets import QApplication

    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice, Session
    from xmr_gui.qt.main_window import MainWindow

    app = QApplication([sys.argv[0]])
    app.setApplicationName("xmr")
    if args.teaching:
        choice = ModelChoice(args.teaching.resolve(), None, "cpu")
    elif args.demo_views:
        choice = ModelChoice(shipped_demo_checkpoint(), None, "cpu")
    else:
        choice = ModelChoice(None, ModelSpec.parse("imagenet-minilm", "lite0"), "cpu")
    session = Session(choice)
    window = MainWindow(session, QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    window.open_folder(str(photos))
    wait(app, window.indexing_done)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.map:
            map_shots(app, window, args.out, args.describe)
            return 0
        if args.teaching or args.demo_views:
            prefix, select = ("real-labels", "cats") if args.teaching else ("demo", "cloud")
            query = "" if args.teaching else "a city at night with the moon"
            if args.demo_views:  # the search tab first: results, and the top hit's labels as suggestions
                window.search.search_for(query)
                wait(app, window.search.hint_done)
                window.search.describe(window.search.model.path_at(0))
                wait(app, window.describe_done)
                settle(app)
                shot = args.out / "search-and-describe.png"
                window.grab().save(str(shot))
                print(shot)
            views_shots(app, window, args.out, prefix, args.select or select, query)
            return 0
        window.search.search_for(args.query)
        wait(app, window.search.hint_done)
        window.search.describe(window.search.model.path_at(0))  # the top hit's labels, on the right
        wait(app, window.describe_done)
        settle(app)
        shot = args.out / "real-photos-search.png"
        window.grab().save(str(shot))
        print(shot)

        window.search.search_for(args.query_2)
        wait(app, window.search.hint_done)
        window.search.describe(str(photos / args.describe))
        wait(app, window.describe_done)
        settle(app)
        shot = args.out / "real-photos-describe.png"
        window.grab().save(str(shot))
        print(shot)
    finally:
        QThreadPool.globalInstance().waitForDone()
        window.thumbs.wait()
        session.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
