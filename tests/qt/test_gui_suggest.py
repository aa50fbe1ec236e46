"""The describe panel's suggestions on the real window (pytest-qt, offscreen): a photo's own keywords, the shipped demo
checkpoint's suggestions as check boxes with their scores and the graph neighbours that lifted them, and "Add checked
labels to sidecar" writing them to the photo's XMP sidecar, never the photo; real files, no mocks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
XMP = "http://ns.adobe.com/xap/1.0/"
SIDECAR = (
    f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
    f'<rdf:Description rdf:about="" xmlns:dc="{DC}" xmlns:xmp="{XMP}">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title>'
    "<xmp:Rating>4</xmp:Rating>"
    "<dc:subject><rdf:Bag><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.fixture
def demo(demo_world_window):
    window, world = demo_world_window(16, seed=5)
    return window, world / "images"


def pick(qtbot, window, photo: Path):  # type: ignore[no-untyped-def]
    """Pick `photo` as the grid does; the panel once it shows its labels."""
    with qtbot.waitSignal(window.describe_done, timeout=60_000):
        window.search.describe(str(photo))
    return window.search.describe_panel


def add_checked(qtbot, window) -> str:  # type: ignore[no-untyped-def]
    """Click the panel's add button; the one line it reports."""
    from PySide6.QtCore import Qt

    panel = window.search.describe_panel
    assert panel.add_button.isVisible() and panel.add_button.isEnabled()
    with qtbot.waitSignal(window.search.labels_added, timeout=30_000) as done:
        qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    line: str = done.args[0]
    return line


