"""Label-graph and map views (pyqtgraph) over the real core; their CLI twins are in tests/cli/test_views_cli.py."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import read_map_csv

pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui


@pytest.fixture
def window_on_world(demo_world_window):
    return demo_world_window(60, seed=4)


def test_tau_and_p_sliders_give_the_core_edge_count(qtbot):
    from xmr_gui.core.learn.label_graph import LabelGraph, NamedGraph
    from xmr_gui.qt.graph_view import GraphView

    g = NamedGraph.example("mirflickr")
    counts = g.graph.counts.copy()
    view = GraphView(g)
    qtbot.addWidget(view)
    seen = []
    view.graph_changed.connect(seen.append)
    for tau in (0.2, 0.35, 0.5, 0.8):
        view.tau.setValue(round(tau * 100))
        view.p.setValue(30)
        expected = LabelGraph(counts, tau, 0.3).n_edges
        assert seen[-1] == expected and view.edge_label.text().startswith(f"{expected} edges")
    assert seen[0] > seen[-1]  # a higher τ keeps fewer edges


def test_graph_tab_shows_the_checkpoint_graph_and_gcn_neighbours(qtbot, window_on_world):
    window, _ = window_on_world
    with qtbot.waitSignal(window.graph_shown, timeout=30_000):
        window.tabs.setCurrentIndex(1)
    view = window.graph_view
    assert len(view.graph.labels) == 24
    before, after = ([name for name, _ in view.graph.neighbours(view.selected, which)] for which in ("before", "after"))
    assert len(before) == len(after) == 5 and before != after  # the two GCN layers changed the neighbourhood
    with qtbot.waitSignal(window.search_done, timeout=60_000):
        view.query_requested.emit("boat")
    assert window.search.search_box.text() == "boat"


def test_map_pca_then_umap_cache_selection_and_export(qtbot, window_on_world, tmp_path):
    window, _ = window_on_world
    with qtbot.waitSignals([window.map_shown, window.map_shown], timeout=300_000):  # PCA, then UMAP
        window.tabs.setCurrentIndex(2)
    view = window.map_view
    assert view.method == "umap"
    kinds = view.data.kinds
    assert kinds.count("image") == 60 and kinds.count("label") == 24
    db = window.session.library.db_dir
    assert len(list(db.glob("map-umap-*.npy"))) == 1 and len(list(db.glob("map-pca-*.npy"))) == 1
    from xmr_gui.core.views.embedding_map import build_map

    hits = []
    again = build_map(window.session.library, "umap", on_cache=hits.append)  # second open: no UMAP refit
    assert hits == [True]
    np.testing.assert_array_equal(again.xy[:60], view.data.xy[:60])

    xy = view.data.xy
    x0, x1 = np.percentile(xy[:, 0], [10, 60])
    y0, y1 = np.percentile(xy[:, 1], [10, 90])
    paths = view.select_rect(x0, y0, x1, y1)
    inside = {
        view.data.refs[i]
        for i in range(len(kinds))
        if kinds[i] == "image" and x0 <= xy[i, 0] <= x1 and y0 <= xy[i, 1] <= y1
    }
    assert set(paths) == inside and 0 < len(paths) < 60
    assert {path for path, _ in window.search.model.rows()} == inside  # the grid shows exactly the selection

    out = tmp_path / "sel.csv"
    view.export_selection(str(out))
    rows = read_map_csv(out)
    assert [r[1] for r in rows] == paths and all(r[0] == "image" for r in rows)
    np.testing.assert_allclose([r[3:5] for r in rows], [xy[view.data.refs.index(p)] for p in paths], atol=1e-5)
    i = kinds.index("image")
    assert view.nearest(*xy[i]) == i and "<img" in view.tooltip_for(i)

    # a view saved as a bookmark comes back: layout, zoom, colouring, selection, and its query (searched again)
    tab = window.map_tab
    view.choose(view.layout_choice, "computed")
    view.plot.setRange(xRange=(-0.5, 0.2), yRange=(-0.4, 0.3), padding=0)
    neighbours = view.select_photo(i)
    window.tabs.setCurrentIndex(2)
    saved = tab.save_bookmark(str(tmp_path / "view.json"))
    assert saved.selection == [view.data.refs[i]] and saved.colour_by == "label" and saved.query == ""
    from xmr_gui.core.views.bookmark import Bookmark

    Bookmark(method="umap", colour_by="none", query="boat", selection=paths[:3]).save(tmp_path / "boat.json")
    with qtbot.waitSignal(tab.bookmark_shown, timeout=120_000):
        tab.open_bookmark(str(tmp_path / "boat.json"))
    assert window.search.query() == "boat" and view.method == "umap"
    assert view.data.kinds.count("text") == 1 and view.data.refs[view.data.kinds.index("text")] == "boat"
    assert view.colour_key() == "none" and [view.data.refs[r] for r in view.selection] == paths[:3]
    with qtbot.waitSignal(tab.bookmark_shown, timeout=120_000):
        tab.open_bookmark(str(tmp_path / "view.json"))
    assert window.search.query() == "" and "text" not in view.data.kinds
    assert view.layout_choice.currentData() == "computed" and view.colour_key() == "label"
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    assert (x0, y0, x1, y1) == pytest.approx((-0.5, -0.4, 0.2, 0.3), abs=1e-6)
    assert view.selection == [i] and view.neighbours == neighbours
    (tmp_path / "bad.json").write_text("{not json")
    with qtbot.waitSignal(window.error_shown) as shown:  # a bad file: one line in the window, no traceback
        tab.open_bookmark(str(tmp_path / "bad.json"))
    assert "not a map bookmark" in shown.args[0] and len(shown.args[0].splitlines()) == 1

    # clusters named from a vocabulary file the user gives, and back to what the model knows
    words = ["lighthouse", "volcano", "umbrella", "violin", "cactus"]
    (tmp_path / "words.txt").write_text("\n".join(words) + "\n")
    before = list(view.data.clusters.names)
    assert not all(part in words for name in before for part in name.split(" · "))
    with qtbot.waitSignals([window.map_shown, window.map_shown], timeout=300_000):  # PCA, then UMAP
        tab.set_vocabulary(str(tmp_path / "words.txt"))
    assert tab.names_from.text() == "Names from words.txt"
    assert all(part in words for name in view.data.clusters.names for part in name.split(" · "))
    with qtbot.waitSignals([window.map_shown, window.map_shown], timeout=300_000):
        tab.set_vocabulary(None)
    assert view.data.clusters.names == before
