"""A map view saved to a file and read back (views/bookmark.py); a bad file is one clear error."""

from __future__ import annotations

import json

import pytest


def test_round_trip(tmp_path):
    from xmr_gui.core.views.bookmark import Bookmark

    mark = Bookmark("computed", "pca", (-0.5, -0.25, 0.5, 0.75), "label", ["/p/a.jpg", "b/c.jpg"], "a dog", 5, "/p")
    path = mark.save(tmp_path / "view.json")
    again = Bookmark.load(path)
    assert again == mark and again.view == (-0.5, -0.25, 0.5, 0.75)
    assert again.selected_paths() == ["/p/a.jpg", "/p/b/c.jpg"]
    assert Bookmark.load(Bookmark().save(tmp_path / "d.json")) == Bookmark()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "no format version"),
        ('{"layout": "spread"}', "no format version"),
        ('{"version": 99}', "newer xmr"),
        ('{"version": 1, "zoom": 3}', "unknown bookmark field(s) zoom"),
        ('{"version": 1, "view": [0, 0, 1]}', "view"),
        ('{"version": 1, "view": [1, 0, 0, 1]}', "x0 < x1"),
        ('{"version": 1, "colour_by": "mood"}', "colour_by 'mood'"),
        ('{"version": 1, "method": "tsne", "layout": "flat"}', "layout 'flat'"),
        ('{"version": 1, "selection": "a.jpg"}', "selection"),
        ('{"version": 1, "neighbours": -1}', "neighbours"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path, text, says):
    from xmr_gui.core.base.errors import XmrError
    from xmr_gui.core.views.bookmark import Bookmark, BookmarkError

    f = tmp_path / "bad.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(BookmarkError) as err:
        Bookmark.load(f)
    assert isinstance(err.value, XmrError) and says in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(BookmarkError, match="no bookmark file"):
        Bookmark.load(tmp_path / "missing.json")
    json.loads(Bookmark().save(tmp_path / "ok.json").read_text())