def test_suggestions_are_added_to_a_new_sidecar_never_to_the_photo(qtbot, demo):
    from PySide6.QtCore import Qt

    from xmr_gui.core.learn.keywords import read_labels
    from xmr_gui.core.search.suggest import suggest

    window, images = demo
    photo = images / "demo_00003.jpg"
    before = photo.read_bytes()
    panel = pick(qtbot, window, photo)
    assert panel.keywords.isVisible() and panel.keywords.text() == "Keywords: no labels"
    rows = [panel.table.topLevelItem(i) for i in range(panel.table.topLevelItemCount())]
    assert len(rows) == 10 and not panel.table.isColumnHidden(2)
    scores = [float(panel.table.itemWidget(r, 1).format()) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert any(r.text(2) for r in rows)  # the demo checkpoint has a GCN: some label was lifted by its neighbours
    # checked: exactly what `xmr suggest` would write (the core's suggestions at its default --min-score 0.5)
    expected = [s.label for s in suggest(window.session.library, photo, 10, 0.5)]
    assert expected and panel.checked_labels() == expected
    # the shipped checkpoint has no per-label thresholds: the one box, and the panel says so
    assert panel.min_score.override() == 0.5 and panel.min_score.text() == "check ≥ 0.50"
    assert "no calibrated threshold" in panel.rule.text()
    assert [r.text(0) for r in rows if r.checkState(0) == Qt.CheckState.Checked] == expected
    panel.min_score.setValue(0.0)  # the panel's own threshold re-checks the rows
    assert len(panel.checked_labels()) == 10
    panel.min_score.setValue(0.5)
    assert panel.checked_labels() == expected

    line = add_checked(qtbot, window)
    sidecar = images / "demo_00003.jpg.xmp"
    assert sidecar.is_file() and "demo_00003.jpg.xmp" in line and "\n" not in line
    assert panel.status.text() == line and window.statusBar().currentMessage() == line
    assert photo.read_bytes() == before
    assert read_labels(photo).labels == expected
    assert panel.keywords.text() == "Keywords: " + ", ".join(expected)
    assert panel.checked_labels() == []  # all of them are keywords now: nothing left to add
    kept = [r for r in rows if r.text(0) in expected]
    assert all(r.checkState(0) == Qt.CheckState.Checked and not r.flags() & Qt.ItemFlag.ItemIsEnabled for r in kept)
    assert not panel.add_button.isEnabled()


def test_an_existing_sidecar_keeps_its_other_fields_and_keywords(qtbot, demo):
    from PySide6.QtCore import Qt

    from xmr_gui.core.learn.keywords import read_labels

    window, images = demo
    photo = images / "demo_00007.jpg"
    sidecar = images / "demo_00007.xmp"  # Lightroom's name: the one that exists is written
    sidecar.write_text(SIDECAR, encoding="utf-8")
    panel = pick(qtbot, window, photo)
    assert panel.keywords.text() == "Keywords: holiday"
    # the user's choice: only the last suggestion, whatever its score
    for i in range(panel.table.topLevelItemCount()):
        item = panel.table.topLevelItem(i)
        item.setCheckState(0, Qt.CheckState.Checked if i == 9 else Qt.CheckState.Unchecked)
    chosen = panel.table.topLevelItem(9).text(0)
    assert panel.checked_labels() == [chosen]

    line = add_checked(qtbot, window)
    assert "demo_00007.xmp" in line and not (images / "demo_00007.jpg.xmp").exists()
    assert read_labels(photo).labels == ["holiday", chosen]
    assert panel.keywords.text() == f"Keywords: holiday, {chosen}"
    root = ET.parse(sidecar).getroot()
    titles = [li.text for title in root.iter(f"{{{DC}}}title") for li in title.iter(f"{{{RDF}}}li")]
    assert titles == ["Harbour at dawn"]
    assert [r.text for r in root.iter(f"{{{XMP}}}Rating")] == ["4"]


def test_a_corrupt_sidecar_is_left_as_it_is_with_one_line(qtbot, demo):
    from xmr_gui.core.learn.keywords import read_labels

    window, images = demo
    photo = images / "demo_00001.jpg"
    sidecar = images / "demo_00001.jpg.xmp"
    sidecar.write_bytes(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF')  # cut off mid-write
    before = photo.read_bytes(), sidecar.read_bytes()
    errors: list[str] = []
    window.error_shown.connect(errors.append)
    panel = pick(qtbot, window, photo)
    assert panel.keywords.text().startswith("Keywords: no labels\n⚠ sidecar demo_00001.jpg.xmp skipped: not XML")
    assert panel.checked_labels()  # still unlabelled: the checkpoint suggests

    line = add_checked(qtbot, window)
    assert line.startswith("Not added: ") and "left as it is: not XML" in line and str(sidecar) in line
    assert "\n" not in line and "Traceback" not in line
    assert panel.status.text() == "⚠ " + line and window.statusBar().currentMessage() == line
    assert not errors  # a line in the panel and the status bar, not a message box
    assert (photo.read_bytes(), sidecar.read_bytes()) == before
    assert read_labels(photo).labels == []
    assert panel.add_button.isEnabled()  # the user can fix the sidecar and try again


def test_a_sidecar_that_cannot_be_written_is_one_line_naming_it(qtbot, demo):
    window, images = demo
    photo = images / "demo_00002.jpg"
    blocked = images / "demo_00002.jpg.xmp"
    blocked.mkdir()  # a folder where the sidecar would go: the write fails as on a read-only folder (even as root)
    panel = pick(qtbot, window, photo)
    line = add_checked(qtbot, window)
    assert line.startswith("Not added: ") and str(blocked) in line and ".tmp" not in line and "\n" not in line
    assert panel.status.text() == "⚠ " + line
    assert not [p for p in images.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind
    assert list(blocked.iterdir()) == []


def test_without_a_checkpoint_the_panel_only_describes(qtbot, window_maker, tmp_path):
    from PySide6.QtCore import Qt

    from conftest import write_photos
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.session import ModelChoice

    folder = tmp_path / "photos"
    photos = write_photos(folder, 6)
    window = window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), "cpu", 16))
    with qtbot.waitSignal(window.indexing_done, timeout=180_000):
        window.open_folder(str(folder))
    panel = pick(qtbot, window, photos[0])
    assert len(panel.labels()) == 10
    assert not panel.keywords.isVisible() and not panel.min_score.isVisible()
    assert panel.add_button.isVisible() and not panel.add_button.isEnabled()
    assert "trained checkpoint" in panel.add_button.toolTip()
    item = panel.table.topLevelItem(0)
    assert item.data(0, Qt.ItemDataRole.CheckStateRole) is None  # no check boxes
    assert panel.checked_labels() == [] and not list(folder.glob("*.xmp"))


