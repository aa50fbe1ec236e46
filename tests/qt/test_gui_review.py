"""File → Review labels… on the real window (pytest-qt, offscreen): the dialog lists what `search.review` finds on
two clusters of near-copies with planted keywords, and only the missing keyword the user accepts and confirms is
written, to that photo's sidecar; cancelling the question or the review writes nothing. Real files, no mocks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import open_and_index, photo_cluster

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def files_of(folder: Path) -> dict[str, str]:
    """Every file in the folder (names and contents), to compare before and after."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def reviewed(qtbot, window_maker, tmp_path):
    """A window on 15 photos: 5 near-copies of a cat picture, 4 with the keyword "cat", 5 of a bird, 4 with "bird",
    and 5 of a dog picture keyworded "dog", one of them also "cat" and "Dogs"; File → Review labels… opened and
    reviewed with 4 neighbours. (window, dialog, folder, cats)"""
    from xmr_gui.core.learn.keywords import write_sidecar
    from xmr_gui.core.runtime.spec import Device, ModelSpec
    from xmr_gui.core.session import ModelChoice

    folder = tmp_path / "photos"
    folder.mkdir()
    cats, dogs, birds = (photo_cluster(folder, name, seed, 5) for seed, name in enumerate(("cat", "dog", "bird"), 1))
    for p in cats[:4]:
        write_sidecar(p, ["cat"])
    for p in birds[1:]:
        write_sidecar(p, ["bird"])
    for p in dogs:
        write_sidecar(p, ["dog"])
    write_sidecar(dogs[0], ["cat", "Dogs"])
    window = window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), Device.CPU, 16))
    open_and_index(qtbot, window, folder)
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if "Review" in a.text())
    action.trigger()
    dialog = window.property("review_dialog")
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog._task is None, timeout=60_000)  # the first review, with the default 10
    dialog.neighbours.setValue(4)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog._task is None and "judged by" in dialog.summary.text(), timeout=60_000)
    return window, dialog, folder, cats


def rows(view) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [tuple(view.topLevelItem(n).text(c) for c in range(3)) for n in range(view.topLevelItemCount())]


def test_the_dialog_lists_what_the_core_finds(qtbot, reviewed):
    from PySide6.QtCore import Qt

    window, dialog, folder, cats = reviewed
    want = window.session.review_labels(4)
    for kind, view in dialog.lists.items():
        found = [f for f in want if f.kind == kind]
        assert view.findings == found
        first = [f.subject if kind == "merge" else Path(f.subject).name for f in found]
        assert rows(view) == [(a, f.label, f.why) for a, f in zip(first, found, strict=True)]
    assert {("cat4.jpg", "cat"), ("bird0.jpg", "bird")} <= {r[:2] for r in rows(dialog.missing)}
    assert any(r[:2] == ("dog0.jpg", "cat") for r in rows(dialog.doubtful))
    assert ("dog", "Dogs", "one word written two ways") in rows(dialog.merges)
    assert dialog.tabs.tabText(0) == f"Likely missing ({len(dialog.missing.findings)})"
    assert "open a trained checkpoint" in dialog.summary.text()  # no classifiers to ask: neighbours alone
    # nothing is accepted until the user checks it, so nothing can be written yet
    assert dialog.missing.accepted() == [] and not dialog.write_button.isEnabled()
    item = dialog.missing.topLevelItem(0)
    qtbot.waitUntil(lambda: not item.icon(0).isNull(), timeout=30_000)  # its thumbnail
    for view in (dialog.doubtful, dialog.merges):  # listed for the photo manager: no check box, nothing to write
        assert view.topLevelItem(0).data(0, Qt.ItemDataRole.CheckStateRole) is None
    assert not any(f.kind == "missing" for f in dialog.doubtful.findings + dialog.merges.findings)


def accept(dialog, photo: str, label: str) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    for n in range(dialog.missing.topLevelItemCount()):
        item = dialog.missing.topLevelItem(n)
        if (item.text(0), item.text(1)) == (photo, label):
            item.setCheckState(0, Qt.CheckState.Checked)
            return
    raise AssertionError(f"no missing {label} on {photo}")


