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
