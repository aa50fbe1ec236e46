from __future__ import annotations

import numpy as np

from conftest import unit
from xmr_gui.core.store.vindex import VectorIndex


def random_unit(rng, n, d):
    return unit(rng.standard_normal((n, d)))


def recall_at_10(index, data, ids, queries):
    found, _ = index.search(queries, 10)
    exact = ids[np.argsort(-(queries @ data.T), axis=1)[:, :10]]
    return np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=False)])


def test_hnsw_recall_against_brute_force_and_after_reload(tmp_path):
    rng = np.random.default_rng(0)
    data, queries = random_unit(rng, 6000, 32), random_unit(rng, 200, 32)
    ids = np.arange(1000, 7000)
    index = VectorIndex(32, capacity=100)  # forces resize_index as it grows
    for start in range(0, len(ids), 1000):
        index.add(ids[start : start + 1000], data[start : start + 1000])
    before = recall_at_10(index, data, ids, queries)
    assert before >= 0.95
    index.save(tmp_path, "idx", {"seq": 7})
    loaded, meta = VectorIndex.load(tmp_path, "idx")
    assert meta["seq"] == 7 and len(loaded) == 6000
    assert recall_at_10(loaded, data, ids, queries) == before


def test_scores_are_cosines_and_deleted_ids_never_return():
    rng = np.random.default_rng(1)
    data = random_unit(rng, 3000, 16)
    index = VectorIndex(16)
    index.add(np.arange(3000), data)
    ids, scores = index.search(data[:5], 3)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    index.remove([0, 1])
    ids, _ = index.search(data[:2], 10)
    assert 0 not in ids and 1 not in ids and len(index) == 2998


def test_k_larger_than_index_is_clipped_and_empty_index_gives_nothing():
    index = VectorIndex(8)
    assert index.search(np.ones(8, np.float32), 5)[0].shape == (1, 0)
    v = random_unit(np.random.default_rng(2), 3, 8)
    index.add(np.array([5, 6, 7]), v)
    ids, _ = index.search(v[0], 100)
    assert sorted(ids[0]) == [5, 6, 7]


def test_save_keeps_one_generation_and_ignores_torn_temp(tmp_path):
    v = random_unit(np.random.default_rng(3), 10, 8)
    index = VectorIndex(8)
    index.add(np.arange(10), v)
    index.save(tmp_path, "idx")
    index.remove([3])
    index.save(tmp_path, "idx")
    (tmp_path / ".idx-3.hnsw.abc.tmp").write_bytes(b"torn")  # a save killed half way
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".tmp"))
    assert names == ["idx-2.hnsw", "idx-2.ids.npy", "idx.json"]
    loaded, _ = VectorIndex.load(tmp_path, "idx")
    assert 3 not in loaded.ids() and len(loaded) == 9


def test_small_index_exact_search_sees_every_change():
    """Below EXACT_BELOW the search is exact over a cached matrix: adds, replacements and removals must show."""
    from xmr_gui.core.store.vindex import VectorIndex

    rng = np.random.default_rng(3)
    v = rng.standard_normal((50, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ix = VectorIndex(16)
    ix.add(np.arange(50), v)
    assert ix.search(v[7], 1)[0][0, 0] == 7
    ix.remove([7])
    assert 7 not in ix.search(v[7], 50)[0][0]
    ix.add(np.array([99]), v[7:8])
    assert ix.search(v[7], 1)[0][0, 0] == 99
    ix.add(np.array([99]), -v[7:8])  # replaced in place: now the farthest
    assert ix.search(v[7], 50)[0][0, -1] == 99


def test_queries_run_with_the_measured_ef_also_on_libraries_written_with_an_older_default(tmp_path):
    """ef 128 (recall@10 >= 0.99 at 100k real-model vectors), 256 from half a million, never below k; an index saved
    with ef 96 in its manifest is searched with 128 after reloading."""
    from xmr_gui.core.store.vindex import HnswParams, VectorIndex, query_ef

    assert query_ef(HnswParams(ef=96), 100_000, 10) == 128
    assert query_ef(HnswParams(), 600_000, 10) == 256
    assert query_ef(HnswParams(ef=400), 100_000, 10) == 400 and query_ef(HnswParams(), 1000, 300) == 300
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(16, HnswParams(ef=96))
    index.add(np.arange(3000), vectors)
    index.save(tmp_path, "old")
    loaded = VectorIndex.load(tmp_path, "old")
    assert loaded is not None
    again = loaded[0]
    assert again.params.ef == 96
    again.search(vectors[:1], 10)
    assert again._index.ef == 128
