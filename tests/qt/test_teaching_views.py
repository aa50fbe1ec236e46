"""The teaching views on real widgets: a map where every label is named and has its own colour, whose label markers
select their photos in the grid, and a label graph laid out in layers when its labels form a hierarchy."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
pytestmark = pytest.mark.gui


def _map_data(n_labels: int, per_label: int = 3, seed: int = 0):  # type: ignore[no-untyped-def]
    """A MapData of `n_labels` labels with `per_label` photos each (the label first on each of its photos)."""
    from xmr_gui.core.views.embedding_map import MapData

    rng = np.random.default_rng(seed)
    names = [f"label{i:03d}" for i in range(n_labels)]
    kinds, refs, labels = [], [], []
    for i, name in enumerate(names):
        for k in range(per_label):
            kinds.append("image")
            refs.append(f"/photos/{name}_{k}.jpg")
            labels.append(f"{name};{names[(i + 1) % n_labels]}")
    kinds += ["label"] * n_labels
    refs += names
    labels += names
    xy = rng.uniform(-1, 1, (len(kinds), 2)).astype(np.float32)
    return MapData(kinds, refs, labels, np.zeros((len(kinds), 4), np.float32), xy)


def _min_distance(colours: list[tuple[int, int, int]]) -> float:
    """The smallest CIELAB distance (ΔE*ab) between two of `colours`."""
    from xmr_gui.core.views.palette import srgb_to_lab

    lab = srgb_to_lab(np.array(colours))
    d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


def _label_marker_pos(data, label: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Where a map places `label`'s marker, in data coordinates."""
    i = next(i for i, (k, r) in enumerate(zip(data.kinds, data.refs, strict=True)) if k == "label" and r == label)
    return float(data.xy[i, 0]), float(data.xy[i, 1])


@pytest.mark.parametrize("n", [24, 100])
def test_map_legend_colours_are_all_distinct(qtbot, n):
    from xmr_gui.qt.map_view import MapView

    view = MapView()
    qtbot.addWidget(view)
    view.set_data(_map_data(n), "umap")
    colours = [view.colour_of(name) for name in view.scheme.label_colours]
    assert len(colours) == n and len(set(colours)) == n
    assert _min_distance(colours) > 15  # ΔE*ab: told apart side by side
    # label markers are drawn in their label's colour, the photos in their top label's
    brushes = view.scatter.data["brush"]
    first_label = view.data.kinds.index("label")
    assert brushes[first_label].color().getRgb()[:3] == view.colour_of(view.data.refs[first_label])
    assert brushes[0].color().getRgb()[:3] == view.colour_of(view.data.labels[0].split(";")[0])
    assert "rgb" in view.legend.text()


def test_every_label_marker_carries_a_visible_name(qtbot):
    from xmr_gui.qt.map_view import MapView

    view = MapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    data = _map_data(24)
    view.set_data(data, "pca")
    labels = [r for k, r in zip(data.kinds, data.refs, strict=True) if k == "label"]
    names = [t for t, *_ in view.names.items]
    assert [t.toPlainText() for t in names] == labels
    for t, name in zip(names, labels, strict=True):
        assert t.isVisible() and t.scene() is view.plot.scene()
        x, y = _label_marker_pos(view.data, name)
        assert t.pos().x() == pytest.approx(x, abs=1e-5) and t.pos().y() <= y + 1e-5  # beside it, or moved down
    boxes = [t.mapRectToScene(t.boundingRect()) for t in names]  # and no name covers another
    assert not any(a.intersected(b).height() > 0.3 * a.height() for k, a in enumerate(boxes) for b in boxes[:k])
    # readable on the theme: the text contrasts with the plot's background
    bg = view.plot.backgroundBrush().color().lightness()
    ink = names[0].color.lightness()
    assert abs(bg - ink) > 100
    view.set_data(data, "umap")  # redrawn, not duplicated
    assert len(view.names.items) == 24


def test_map_spreads_clustered_photos_over_the_plot():
    from xmr_gui.core.views.embedding_map import spread_out

    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [0.5, 0.3], [30, 25]])  # two clusters close, one far: most of the plot empty
    xy = np.concatenate([c + rng.normal(0, 0.05, (50, 2)) for c in centres])

    def filled(z: np.ndarray, g: int = 10) -> float:
        cells = np.clip(((z - z.min(0)) / np.ptp(z, 0) * g).astype(int), 0, g - 1)
        return len({tuple(c) for c in cells}) / g**2

    out = spread_out(xy)
    assert out.min() == -1 and out.max() == 1
    assert filled(out) > 2 * filled(xy)
    for k in range(2):  # the order along each axis is kept
        assert (np.argsort(out[:, k], kind="stable") == np.argsort(xy[:, k], kind="stable")).all()


