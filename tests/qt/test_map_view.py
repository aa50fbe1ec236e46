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
    assert all(
        not t.pixmap.isNull() and max(t.pixmap.width(), t.pixmap.height()) == t.side for t in view.thumbs.items()
    )
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
    from xmr_gui.qt.map_neighbours import NEAR_RANK, K

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


@pytest.fixture
def clustered_map(photo_map):
    """The same photos with their named clusters (core `name_clusters`, named from a vocabulary of the groups)."""
    from xmr_gui.core.views.clusters import Vocabulary, name_clusters
    from xmr_gui.core.views.embedding_map import lay, project

    data, group = photo_map
    means = np.stack([data.vectors[group == g].mean(0) for g in range(GROUPS)])
    words = ["harbour", "meadow", "kitchen", "forest"]
    vocab = Vocabulary(words, means / np.linalg.norm(means, axis=1, keepdims=True), "four test words")
    is_image = np.ones(N, bool)
    data.clusters = name_clusters(data.vectors, is_image, data.xy, vocab, k=GROUPS)
    data.layouts = {"spread": data.xy, "computed": lay(project(data.vectors, "pca"), "computed")}
    return data


def brush_rgb(view) -> list[tuple[int, int, int]]:
    return [tuple(b.color().getRgb()[:3]) for b in view.scatter.data["brush"]]


def test_photos_are_coloured_by_cluster_with_names_on_the_map_and_a_legend(qtbot, view, clustered_map):
    data = clustered_map
    clusters = data.clusters
    view.set_data(data, "pca")
    assert view.colour_key() == "cluster"  # no labels from a checkpoint or the folder: clusters by default
    colours = view.scheme.cluster_colours
    assert len(colours) == len(clusters.names) == GROUPS and len(set(colours)) == GROUPS
    assert brush_rgb(view) == [colours[c] for c in clusters.of_row]
    assert sorted(view.names.texts()) == sorted(clusters.names)  # one name per cluster on the map
    for t, x, y, centred in view.names.items:
        c = clusters.names.index(t.toPlainText())
        assert centred and (x, y) == pytest.approx(tuple(clusters.centres[c]), abs=1e-6)
    legend = view.legend.text()
    assert all(f"{name} ({clusters.sizes[c]})" in legend for c, name in enumerate(clusters.names))
    assert all(f"rgb{colours[c]}" in legend for c in range(GROUPS))
    view.choose(view.layout_choice, "computed")  # the other layout: names follow the photos
    np.testing.assert_allclose(view.xy, data.layouts["computed"])
    at = {t.toPlainText(): (x, y) for t, x, y, _ in view.names.items}
    for c, name in enumerate(clusters.names):
        assert at[name] == pytest.approx(tuple(clusters.centres_in(data.layouts["computed"])[c]), abs=1e-6)
    view.choose(view.colour_by, "none")
    assert set(brush_rgb(view)) == {(150, 150, 150)} and view.names.texts() == []


def test_with_labels_photos_keep_their_top_label_colours(qtbot, view, clustered_map):
    data = clustered_map
    data.labels = [["boat", "sea", "tree", "house"][g] + ";sky" for g in np.arange(N) % GROUPS]
    view.set_data(data, "pca")
    assert view.colour_key() == "label"  # a checkpoint's or the folder's labels: coloured as before
    assert brush_rgb(view) == [view.colour_of(lab.split(";")[0]) for lab in data.labels]
    assert view.choose(view.colour_by, "cluster")  # clusters still offered
    assert brush_rgb(view) == [view.scheme.cluster_colours[c] for c in data.clusters.of_row]


def test_a_bookmark_restores_layout_zoom_colouring_and_selection(qtbot, view, clustered_map, tmp_path):
    from xmr_gui.core.views.bookmark import Bookmark
    from xmr_gui.qt.map_bookmarks import capture, restore

    data = clustered_map
    view.set_data(data, "umap")
    view.choose(view.layout_choice, "computed")
    view.choose(view.colour_by, "none")
    view.plot.setRange(xRange=(-0.4, 0.1), yRange=(-0.3, 0.25), padding=0)
    neighbours = view.select_photo(17)
    saved = capture(view, "a boat", str(tmp_path))
    saved.save(tmp_path / "view.json")

    view.set_data(data, "umap")  # the map again (it keeps the layout and colouring chosen): put back the defaults
    assert view.layout_choice.currentData() == "computed" and view.selection == []
    view.choose(view.layout_choice, "spread")
    view.choose(view.colour_by, "cluster")
    view.plot.autoRange()
    loaded = Bookmark.load(tmp_path / "view.json")
    assert loaded == saved and loaded.query == "a boat" and loaded.method == "umap"
    assert restore(view, loaded) == []
    assert view.layout_choice.currentData() == "computed" and view.colour_key() == "none"
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    assert (x0, y0, x1, y1) == pytest.approx((-0.4, -0.3, 0.1, 0.25), abs=1e-6)
    assert view.selection == [17] and view.neighbours == neighbours
    assert view.neighbour_list.rows() == neighbours

    box = Bookmark(layout="spread", selection=[data.refs[3], data.refs[5], "/gone.jpg"], colour_by="cluster")
    assert restore(view, box) == ["/gone.jpg"]  # what the map no longer has is said, the rest selected
    assert view.selection == [3, 5] and view.neighbours == [] and len(view.overlay.rings.data) == 2
