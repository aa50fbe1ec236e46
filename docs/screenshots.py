"""Render the README's screenshots of the window on real photographs with the offline model (imagenet-minilm).

    .venv/bin/python docs/screenshots.py [--out assets/screenshots] [--photos FOLDER]

The real window, offscreen (QT_QPA_PLATFORM=offscreen; no display or Xvfb needed), 1280×800, grabbed to PNG:

- real-photos-search.png: a text search over scikit-image's sample photographs, the top hit's labels beside;
- real-photos-describe.png: another text search, and the cat photo picked: its labels (image → text) on the right.

The photos are the scikit-image samples whose notes say public domain or CC0 (copied from the installed package;
nothing is downloaded). --photos uses another folder instead (for looking only: commit screenshots of photos you
may publish). A fresh data dir is used, so the folder is indexed from scratch; the model's ONNX export is made
once per cache dir (~30 s).
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    p.add_argument("--photos", type=Path, help="another photo folder (default: scikit-image's public samples)")
    p.add_argument("--query", default=SEARCH)
    p.add_argument("--query-2", default=SEARCH_2, help="the text search under the describe panel")
    p.add_argument("--describe", default=DESCRIBE, help="file name of the photo to describe")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XMR_GUI_NO_DIALOGS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="xmr-shots-"))
    os.environ["XMR_HOME"] = str(work / "home")  # a fresh library; the model cache stays the user's
    photos = args.photos.resolve() if args.photos else sample_photos(work / "photos")

    from PySide6.QtCore import QSettings, QThreadPool
    from PySide6.QtWidgets import QApplication

    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice, Session
    from xmr_gui.qt.main_window import MainWindow

    app = QApplication([sys.argv[0]])
    app.setApplicationName("xmr")
    session = Session(ModelChoice(None, ModelSpec.parse("imagenet-minilm", "lite0"), "cpu"))
    window = MainWindow(session, QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    window.open_folder(str(photos))
    wait(app, window.indexing_done)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
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
