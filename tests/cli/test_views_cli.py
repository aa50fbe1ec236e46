"""`xmr graph` and `xmr map`: the CLI twins of the window's views, which need no widget (so no GUI extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import read_map_csv


def test_graph_and_map_from_the_cli(tmp_path, photos, capsys):
    from xmr_gui.cli import main

    assert main(["graph", "--example", "mirflickr", "--tau", "0.5", "--png", str(tmp_path / "g.png")]) == 0
    rows = capsys.readouterr().out.splitlines()
    from xmr_gui.core.learn.label_graph import NamedGraph

    assert len(rows) == NamedGraph.example("mirflickr", tau=0.5).graph.n_edges
    assert (tmp_path / "g.png").stat().st_size > 1000
    db = str(tmp_path / "db")
    assert main(["index", str(photos), "--db", db, "--model", "xmr-tiny", "--weights", "random", "-q"]) == 0
    assert main(["map", "--db", db, "--method", "pca", "--query", "a dog", "--csv", str(tmp_path / "m.csv")]) == 0
    points = read_map_csv(tmp_path / "m.csv")
    assert [p[0] for p in points].count("image") == 24 and points[-1][:2] == ("text", "a dog")
    # every photo carries its cluster's name (named from xmr's built-in photo words: this model knows no concepts)
    names = {p[5] for p in points if p[0] == "image"}
    assert "" not in names and 2 <= len(names) <= 6
    assert all(p[5] == "" for p in points if p[0] != "image")


def test_bookmark_saved_and_drawn_from_the_cli(tmp_path, photos, capsys):
    from xmr_gui.cli import main
    from xmr_gui.core.views.bookmark import Bookmark

    db = str(tmp_path / "db")
    assert main(["index", str(photos), "--db", db, "--model", "xmr-tiny", "--weights", "random", "-q"]) == 0
    chosen = sorted(photos.iterdir())[3]
    mark = tmp_path / "lesson.json"
    args = ["map", "--db", db, "--method", "pca", "--layout", "computed", "--select", str(chosen)]
    assert main([*args, "--query", "a red thing", "--save-bookmark", str(mark)]) == 0
    saved = Bookmark.load(mark)
    assert (saved.method, saved.layout, saved.query, saved.colour_by) == ("pca", "computed", "a red thing", "cluster")
    assert saved.selection == [str(chosen.resolve())]
    png = tmp_path / "lesson.png"
    assert main(["map", "--db", db, "--bookmark", str(mark), "--png", str(png)]) == 0
    assert Image.open(png).size[0] > 1000
    capsys.readouterr()

    # a bad bookmark: one clear line
    (tmp_path / "bad.json").write_text(json.dumps({"version": 1, "layout": "sideways"}))
    assert main(["map", "--db", db, "--bookmark", str(tmp_path / "bad.json"), "--png", str(png)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "layout 'sideways'" in err[0]
    assert main(["map", "--db", db]) == 1  # nothing to write: says so
    assert "--csv" in capsys.readouterr().err


@pytest.mark.parametrize("view", ["1,2,3", "a,b,c,d", "1,1,0,0"])
def test_a_bad_view_is_one_line(tmp_path, view, capsys):
    from xmr_gui.cli import main

    assert main(["map", "--db", str(tmp_path), "--view", view, "--png", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "view" in err[0], err


def test_png_shows_the_clusters_colours(tmp_path):
    """Drawn without a library: two far-apart groups, each dot in its cluster's palette colour."""
    from xmr_gui.core.views.bookmark import Bookmark
    from xmr_gui.core.views.clusters import MapClusters
    from xmr_gui.core.views.embedding_map import MapData
    from xmr_gui.core.views.map_png import render_png
    from xmr_gui.core.views.palette import distinct_colours

    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(-0.6, 0.05, (30, 2)), rng.normal(0.6, 0.05, (30, 2))]).astype(np.float32)
    of_row = [0] * 30 + [1] * 30
    clusters = MapClusters(of_row, ["cats", "boats"], np.array([[-0.6, -0.6], [0.6, 0.6]]), [30, 30], [], "test")
    vectors = np.eye(60, 8, dtype=np.float32)
    data = MapData(["image"] * 60, [f"/nowhere/{i}.jpg" for i in range(60)], [""] * 60, vectors, xy, clusters,
                   {"spread": xy, "computed": xy})  # fmt: skip
    out = render_png(data, Bookmark(method="pca"), tmp_path / "m.png", size=(400, 400))
    px = np.asarray(Image.open(out).convert("RGB"))[:, :400].reshape(-1, 3)
    colours = {tuple(int(v) for v in p) for p in px}
    a, b = distinct_colours(2)
    assert a in colours and b in colours
    left = np.asarray(Image.open(out).convert("RGB"))[200:, :200].reshape(-1, 3)  # bottom left: cluster 0 only
    assert (left == a).all(axis=1).sum() > 50 and not (left == b).all(axis=1).any()
