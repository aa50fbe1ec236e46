"""The window tells the truth about its model (issue #17): the Model menu, the status bar, the switch with its
re-indexing, the hint for a query outside what the model knows, the demo checkpoint's warning on real photos, and
a CLIP model's download dialog (against the loopback hub of test_hub.py). Real widgets, offscreen, real core."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
skimage = pytest.importorskip("skimage")

from conftest import open_and_index  # noqa: E402
from loopback_hub import MODEL as HUB_MODEL  # noqa: E402 - the loopback hub's model and its fixtures, reused

pytestmark = pytest.mark.gui

PHOTOS = ("chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_right.png")


@pytest.fixture
def make_window(window_maker):
    from xmr_gui.core.session import ModelChoice

    return lambda spec=None, checkpoint=None: window_maker(ModelChoice(checkpoint, spec, "cpu", 16))


@pytest.fixture
def real_photos(tmp_path):
    """A few of scikit-image's sample photographs (public domain / CC0), copied from the installed package."""
    data = Path(skimage.data.data_dir)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        if (data / name).is_file():
            shutil.copyfile(data / name, folder / name)
    return folder


def tiny():
    from xmr_gui.core.runtime.spec import ModelSpec

    return ModelSpec.parse("xmr-tiny", "random")


def offer_named(window, start: str):
    window.refresh_model_menu()
    for offer in window.model_entries.offers:
        if offer.title.startswith(start):
            return offer
    raise AssertionError(f"no {start!r} in {window.model_entries.texts()}")


def switch(qtbot, window, offer):
    errors: list[str] = []
    window.error_shown.connect(errors.append)
    with qtbot.waitSignal(window.indexing_done, timeout=300_000) as done:
        window.choose_model(offer)
    assert not errors, errors
    return done.args[0]


def search(qtbot, window, query):
    with qtbot.waitSignal(window.search.hint_done, timeout=180_000) as hinted:
        window.search.search_for(query)
    return hinted.args[0]


def test_the_model_menu_lists_each_model_with_what_it_knows(qtbot, make_window):
    from xmr_gui.core.base.paths import shipped_demo_checkpoint

    window = make_window(tiny())
    window.refresh_model_menu()
    texts = window.model_entries.texts()
    assert texts[0].startswith("Automatic")
    offline = next(t for t in texts if t.startswith("imagenet-minilm (lite0, offline)"))
    assert "knows ImageNet's 1,000 object classes" in offline
    clip = next(t for t in texts if t.startswith("ViT-B-32 ("))
    assert "download 605 MB" in clip or "download" not in clip  # cached on this machine, or a download away
    if shipped_demo_checkpoint() is not None:
        demo = next(t for t in texts if t.startswith("Demo-world model"))
        assert "24 drawn labels" in demo
    action = window.model_entries.actions[texts.index(offline)]
    assert "ImageNet" in action.toolTip() and action.statusTip() == action.toolTip()
    assert [a.isChecked() for a in window.model_entries.actions].count(True) == 0  # xmr-tiny is not on offer
    assert window.model_label.text() == "Model: xmr-tiny (random)"


def test_switching_to_the_offline_model_reindexes_names_it_and_hints_outside_its_vocabulary(
    qtbot, make_window, real_photos
):
    window = make_window(tiny())
    first = open_and_index(qtbot, window, real_photos)
    assert first.counts()["added"] == len(PHOTOS)
    assert search(qtbot, window, "tax form") is None  # a random model knows nothing in particular: no hint
    offline = offer_named(window, "imagenet-minilm (lite0")
    report = switch(qtbot, window, offline)
    assert report.encoded == len(PHOTOS) and not report.cancelled  # every photo re-encoded for the new model
    assert window.model_label.text() == "Model: imagenet-minilm (lite0)"
    assert "imagenet-minilm" in window.settings.value("model")  # remembered for the next start
    window.refresh_model_menu()
    assert window.model_entries.checked() == offline

    hint = search(qtbot, window, "tax form")
    assert hint is not None and "far from everything this model knows" in hint and "nearest:" in hint
    assert window.search.hint_label.isVisible() and "nearest:" in window.search.hint_label.text()
    assert search(qtbot, window, "a cat") is None
    assert not window.search.hint_label.isVisible()  # cleared by the next search
    assert Path(window.search.model.path_at(0)).name == "chelsea.png"


