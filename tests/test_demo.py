"""The shipped demo checkpoint searches the demo world meaningfully (unseen images: another world seed)."""

from __future__ import annotations

import json

import pytest

from xmr_gui.core.demo_run import demo_checkpoint

pytestmark = pytest.mark.skipif(demo_checkpoint() is None, reason="models/xmr-demo.xmr is not in this checkout")


@pytest.fixture(scope="module")
def indexed_world(tmp_path_factory):
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.store.library import Library

    root = tmp_path_factory.mktemp("world")
    world = write_demo(root / "w", 120, seed=7)
    rows = {
        str(world / r["file"]): r["labels"] for r in map(json.loads, (world / "labels.jsonl").read_text().splitlines())
    }
    lib = Library.create(root / "db", world / "images", Checkpoint.load(demo_checkpoint()).backbone_spec())
    lib.attach_checkpoint(demo_checkpoint())
    index_folder(lib, world / "images")
    yield lib, rows
    lib.close()


@pytest.mark.parametrize(
    "query, label",
    [
        ("a beach with sea and sand", "sand"),
        ("a city at night with the moon", "night"),
        ("snow and mountains", "snow"),
        ("a rainy street with rain and umbrellas", "rain"),
    ],
)
def test_top_results_carry_the_queried_label(indexed_world, query, label):
    from xmr_gui.core.search.photos import search_text

    lib, rows = indexed_world
    hits = search_text(lib, query, k=5)
    assert sum(label in rows[h.path] for h in hits) >= 4, [(h.path, rows[h.path]) for h in hits]


def test_describe_ranks_true_labels_first(indexed_world):
    from xmr_gui.core.search.labels import describe

    lib, rows = indexed_world
    precision = []
    for path, labels in list(rows.items())[:30]:
        top = [r.label for r in describe(lib, path, k=len(labels))]
        precision.append(len(set(top) & set(labels)) / len(labels))
    assert sum(precision) / len(precision) >= 0.7