def test_a_photos_labels_arriving_after_the_next_photo_was_picked_are_dropped(qtbot, demo):
    window, images = demo
    first, second = images / "demo_00001.jpg", images / "demo_00002.jpg"
    rows = window.session.describe(first, 10)
    panel = pick(qtbot, window, second)
    window.search._show_description(str(first), rows, None, None)  # the first pick's answer, late
    assert panel.path == str(second) and panel.caption.text() == "demo_00002.jpg"


def calibrated_copy(tmp_path: Path, overall: float = 0.3, per_label: bool = True) -> tuple[Path, list[float]]:
    """The shipped demo checkpoint (trained before calibrated thresholds) with thresholds in its card as `xmr train`
    writes them: `overall` for every label, and per label (served by default; left out when not `per_label`) 0 for
    every other label (always suggested), 0.999 for the rest (hardly ever)."""
    from safetensors.numpy import load_file

    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.learn.checkpoint import save_checkpoint
    from xmr_gui.core.runtime.card import read_card

    shipped = shipped_demo_checkpoint()
    if shipped is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    card = dict(read_card(shipped))
    cuts = [0.0 if c % 2 == 0 else 0.999 for c in range(len(card["labels"]))]
    card["suggest"] = {
        "cache_weight": 0.0,
        "cache_beta": 1.0,
        "thresholds_version": 2,
        "global_threshold": overall,
        "pseudo_count": 8.0,
        "precision_target": 0.7,
    }
    if per_label:
        card["suggest"]["thresholds"] = cuts
    out = tmp_path / "calibrated.xmr"
    save_checkpoint(out, load_file(str(shipped)), card)  # type: ignore[arg-type]
    return out, cuts


def open_calibrated(qtbot, window_maker, tmp_path, per_label: bool):  # type: ignore[no-untyped-def]
    """A window on a drawn world with `calibrated_copy`; (window, the picked photo, its panel, cuts, shown scores)."""
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.session import ModelChoice

    ckpt, cuts = calibrated_copy(tmp_path, per_label=per_label)
    images = write_demo(tmp_path / "world", 16, seed=5) / "images"
    window = window_maker(ModelChoice(ckpt, None, "cpu", 16))
    with qtbot.waitSignal(window.indexing_done, timeout=180_000):
        window.open_folder(str(images))
    photo = images / "demo_00003.jpg"
    panel = pick(qtbot, window, photo)
    bars = [panel.table.itemWidget(panel.table.topLevelItem(i), 1) for i in range(10)]
    shown = {label: float(bar.format()) for label, bar in zip(panel.labels(), bars, strict=True)}
    return window, photo, panel, cuts, shown