def test_the_demo_checkpoint_on_real_photos_shows_a_warning(qtbot, make_window, real_photos):
    from xmr_gui.core.base.paths import shipped_demo_checkpoint

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    window = make_window(tiny())
    open_and_index(qtbot, window, real_photos)
    assert not window.banner.isVisible()
    switch(qtbot, window, offer_named(window, "Demo-world model"))
    assert window.banner.isVisible() and window.banner_warning
    assert "the demo checkpoint knows only the demo world's 24 drawn labels" in window.banner_label.text()
    assert window.model_label.text().startswith("Model: checkpoint xmr-demo.xmr")


def test_automatic_is_the_default_and_gives_a_real_folder_a_real_model(qtbot, tmp_path, real_photos, monkeypatch):
    """No --checkpoint and nothing chosen before: automatic (not the demo checkpoint), which on real photos is a
    cached CLIP model or the offline one, with the way to a better model shown."""
    import argparse

    from PySide6.QtCore import QSettings

    from xmr_gui.qt.app import _choice

    monkeypatch.setenv("XMR_GUI_NO_DIALOGS", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no CLIP model cached: the offline model
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    choice = _choice(argparse.Namespace(checkpoint=None), settings)
    assert choice.automatic
    from xmr_gui.core.session import Session
    from xmr_gui.qt.main_window import MainWindow

    session = Session(choice)
    window = MainWindow(session, settings)
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.model_label.text() == "Model: automatic (chosen per folder)"
        open_and_index(qtbot, window, real_photos)
        assert window.model_label.text() == "Model: imagenet-minilm (lite0)"
        assert window.banner.isVisible() and not window.banner_warning and "CLIP" in window.banner_label.text()
    finally:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone()
        window.thumbs.wait()
        session.close()


def _hub_offer():
    from xmr_gui.core.models import Offer
    from xmr_gui.core.runtime.spec import ModelSpec

    return Offer(
        f"{HUB_MODEL} (main), download 1 MB", "any words (CLIP)", ModelSpec.parse(HUB_MODEL, "main"), None, False, 1
    )


@pytest.mark.usefixtures("hub")
def test_a_clip_download_shows_its_size_and_progress_then_indexes(qtbot, make_window, real_photos):
    window = make_window(tiny())
    open_and_index(qtbot, window, real_photos)
    shown, seen = [], []
    window.download_shown.connect(lambda dialog: shown.append(dialog.labelText()))
    window.download_bytes.connect(lambda done, total: seen.append((done, total)))
    report = switch(qtbot, window, _hub_offer())
    assert len(shown) == 1 and shown[0].startswith(f"Downloading {HUB_MODEL} (main), 1 MB"), shown
    assert seen and seen[-1][0] == seen[-1][1] > 0  # bytes told up to the whole size
    assert window.download is None  # closed once the bytes were in
    label = window.model_label.text()  # " int8" after it where the int8 check passed
    assert label.startswith(f"Model: {HUB_MODEL} (main)"), window.statusBar().currentMessage()
    assert report.encoded == len(PHOTOS), report


@pytest.mark.usefixtures("hub")
def test_cancelling_a_download_keeps_the_window_on_its_model(qtbot, make_window, real_photos):
    window = make_window(tiny())
    open_and_index(qtbot, window, real_photos)
    window.download_shown.connect(lambda dialog: dialog.canceled.emit())  # its Cancel button, at once
    errors: list[str] = []
    window.error_shown.connect(errors.append)
    with qtbot.waitSignal(window.indexing_done, timeout=300_000) as done:  # back on the model before
        window.choose_model(_hub_offer())
    assert not errors, errors  # a cancel is no error to warn about
    assert done.args[0].encoded == 0  # the folder re-opened with its model: nothing to encode
    assert window.model_label.text().startswith("Model: xmr-tiny (random)")  # fp32, or int8 where it passed
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.session.library is not None and window.download is None


def test_the_model_card_says_which_photos_its_numbers_are_on():
    """A checkpoint trained on keywords keeps no test photos: its card's numbers are on validation and say so."""
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.qt.dialogs import model_card_html

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    ckpt = Checkpoint.load(shipped_demo_checkpoint())
    assert "measured on the test photos:" in model_card_html(ckpt)
    ckpt.card["metrics"]["report_split"] = "val"
    assert "measured on the validation photos:<br>map_i2t" in model_card_html(ckpt)