def test_writing_an_accepted_finding_writes_exactly_its_sidecar(qtbot, reviewed):
    from PySide6.QtWidgets import QMessageBox

    from xmr_gui.core.learn.keywords import read_labels

    window, dialog, folder, cats = reviewed
    before = files_of(folder)
    accept(dialog, "cat4.jpg", "cat")
    assert [(Path(f.subject).name, f.label) for f in dialog.missing.accepted()] == [("cat4.jpg", "cat")]
    assert dialog.write_button.isEnabled()
    dialog.write_button.click()
    box = dialog.confirm
    assert box is not None and "Add 1 keyword to the XMP sidecars of 1 photo?" in box.text()
    assert files_of(folder) == before  # asking writes nothing
    with (
        qtbot.waitSignal(dialog.written, timeout=30_000) as done,
        qtbot.waitSignal(window.indexing_done, timeout=60_000),
    ):
        box.button(QMessageBox.StandardButton.Yes).click()
    assert done.args == [1]
    after = files_of(folder)
    assert set(after) - set(before) == {"cat4.jpg.xmp"}  # not bird0's, listed but not accepted
    assert {k: v for k, v in after.items() if k in before} == before  # every photo and other sidecar unchanged
    assert read_labels(cats[4]).labels == ["cat"]
    assert dialog.status.text().startswith("1 sidecar written (the photos themselves are unchanged)")
    shown = {r[:2]: r[2] for r in rows(dialog.missing)}
    assert shown[("cat4.jpg", "cat")] == "written to its sidecar" and not dialog.write_button.isEnabled()
    assert shown[("bird0.jpg", "bird")] != "written to its sidecar"
    # the window re-indexed: the library knows the new keyword, so a new review no longer lists it
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog._task is None and "judged by" in dialog.summary.text(), timeout=60_000)
    assert ("cat4.jpg", "cat") not in [r[:2] for r in rows(dialog.missing)]


def test_cancelling_the_question_writes_nothing(qtbot, reviewed):
    from PySide6.QtWidgets import QMessageBox

    window, dialog, folder, cats = reviewed
    before = files_of(folder)
    dialog.missing.set_all_checked(True)
    assert dialog.missing.accepted() == dialog.missing.findings
    dialog.write_button.click()
    dialog.confirm.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert dialog.status.text() == "Nothing was written." and dialog.confirm is None
    assert files_of(folder) == before


def test_cancelling_the_review_writes_nothing_and_says_so(qtbot, reviewed):
    window, dialog, folder, cats = reviewed
    before = files_of(folder)
    with window.session._lock:  # the review waits for the session, so Cancel lands before it judges a photo
        dialog.run_button.click()
        assert dialog.cancel_button.isVisible() and dialog.progress.isVisible()
        dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog._task is None, timeout=60_000)
    assert dialog.summary.text() == "Review stopped." and "nothing was written" in dialog.status.text()
    assert all(view.topLevelItemCount() == 0 for view in dialog.lists.values())
    assert "review stopped" in window.statusBar().currentMessage()
    assert files_of(folder) == before and not dialog.write_button.isEnabled()


def test_closing_the_dialog_stops_the_review_and_without_a_folder_it_says_what_to_do(qtbot, reviewed, window_maker):
    from xmr_gui.core.runtime.spec import Device, ModelSpec
    from xmr_gui.core.session import ModelChoice
    from xmr_gui.qt.review_dialog import open_review

    window, dialog, folder, cats = reviewed
    before = files_of(folder)
    with window.session._lock:
        dialog.run_button.click()
        dialog.close()  # Close (or Esc) while it runs
    qtbot.waitUntil(lambda: dialog._task is None, timeout=60_000)
    assert dialog.summary.text() == "Review stopped." and files_of(folder) == before
    empty = window_maker(ModelChoice(None, ModelSpec.parse("xmr-tiny", "random"), Device.CPU, 16))
    assert open_review(empty) is None and "Open a folder first" in empty.statusBar().currentMessage()


def test_a_sidecar_that_cannot_be_written_is_named_and_the_others_are_written(qtbot, reviewed):
    from PySide6.QtWidgets import QMessageBox

    from xmr_gui.core.learn.keywords import read_labels

    window, dialog, folder, cats = reviewed
    blocked = folder / "cat4.jpg.xmp"
    blocked.mkdir()  # where cat4's sidecar would go: the write fails as on a read-only folder (even as root)
    accept(dialog, "cat4.jpg", "cat")
    accept(dialog, "bird0.jpg", "bird")
    dialog.write_button.click()
    assert "Add 2 keywords to the XMP sidecars of 2 photos?" in dialog.confirm.text()
    with qtbot.waitSignal(dialog.written, timeout=30_000) as done:
        dialog.confirm.button(QMessageBox.StandardButton.Yes).click()
    assert done.args == [1] and read_labels(folder / "bird0.jpg").labels == ["bird"]
    line = dialog.status.text()
    assert line.startswith("⚠ 1 sidecar written") and "1 not written: " in line and str(blocked) in line
    shown = {r[:2]: r[2] for r in rows(dialog.missing)}
    assert shown[("bird0.jpg", "bird")] == "written to its sidecar"
    assert shown[("cat4.jpg", "cat")] != "written to its sidecar"  # still checked: the user can fix it and retry
    assert dialog.write_button.isEnabled() and list(blocked.iterdir()) == []
    qtbot.waitUntil(lambda: window._index_task is None, timeout=60_000)