@pytest.fixture
def demo_window(demo_world_window):
    return demo_world_window(40, seed=7)


def test_clicking_a_label_marker_selects_its_photos_in_the_grid(qtbot, demo_window):
    import json
    from pathlib import Path

    from PySide6.QtCore import QPointF, Qt

    window, world = demo_window
    with qtbot.waitSignal(window.map_shown, timeout=300_000):  # PCA first
        window.tabs.setCurrentIndex(2)
    view = window.map_view
    qtbot.wait(200)
    data = view.data
    known = {}
    for line in (world / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)
        known[str((world / row["file"]).resolve())] = row["labels"]
    # the label whose marker stands alone best (a click on it hits no other label marker)
    is_label = [i for i, k in enumerate(data.kinds) if k == "label"]
    xy = data.xy

    def room(i: int) -> float:
        return min(np.linalg.norm(xy[i] - xy[j]) for j in is_label if j != i)

    best = max((i for i in is_label if any(data.refs[i] in v for v in known.values())), key=room)
    label = data.refs[best]
    expected = {p for p, labs in known.items() if label in labs}
    scene = view.plot.getViewBox().mapViewToScene(QPointF(float(xy[best, 0]), float(xy[best, 1])))
    at = view.plot.mapFromScene(scene)  # a real click, where the marker is drawn
    with qtbot.waitSignal(view.label_selected, timeout=10_000) as signal:
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=at)
    got_label, paths = signal.args
    assert got_label == label
    assert {str(Path(p).resolve()) for p in paths} == expected and expected
    shown = {str(Path(p).resolve()) for p, _ in window.search.model.rows()}
    assert shown == expected  # the grid shows exactly that label's photos
    assert window.tabs.currentIndex() == 0 and label in window.search.count_label.text()


def _hierarchy() -> tuple[list[str], np.ndarray]:
    """Photos labelled by folder paths: animals/mammals/cats, animals/mammals/dogs, animals/birds, food/fruit,
    food/vegetables, vehicles/cars … (each folder on the path a label)."""
    folders = {
        "animals/mammals/cats": 12,
        "animals/mammals/dogs": 10,
        "animals/mammals/horses": 6,
        "animals/mammals/bears": 4,
        "animals/birds": 9,
        "animals/fish": 5,
        "food/fruit": 8,
        "food/vegetables": 7,
        "vehicles/cars": 9,
        "vehicles/boats": 6,
        "sports": 5,
    }
    names = sorted({part for f in folders for part in f.split("/")})
    rows = []
    for folder, count in folders.items():
        y = np.zeros(len(names), np.int64)
        for part in folder.split("/"):
            y[names.index(part)] = 1
        rows += [y] * count
    return names, np.stack(rows)


def test_a_hierarchical_label_set_is_layered_parents_above_children(qtbot):
    from xmr_gui.core.learn.label_graph import LabelGraph, NamedGraph
    from xmr_gui.qt.graph_view import GraphView

    names, Y = _hierarchy()
    g = NamedGraph(names, LabelGraph.from_labels(Y), "folders")
    view = GraphView(g)
    qtbot.addWidget(view)
    assert view.layered
    y = {n: view.pos[i, 1] for i, n in enumerate(names)}
    for parent, child in [
        ("animals", "mammals"),
        ("mammals", "cats"),
        ("mammals", "bears"),
        ("animals", "birds"),
        ("food", "fruit"),
        ("vehicles", "boats"),
    ]:
        assert y[parent] > y[child], (parent, child)
    from xmr_gui.core.views.graph_layout import layers, parents

    layer = dict(zip(names, layers(parents(g.graph.probabilities, g.graph.frequencies)), strict=True))
    assert [n for n in names if layer[n] == 0] == ["animals", "food", "sports", "vehicles"]
    assert layer["mammals"] == layer["birds"] == 1 and layer["cats"] == 2  # the longest chain above
    assert y["mammals"] == y["birds"]
    assert view.arrows  # one-way edges are directed (cats → mammals)
    assert len(view.texts) == len(names)


def test_the_demo_graph_keeps_its_spring_layout(qtbot):
    from xmr_gui.core.base.paths import shipped_demo_checkpoint
    from xmr_gui.core.learn.label_graph import NamedGraph
    from xmr_gui.core.views.graph_layout import spring_layout
    from xmr_gui.qt.graph_view import GraphView

    if shipped_demo_checkpoint() is None:
        pytest.skip("models/xmr-demo.xmr is not in this checkout")
    g = NamedGraph.from_checkpoint(shipped_demo_checkpoint())
    view = GraphView(g)
    qtbot.addWidget(view)
    assert not view.layered and not view.arrows
    A = g.graph.reweighted
    np.testing.assert_allclose(view.pos, spring_layout(A + A.T))
