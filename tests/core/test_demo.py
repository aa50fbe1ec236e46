"""The shipped demo checkpoint searches the demo world meaningfully (unseen images: another world seed)."""

from __future__ import annotations

import pytest

from conftest import indexed_demo_world
from xmr_gui.core.base.paths import shipped_demo_checkpoint

pytestmark = pytest.mark.skipif(shipped_demo_checkpoint() is None, reason="models/xmr-demo.xmr is not in this checkout")


@pytest.fixture(scope="module")
def indexed_world(tmp_path_factory):
    lib, rows = indexed_demo_world(tmp_path_factory.mktemp("world"), 120, seed=7)
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
