"""`xmr graph` and `xmr map`: the CLI twins of the window's views, which need no widget (so no GUI extra)."""

from __future__ import annotations

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
