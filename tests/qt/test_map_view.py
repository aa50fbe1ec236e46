"""The map widget on its own over real MapData (no session): thumbnails as you zoom, neighbours of the full space,
colours and names of clusters, the layout switch and bookmarks. The window's Map tab is in test_views.py."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small_photo

pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui

N, GROUPS, DIM = 240, 4, 16


@pytest.fixture
def photo_map(tmp_path):
    """MapData of N real JPEGs in GROUPS groups of nearby unit vectors, laid out by PCA and spread as the core does."""
    from xmr_gui.core.views.embedding_map import MapData, project, spread_out

    rng = np.random.default_rng(3)
    centres = rng.standard_normal((GROUPS, DIM))
    group = np.arange(N) % GROUPS
    vectors = centres[group] + 0.6 * rng.standard_normal((N, DIM))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    paths = [str(small_photo(tmp_path / "photos" / f"p{i:03d}.jpg", seed=i)) for i in range(N)]
    xy = spread_out(project(vectors, "pca"))
    return MapData(["image"] * N, paths, [""] * N, vectors, xy), group


@pytest.fixture
def view(qtbot):
    from xmr_gui.qt.map_view import MapView

    v = MapView()
    qtbot.addWidget(v)
    v.resize(1100, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_zooming_in_turns_the_photos_in_view_into_thumbnails_and_back(qtbot, view, photo_map):
    from xmr_gui.qt.map_thumbs import MAX_SHOWN

    data, _ = photo_map
    view.set_data(data, "pca")
    qtbot.waitUntil(lambda: view.thumbs.mode == "dots")
    assert N > MAX_SHOWN and view.thumbs.items() == []  # the whole map: dots only, no thumbnail asked for
    x, y = (float(v) for v in data.xy[7])
    view.plot.setRange(xRange=(x - 0.12, x + 0.12), yRange=(y - 0.12, y + 0.12), padding=0)
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    inside = {i for i, (a, b) in enumerate(data.xy) if x0 <= a <= x1 and y0 <= b <= y1}
    assert 0 < len(inside) <= MAX_SHOWN
    # decoded on the thumbnail cache's threads, then drawn: every photo in view, and only those
    qtbot.waitUntil(lambda: {t.row for t in view.thumbs.items()} == inside, timeout=20_000)
    assert view.thumbs.mode == "thumbnails"
    assert all(not t.pixmap.isNull() and max(t.pixmap.width(), t.pixmap.height()) == t.side for t in view.thumbs.items())
    for t in view.thumbs.items():
        np.testing.assert_allclose([t.pos().x(), t.pos().y()], data.xy[t.row], atol=1e-6)
    with qtbot.waitSignal(view.photos_selected) as picked:  # a thumbnail clicked selects its photo
        view.thumbs.items()[0].on_click(view.thumbs.items()[0].row)
    assert picked.args == [[data.refs[view.selection[0]]]]
    view.plot.autoRange()
    qtbot.waitUntil(lambda: view.thumbs.mode == "dots" and view.thumbs.items() == [])
    view.show_thumbs.setChecked(False)  # switched off: dots even zoomed in
    view.plot.setRange(xRange=(x - 0.12, x + 0.12), yRange=(y - 0.12, y + 0.12), padding=0)
    qtbot.wait(100)
    assert view.thumbs.mode == "dots" and view.thumbs.items() == []


def test_selecting_a_photo_rings_exactly_its_nearest_neighbours_of_the_full_space(qtbot, view, photo_map):
    from xmr_gui.qt.map_neighbours import K, NEAR_RANK

    data, _ = photo_map
    view.set_data(data, "pca")
    for row in (0, 101, 239):
        sims = data.vectors @ data.vectors[row]
        sims[row] = -np.inf
        expected = np.argsort(-sims, kind="stable")[:K].tolist()  # numpy brute force in the full space
        with qtbot.waitSignal(view.photos_selected) as picked:
            got = view.select_photo(row)
        assert picked.args == [[data.refs[row]]]
        assert got == expected and view.neighbour_list.rows() == expected
        rings = view.overlay.rings.data
        assert len(rings) == K + 1
        np.testing.assert_allclose(np.c_[rings["x"], rings["y"]], data.xy[[*expected, row]], atol=1e-6)
        d = np.linalg.norm(data.xy - data.xy[row], axis=1)
        d[row] = np.inf
        map_rank = np.argsort(np.argsort(d, kind="stable"), kind="stable") + 1
        far = [j for j in expected if map_rank[j] > NEAR_RANK]  # neighbours the 2-D picture puts far away
        xs, _ = view.overlay.far_lines.getData()
        assert (0 if xs is None else len(xs)) == 2 * len(far)  # one dashed line each, drawn in pairs
        texts = [view.neighbour_list.list.item(i).text() for i in range(K)]
        assert sum("far on the map" in t for t in texts) == len(far)
    view.select_rect(-2, -2, 2, 2)  # a box selection forgets the neighbours
    assert view.neighbours == [] and len(view.overlay.rings.data) == len(view.selection) == N  # ringed, no lines
    xs, _ = view.overlay.far_lines.getData()
    assert xs is None or len(xs) == 0
