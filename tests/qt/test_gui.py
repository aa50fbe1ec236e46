"""The real window, offscreen, driven through the real core (pytest-qt; no sleeps: waitSignal / waitUntil)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import open_and_index

Qt = pytest.importorskip("PySide6.QtCore").Qt

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


@pytest.fixture
def make_window(window_maker):
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice

    def make(checkpoint: Path | None = None):
        spec = None if checkpoint else ModelSpec.parse("xmr-tiny", "random")
        return window_maker(ModelChoice(checkpoint, spec, "cpu", 16))

    return make


@pytest.fixture
def world(tmp_path):
    from xmr_gui.core.demo.world import write_demo

    out = write_demo(tmp_path / "world", 60, seed=3)
    labels = {
        str(out / r["file"]): r["labels"] for r in map(json.loads, (out / "labels.jsonl").read_text().splitlines())
    }
    return out / "images", labels


def test_index_fills_grid_and_text_search_shows_scores(qtbot, make_window, world):
    window = make_window()
    folder, _ = world
    report = open_and_index(qtbot, window, folder)
    assert report.counts()["added"] == 60
    qtbot.waitUntil(lambda: window.search.model.rowCount() == 60, timeout=30_000)
    assert "60 photos" in window.library_label.text()
    with qtbot.waitSignal(window.search_done, timeout=60_000) as found:
        qtbot.keyClicks(window.search.search_box, "a dog in the forest")
        qtbot.keyClick(window.search.search_box, Qt.Key.Key_Return)
    hits = found.args[0]
    assert window.search.model.rowCount() == len(hits) == 60
    assert window.search.model.data(window.search.model.index(0)).startswith(f"{hits[0].score:.3f}")
    window.search.threshold.setValue(int(hits[10].score * 100) + 1)  # the slider filters without a new query
    assert 0 < window.search.model.rowCount() <= 10


def test_reopening_is_instant_and_encodes_nothing(qtbot, make_window, world):
    window = make_window()
    open_and_index(qtbot, window, world[0])
    again = open_and_index(qtbot, window, world[0])
    assert again.encoded == 0 and again.counts()["unchanged"] == 60


def test_cancel_mid_index(qtbot, make_window, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(160):
        Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(folder / f"p{i:03d}.png")
    window = make_window()
    with qtbot.waitSignal(window.indexing_done, timeout=180_000) as done:
        window.open_folder(str(folder))
        qtbot.waitUntil(lambda: window.progress.value() >= 16, timeout=120_000)
        qtbot.keyClick(window, Qt.Key.Key_Escape)  # Esc cancels
    report = done.args[0]
    assert report.cancelled and report.encoded < 160
    assert not window.progress.isVisible()


def test_drop_photo_gives_similar_photos_and_labels(qtbot, make_window, world):
    window = make_window()
    folder, _ = world
    open_and_index(qtbot, window, folder)
    photo = str(folder / "demo_00005.jpg")
    errors = []
    window.error_shown.connect(errors.append)
    with qtbot.waitSignals([window.search_done, window.describe_done], timeout=60_000, raising=False) as both:
        window.handle_drop(photo)
    assert both.signal_triggered, errors
    assert window.search.model.rowCount() == 59  # every other photo, the dropped one left out
    assert len(window.search.describe_panel.labels()) == 10


def test_refused_checkpoint_shows_a_message(qtbot, make_window, tmp_path):
    window = make_window()
    bad = tmp_path / "bad.xmr"
    bad.write_bytes(b"\x80\x04K\x01." * 10)  # a pickle, renamed
    with qtbot.waitSignal(window.error_shown, timeout=30_000) as shown:
        window.open_checkpoint(str(bad))
    assert "not an xmr checkpoint" in shown.args[0]
    assert "not an xmr checkpoint" in window.statusBar().currentMessage()


def test_unreadable_folder_is_an_error_not_a_crash(qtbot, make_window, tmp_path):
    window = make_window()
    with qtbot.waitSignal(window.error_shown, timeout=30_000) as shown:
        window.open_folder(str(tmp_path / "does-not-exist"))
    assert "is not a folder" in shown.args[0]


def test_top_result_carries_the_expected_label_with_the_shipped_checkpoint(qtbot, make_window, world):
    from xmr_gui.core.base.paths import shipped_demo_checkpoint

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    window = make_window(shipped_demo_checkpoint())
    folder, labels = world
    open_and_index(qtbot, window, folder)
    with qtbot.waitSignal(window.search_done, timeout=60_000) as found:
        window.search.search_box.setText("snow and mountains")
        window.search.search_box.returnPressed.emit()
    assert "snow" in labels[found.args[0][0].path]
    with qtbot.waitSignal(window.search_done, timeout=60_000):
        window.search.compare_box.setChecked(True)
    assert window.search.compare_grid.isVisible() and window.search.compare_model.rowCount() > 0


def test_drag_out_is_a_copy_of_file_urls_and_ctrl_c_copies_paths(qtbot, make_window, world):
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtGui import QGuiApplication

    window = make_window()
    folder, _ = world
    open_and_index(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.search.model.rowCount() == 60, timeout=30_000)
    model = window.search.model
    mime = model.mimeData([model.index(0), model.index(1)])
    assert [u.toLocalFile() for u in mime.urls()] == [model.path_at(0), model.path_at(1)]
    assert model.supportedDragActions() == Qt.DropAction.CopyAction  # dragging out never moves a photo
    sel = window.search.grid.view.selectionModel()
    for row in (2, 3):
        sel.select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
    window.search.grid.view.setFocus()
    window.search.grid.copy_selected_paths()
    assert QGuiApplication.clipboard().text().splitlines() == [model.path_at(2), model.path_at(3)]
    assert all(Path(p).exists() for p in QGuiApplication.clipboard().text().splitlines())


def test_model_settings_dialog_changes_device_and_batch_size_only(qtbot):
    import dataclasses

    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice
    from xmr_gui.qt.dialogs import ModelSettingsDialog

    choice = ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), "cpu", 16)
    dialog = ModelSettingsDialog(choice)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("auto")
    dialog.batch.setValue(32)
    assert dialog.chosen() == dataclasses.replace(choice, device="auto", batch_size=32)


def test_model_preparation_is_shown_and_an_int8_fallback_said(qtbot, make_window, world, tmp_path, monkeypatch):
    """The first use of a model (export, quantisation, int8 check) shows each step; a failed check says so."""
    import shutil

    from xmr_gui.core.runtime.clip_onnx import ensure_export, export_dir
    from xmr_gui.core.runtime.int8 import FORCE_FAIL_ENV
    from xmr_gui.core.runtime.spec import ModelSpec

    spec = ModelSpec.parse("xmr-tiny", "random")
    shared = ensure_export(spec)
    cache = tmp_path / "cache"
    shutil.copytree(
        shared, cache / "onnx" / export_dir(spec.identity()).name, ignore=shutil.ignore_patterns("*int8*", ".*")
    )
    monkeypatch.setenv("XMR_CACHE_DIR", str(cache))  # no int8 check made yet here
    monkeypatch.setenv(FORCE_FAIL_ENV, "1")
    window = make_window()
    steps: list[str] = []
    said: list[str] = []
    window.preparation_step.connect(steps.append)
    window.statusBar().messageChanged.connect(said.append)
    open_and_index(qtbot, window, world[0])
    assert any("checking int8 against fp32" in m for m in steps), steps
    summary = window.statusBar().currentMessage()  # with the indexing summary, so it is not overwritten at once
    assert summary.startswith("Indexed: 60 added") and "no int8 recipe agrees with fp32 on this CPU" in summary
    assert "using fp32" in summary and sum("no int8 recipe" in m for m in said) == 1
    assert window.library_label.text().endswith("fp32")


def test_a_clipped_status_message_is_shown_whole_on_hover(window_maker):
    from xmr_gui.core.session import ModelChoice

    window = window_maker(ModelChoice())
    long = "Indexed: 430 added, 0 updated — " + "no int8 recipe agrees with fp32 on this CPU " * 4
    window.statusBar().showMessage(long)
    assert window.statusBar().toolTip() == long
    window.statusBar().clearMessage()
    assert window.statusBar().toolTip() == ""


def test_the_window_opens_within_the_screen(window_maker):
    from PySide6.QtGui import QGuiApplication

    from xmr_gui.core.session import ModelChoice
    from xmr_gui.qt.main_window import TITLE_BAR

    window = window_maker(ModelChoice())
    free = QGuiApplication.primaryScreen().availableGeometry()  # offscreen: 800 × 800, smaller than 1280 × 800
    assert window.width() == min(1280, free.width()) and window.height() == min(800, free.height() - TITLE_BAR)
