"""The window's search box takes the query syntax (issue #26 item 6): filters say how many photos match, keyword
hits are marked, filter values complete from the library."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import exif_photo
from xmr_gui.core.runtime.spec import Device, ModelSpec
from xmr_gui.core.session import ModelChoice

pytestmark = pytest.mark.gui


@pytest.fixture
def window(window_maker, qtbot, tmp_path):
    from xmr_gui.core.learn.keywords import write_sidecar

    folder = tmp_path / "photos"
    exif_photo(folder / "2023" / "beach.jpg", 1, "2023:08:02 10:00:00", ("Google", "Pixel 7"))
    exif_photo(folder / "2024" / "pool.jpg", 2, "2024:07:14 18:03:00", ("Canon", "Canon EOS 5D"))
    exif_photo(folder / "2024" / "snow.jpg", 3, "2024:01:20 09:00:00", ("Google", "Pixel 7"))
    write_sidecar(folder / "2024" / "pool.jpg", ["Grandma"])
    w = window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), Device.CPU, 16))
    with qtbot.waitSignal(w.indexing_done, timeout=180_000):
        w.open_folder(str(folder))
    return w


def search(qtbot, window, text):
    box = window.search.search_box
    box.clear()
    with qtbot.waitSignal(window.search_done, timeout=60_000) as found:
        qtbot.keyClicks(box, text)
        qtbot.keyClick(box, Qt.Key.Key_Return)
    return found.args[0]


def test_filters_in_the_search_box(qtbot, window):
    hits = search(qtbot, window, "a photo camera:pixel")
    assert sorted(h.path.rsplit("/", 1)[1] for h in hits) == ["beach.jpg", "snow.jpg"]
    assert "2 of 3 photos match the filters" in window.statusBar().currentMessage()
    hits = search(qtbot, window, "after:2024")
    model = window.search.model
    assert [h.path.rsplit("/", 1)[1] for h in hits] == ["pool.jpg", "snow.jpg"]
    assert model.data(model.index(0)) == "2024-07-14  pool.jpg"  # a filters-only list shows dates, newest first


def test_a_path_that_is_no_file_is_said(qtbot, window, tmp_path):
    search(qtbot, window, f"a beach - {tmp_path}/nope.jpg")
    assert f"{tmp_path}/nope.jpg is not a file: searched as text" in window.statusBar().currentMessage()


def test_keyword_hits_are_marked(qtbot, window):
    hits = search(qtbot, window, "grandma")
    model = window.search.model
    assert hits[0].by_keyword and model.data(model.index(0)) == "keyword  pool.jpg"
    assert "1 carry the query as a keyword" in window.statusBar().currentMessage()


def test_a_bad_filter_is_one_line(qtbot, window):
    window.search.search_box.setText("a beach before:2020-13-01")
    window.search.search()
    qtbot.waitUntil(lambda: "before:2020-13-01 is not a date" in window.statusBar().currentMessage(), timeout=30_000)
    assert "Traceback" not in window.statusBar().currentMessage()


def test_filter_values_complete_from_the_library(qtbot, window):
    completer = window.search.completer
    qtbot.waitUntil(lambda: 'camera:"Google Pixel 7"' in completer.model().stringList(), timeout=30_000)
    entries = completer.model().stringList()
    assert "keyword:Grandma" in entries and "folder:2024" in entries and 'camera:"Canon EOS 5D"' in entries
    box = window.search.search_box
    box.setFocus()
    qtbot.keyClicks(box, "a cake keyw")
    assert completer.completionPrefix() == "keyw" and completer.completionCount() == 1
    popup = completer.popup()
    popup.setCurrentIndex(completer.completionModel().index(0, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # the person picks the completion
    assert box.text() == "a cake keyword:Grandma "


def test_near_duplicates_side_by_side(qtbot, window_maker, tmp_path):
    """File → Find near-duplicates: the groups in a dialog, one row each, the photo to keep first."""
    import shutil

    from PySide6.QtGui import QGuiApplication

    folder = tmp_path / "photos"
    for seed in range(4):
        exif_photo(folder / f"p{seed}.jpg", seed, size=(96, 72))
    shutil.copy(folder / "p1.jpg", folder / "p1 copy.jpg")
    w = window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), Device.CPU, 16))
    with qtbot.waitSignal(w.indexing_done, timeout=180_000):
        w.open_folder(str(folder))
    action = next(a for a in w.menuBar().actions()[0].menu().actions() if "near-duplicates" in a.text())
    action.trigger()
    qtbot.waitUntil(lambda: w.property("duplicates_dialog") is not None, timeout=60_000)
    dialog = w.property("duplicates_dialog")
    qtbot.addWidget(dialog)
    assert len(dialog.grids) == 1 and "1 groups, 1 copies" in dialog.summary.text()
    model = dialog.grids[0].model
    assert sorted(model.path_at(r).rsplit("/", 1)[1] for r in range(model.rowCount())) == ["p1 copy.jpg", "p1.jpg"]
    dialog.grids[0].view.selectAll()
    dialog.grids[0].copy_selected_paths()
    assert QGuiApplication.clipboard().text().count(str(folder)) == 2
    assert (
        "Near-duplicates" in w.statusBar().currentMessage()
        or "groups of near-duplicates" in w.statusBar().currentMessage()
    )


def test_the_slider_cuts_both_sides_of_a_comparison_by_cosine(qtbot, window):
    """A label query's score adds the labelled photos' vote (it may pass 1): the "min cosine" slider compares the
    cosine on the raw side and the checkpoint's side alike, and a hit's tooltip shows both numbers."""
    from xmr_gui.core.search.photos import Hit

    tab = window.search
    paths = sorted(h.path for h in search(qtbot, window, "a photo"))
    raw = [Hit(0.6, paths[0]), Hit(0.2, paths[1])]
    learned = [Hit(1.1, paths[2], cosine=0.3), Hit(0.7, paths[0], cosine=0.55)]  # voted: score = cosine + vote
    tab._show_compare((raw, learned))
    assert tab.compare_model.rowCount() == 2 and tab.model.rowCount() == 2
    tip = tab.compare_model.data(tab.compare_model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "score 1.1000 (cosine 0.3000 + the labelled training photos' vote)" in tip
    tab.threshold.setValue(50)
    assert [tab.model.path_at(r) for r in range(tab.model.rowCount())] == [paths[0]]
    assert [tab.compare_model.path_at(r) for r in range(tab.compare_model.rowCount())] == [paths[0]]
    assert "cosine ≥ 0.50" in tab.count_label.text()
