"""The layered label-graph layout's pieces, without Qt: which parent a label hangs under, and how its families are
packed into rows for the view's shape."""

from __future__ import annotations

import numpy as np

from xmr_gui.core.learn.label_graph import LabelGraph
from xmr_gui.core.views.graph_layout import LEAF_ROWS, ROW_GAP, Families, pack_rows, rows_for_aspect


def test_rows_hold_blocks_in_order_up_to_the_capacity_and_a_wider_block_alone():
    rows, width, height = pack_rows([(2, 1), (2, 0.5), (3, 2), (5, 1)], capacity=4)
    assert [[b for b, _, _ in row] for row in rows] == [[0, 1], [2], [3]]
    assert width == 5  # the block wider than the capacity
    assert height == (1 + ROW_GAP) + (2 + ROW_GAP) + (1 + ROW_GAP)  # each row as deep as its deepest block


def test_the_packing_follows_the_views_aspect():
    """16 one-wide blocks, each row ROW_GAP tall: a square view is filled best by rows of 6 (6 wide, 3 × 1.6 = 4.8
    tall); a view 4 times as tall as wide by rows of 3 (12 against 6 × 1.6 = 9.6)."""
    sizes = [(1.0, 0.0)] * 16
    assert [len(row) for row in rows_for_aspect(sizes, 1.0)] == [6, 6, 4]
    assert [len(row) for row in rows_for_aspect(sizes, 0.25)] == [3, 3, 3, 3, 3, 1]
    wide = rows_for_aspect(sizes, 16.0)
    assert len(wide) == 1  # one row: 16 wide and 1.6 tall is nearest 16:1


def _photos(label_sets: dict[str, int]) -> tuple[list[str], np.ndarray]:
    """Label rows from {"animals mammals cats": 12 photos, …}."""
    names = sorted({name for labels in label_sets for name in labels.split()})
    rows = []
    for labels, count in label_sets.items():
        y = np.zeros(len(names), np.int64)
        for name in labels.split():
            y[names.index(name)] = 1
        rows += [y] * count
    return names, np.stack(rows)


def test_a_label_hangs_under_its_deepest_direct_parent_and_loners_come_last():
    loners = {f"loner{k:02d}": 3 + k for k in range(2 * LEAF_ROWS + 1)}  # one more than a block of loners holds
    names, Y = _photos(
        {"animals mammals cats pets": 12, "animals mammals bears": 6, "animals birds": 9, "pets fish": 5, **loners}
    )
    g = LabelGraph.from_labels(Y)
    families = Families(g.probabilities, g.frequencies, names)
    at = names.index
    main = {names[i]: names[int(j)] if j >= 0 else None for i, j in enumerate(families.main)}
    # cats imply mammals, animals (through mammals: not a direct parent) and pets; of mammals (layer 1, 18 photos)
    # and pets (layer 0, 17 photos), the deeper one wins over the rarer
    assert main["cats"] == main["bears"] == "mammals" and main["mammals"] == main["birds"] == "animals"
    assert main["fish"] == "pets" and main["animals"] is None and main["pets"] is None
    assert families.children[at("mammals")] == [at("bears"), at("cats")]  # families of the same size: by name
    assert families.children[at("animals")] == [at("mammals"), at("birds")]  # the bigger family first
    blocks = families.blocks()
    assert blocks[:2] == [[at("animals")], [at("pets")]]  # families, the most photos first
    by_frequency = sorted(loners, key=lambda name: -loners[name])
    assert [[names[i] for i in b] for b in blocks[2:]] == [by_frequency[: 2 * LEAF_ROWS], by_frequency[2 * LEAF_ROWS :]]
