"""qt/settings.py: what the window remembers, typed, read from and written to the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def store(path: Path):
    from PySide6.QtCore import QSettings

    return QSettings(str(path), QSettings.Format.IniFormat)


def test_settings_round_trip_through_the_file(tmp_path):
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.qt.settings import WindowSettings

    first = WindowSettings.load(store(tmp_path / "s.ini"))
    assert first == WindowSettings()  # an empty file: nothing chosen
    first.add_recent_folder("/photos/a")
    first.add_recent_folder("/photos/b")
    first.add_recent_folder("/photos/a")  # to the front, not twice
    first.add_checkpoint(tmp_path / "m.xmr")
    first.choose_device("cpu", 16)
    first.store.sync()
    again = WindowSettings.load(store(tmp_path / "s.ini"))
    assert again == first
    assert again.recent_folders == ["/photos/a", "/photos/b"] and again.checkpoint == tmp_path / "m.xmr"
    spec = ModelSpec.parse("xmr-tiny", "random")
    again.choose_model(None, spec)  # a model from the menu: the checkpoint is forgotten as the choice
    again.store.sync()
    last = WindowSettings.load(store(tmp_path / "s.ini"))
    assert (last.checkpoint, last.model, last.checkpoints) == (None, spec, [tmp_path / "m.xmr"])


def test_a_file_from_the_window_before_reads_and_bad_values_count_as_unset(tmp_path):
    from xmr_gui.core.base.defaults import BATCH_SIZE
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.qt.settings import WindowSettings

    spec = ModelSpec.parse("xmr-tiny", "random")
    old = store(tmp_path / "s.ini")
    old.setValue("recent_folders", ["/only/one"])  # a one-item list comes back as a str from an .ini
    old.setValue("model", spec.to_json())
    old.setValue("device", "cpu")
    old.setValue("batch_size", 8)
    old.sync()
    read = WindowSettings.load(store(tmp_path / "s.ini"))
    assert (read.recent_folders, read.model, read.device, read.batch_size) == (["/only/one"], spec, "cpu", 8)
    assert read.choice().spec == spec and read.choice().batch_size == 8

    old.setValue("model", '{"weights": "random"}')  # no model: another version's
    old.setValue("batch_size", "many")
    old.setValue("checkpoint", str(tmp_path / "gone.xmr"))
    old.sync()
    read = WindowSettings.load(store(tmp_path / "s.ini"))
    choice = read.choice()
    assert read.model is None and read.batch_size is None
    assert choice.automatic and choice.batch_size == BATCH_SIZE and choice.device == "cpu"  # gone.xmr passed over
    (tmp_path / "here.xmr").write_bytes(b"")
    assert read.choice(str(tmp_path / "here.xmr")).checkpoint == tmp_path / "here.xmr"  # --checkpoint wins


def test_no_other_window_module_reads_or_writes_a_settings_key():
    import re

    from xmr_gui.qt import settings

    by_key = re.compile(r"""\.(value|setValue)\(\s*["']|QSettings\(""")
    for module in Path(settings.__file__).parent.glob("*.py"):
        if module.name != "settings.py":
            assert not by_key.search(module.read_text(encoding="utf-8")), module.name
