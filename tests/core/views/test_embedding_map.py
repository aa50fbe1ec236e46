"""The embedding map's cache (views/embedding_map.py), without the window."""

from __future__ import annotations

import numpy as np


def test_map_is_cached_until_the_index_changes(tmp_path, library, photos):
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.views.embedding_map import build_map

    index_folder(library, photos)
    hits = []
    first = build_map(library, "pca", on_cache=hits.append)
    again = build_map(library, "pca", on_cache=hits.append)
    np.testing.assert_array_equal(first.xy, again.xy)
    (photos / "photo_0002.jpg").unlink()
    index_folder(library, photos)
    build_map(library, "pca", on_cache=hits.append)
    assert hits == [False, True, False]


def test_every_layout_with_named_clusters_and_queries(library, photos, tmp_path):
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.views.embedding_map import DEFAULT_LAYOUT, LAYOUTS, build_map

    index_folder(library, photos)
    words = tmp_path / "words.txt"
    words.write_text("red\ngreen\nblue\nyellow\n# a comment\n\nstripes\n", encoding="utf-8")
    data = build_map(library, "pca", ["a red square"], layout="computed", vocabulary=words)
    assert set(data.layouts) == set(LAYOUTS) and DEFAULT_LAYOUT in LAYOUTS
    np.testing.assert_array_equal(data.xy, data.layouts["computed"])
    for xy in data.layouts.values():
        assert xy.shape == (len(data), 2)
    computed = data.layouts["computed"][:24]
    assert np.isclose(np.abs(computed).max(), 1.0)  # scaled, not spread: one scale for both axes
    spread = data.layouts["spread"][:24]
    assert np.isclose(spread.min(0), -1).all() and np.isclose(spread.max(0), 1).all()
    c = data.clusters
    assert c is not None and len(c.of_row) == len(data) and sum(c.sizes) == 24
    assert c.of_row[-1] == -1 and data.kinds[-1] == "text"
    words_used = {"red", "green", "blue", "yellow", "stripes"}
    assert all(set(name.split(" · ")) <= words_used for name in c.names), c.names
    assert "words.txt" in c.vocabulary
    assert [r[5] for r in data.rows()][:24] == [c.names[i] for i in c.of_row[:24]]
    assert build_map(library, "pca", clusters=False).clusters is None
    assert len(list(library.db_dir.glob("map-clusters-*.npy"))) == 1  # the clustering is cached beside the map
    again = build_map(library, "pca", vocabulary=words)
    assert again.clusters is not None and again.clusters.of_row[:24] == c.of_row[:24]  # same photos, same groups
