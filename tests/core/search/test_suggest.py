"""search/suggest.py without a window: which photos have no labels (what could not be read reported, not raised),
and adding labels naming the sidecar when it cannot be written; real files, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import small_photo
from xmr_gui.core.search.suggest import add_to_sidecar, unlabelled_photos


def photo(path: Path) -> Path:
    return small_photo(path)  # one flat colour


def test_unlabelled_photos_lists_those_without_keywords_and_reports_what_it_could_not_read(tmp_path):
    labelled = photo(tmp_path / "a.jpg")
    add_to_sidecar(labelled, ["cat"])
    bare = photo(tmp_path / "sub" / "b.jpg")
    corrupt = photo(tmp_path / "sub" / "c.jpg")
    (tmp_path / "sub" / "c.jpg.xmp").write_text("<x:xmpmeta")  # not XML: the photo still counts as unlabelled
    photo(tmp_path / ".xmr" / "hidden.jpg")  # hidden folders (a portable library) are not photos of the folder
    found = unlabelled_photos(tmp_path)
    assert found.photos == [bare, corrupt]
    assert [(p, line.split(":")[0]) for p, line in found.problems] == [(corrupt, "sidecar c.jpg.xmp skipped")]


def test_a_sidecar_that_cannot_be_written_is_named_in_the_error(tmp_path):
    target = photo(tmp_path / "a.jpg")
    (tmp_path / "a.jpg.xmp").mkdir()  # where the sidecar would go (a read-only folder fails alike, but not as root)
    with pytest.raises(OSError) as err:
        add_to_sidecar(target, ["cat"])
    assert err.value.filename == str(tmp_path / "a.jpg.xmp") and ".tmp" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.jpg.xmp"]  # no temp file left behind