def test_a_checkpoint_with_calibrated_thresholds_checks_by_each_labels_own(qtbot, window_maker, tmp_path):
    """The default since they are shrunk toward one for every label (bench/RESULTS.md, "Suggestion thresholds on
    eight splits"): each label's own checks its row, as `xmr suggest` keeps them."""
    from xmr_gui.core.search.suggest import suggest
    from xmr_gui.qt.widgets import CALIBRATED, PER_LABEL

    window, photo, panel, cuts, shown = open_calibrated(qtbot, window_maker, tmp_path, per_label=True)
    labels = window.session.library.space.labels
    own = [label for label, score in shown.items() if score >= cuts[labels.index(label)]]
    calibrated = [label for label, score in shown.items() if score >= 0.3]
    by_half = [label for label, score in shown.items() if score >= 0.5]
    assert len({tuple(own), tuple(calibrated), tuple(by_half)}) == 3  # else this photo could not tell them apart
    assert panel.min_score.text() == PER_LABEL and panel.min_score.override() is None
    assert "Checked from each label's own threshold" in panel.rule.text()
    assert panel.rule.isVisible() and panel.checked_labels() == own
    # `xmr suggest` (no --min-score) suggests the same among the ten shown; --thresholds global the one for all
    assert own == [s.label for s in suggest(window.session.library, photo, len(labels)) if s.label in shown]
    overall = suggest(window.session.library, photo, len(labels), thresholds="global")
    assert calibrated == [s.label for s in overall if s.label in shown]
    for i, label in enumerate(panel.labels()):
        assert f"{label}'s own threshold: {cuts[labels.index(label)]:.3f}" in panel.table.topLevelItem(i).toolTip(1)
    assert CALIBRATED.format(0.3) != panel.min_score.text()

    panel.min_score.stepBy(1)  # the user overrides: one threshold for every label, from the usual 0.5
    assert panel.min_score.override() == 0.5 and panel.checked_labels() == by_half
    assert "for every label (your choice); step below 0.00 for each label's own" in panel.rule.text()
    panel.min_score.stepBy(-20)  # down past 0.00: each label's own again
    assert panel.min_score.text() == PER_LABEL and panel.checked_labels() == own

    # Review labels… asks the same checkpoint's classifiers, and says so (the drawn world has no keywords to review)
    from xmr_gui.qt.review_dialog import open_review

    dialog = open_review(window)
    qtbot.waitUntil(lambda: dialog._task is None and "judged by" in dialog.summary.text(), timeout=60_000)
    assert "the classifiers of calibrated.xmr" in dialog.summary.text()


def test_a_checkpoint_with_one_calibrated_threshold_checks_by_it(qtbot, window_maker, tmp_path):
    from xmr_gui.core.search.suggest import suggest
    from xmr_gui.qt.widgets import CALIBRATED

    window, photo, panel, _, shown = open_calibrated(qtbot, window_maker, tmp_path, per_label=False)
    labels = window.session.library.space.labels
    calibrated = [label for label, score in shown.items() if score >= 0.3]
    by_half = [label for label, score in shown.items() if score >= 0.5]
    assert calibrated != by_half
    assert panel.min_score.text() == CALIBRATED.format(0.3) and panel.min_score.override() is None
    assert "Checked from 0.30 for every label, the threshold calibrated" in panel.rule.text()
    assert panel.rule.isVisible() and panel.checked_labels() == calibrated
    assert calibrated == [s.label for s in suggest(window.session.library, photo, len(labels)) if s.label in shown]
    for i in range(len(panel.labels())):
        assert "the threshold for every label: 0.300" in panel.table.topLevelItem(i).toolTip(1)
    panel.min_score.stepBy(1)
    assert panel.min_score.override() == 0.5 and panel.checked_labels() == by_half
    assert "for every label (your choice); step below 0.00 for the calibrated one" in panel.rule.text()
    panel.min_score.stepBy(-20)
    assert panel.min_score.text() == CALIBRATED.format(0.3) and panel.checked_labels() == calibrated


def test_the_status_bar_says_how_a_label_query_was_answered(qtbot, demo):
    """As `xmr search` does (label_query.explain): a query that is one of the checkpoint's labels says so."""
    from PySide6.QtCore import Qt

    window, _ = demo
    box = window.search.search_box
    for query, said in (("umbrellas", "answered as the label 'umbrella': its classifier"), ("a quiet afternoon", None)):
        box.clear()
        with qtbot.waitSignal(window.search_done, timeout=60_000):
            qtbot.keyClicks(box, query)
            qtbot.keyClick(box, Qt.Key.Key_Return)
        status = window.statusBar().currentMessage()
        assert (said in status) if said else ("answered" not in status), status
