"""The LanceDB backend (store/lance_index.py) on real Lance tables in tmp_path: exact while small, an ANN index once
large, agreeing with hnswlib; durable, reloadable, filtered by id."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xmr_gui.core.store.lance_index import PARAMS, LanceIndex, LanceUriError, check_uri
from xmr_gui.core.store.vindex import VectorIndex

pytest.importorskip("lancedb")  # after lance_index, which quiets LanceDB's logging before its first import


def clustered(n: int, d: int, seed: int, clusters: int = 50) -> np.ndarray:
    """Unit vectors around `clusters` centres: neighbourhoods like photo embeddings', unlike uniform noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(clusters, d))[rng.integers(0, clusters, n)] + 0.7 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]))


def test_small_table_is_searched_exactly(tmp_path):
    x, q = clustered(300, 32, 0), clustered(20, 32, 1)
    index = LanceIndex.create(tmp_path, None, "t", 32)
    for start in range(0, 300, 32):  # as the indexer writes: one append per batch
        index.add(np.arange(start, min(start + 32, 300)) + 1, x[start : start + 32])
    ids, scores = index.search(q, 10)
    truth = np.argsort(-(q @ x.T), axis=1, kind="stable")[:, :10] + 1
    assert overlap(ids, truth) == 1.0
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, truth - 1, axis=1), atol=1e-5)
    index.save(tmp_path, "t", {"seq": 7})
    assert json.loads((tmp_path / "t.json").read_text())["trained_rows"] == 0  # too small to train: flat
    assert index.search(q[:1], 500)[0].shape == (1, 300)  # k clipped to what it holds


def test_large_table_gets_an_ann_index_that_agrees_with_hnswlib(tmp_path):
    """Top-10 of LanceDB's trained index against hnswlib's on the same 5,000 structured vectors, 300 queries."""
    n, d = 5000, 64
    assert n >= PARAMS.ann_min_rows
    x, q = clustered(n, d, 2), clustered(300, d, 3)
    ids = np.arange(1, n + 1)
    hnsw = VectorIndex(d, capacity=n)
    hnsw.add(ids, x)
    lance = LanceIndex.create(tmp_path, None, "big", d)
    lance.add(ids, x)
    lance.save(tmp_path, "big", {"seq": 1})
    assert lance._table.list_indices() and json.loads((tmp_path / "big.json").read_text())["trained_rows"] == n
    got, scores = lance.search(q, 10)
    want, _ = hnsw.search(q, 10)
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10] + 1
    assert overlap(got, want) >= 0.95 and overlap(got, exact) >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    # rows written after training are found (searched flat beside the index), deletions are gone
    lance.add(np.array([n + 1]), q[:1])
    lance.remove([int(want[1][0])])
    found, best = lance.search(q[:2], 3)
    assert found[0][0] == n + 1 and best[0][0] == pytest.approx(1.0, abs=1e-5)
    assert int(want[1][0]) not in found[1]
    # reloaded from the manifest: the same rows and the same answers
    lance.save(tmp_path, "big", {"seq": 2})
    loaded = LanceIndex.load(tmp_path, "big", None, "big")
    assert loaded is not None
    again, meta = loaded
    assert meta["seq"] == 2 and again.ids() == lance.ids() and len(again) == n
    np.testing.assert_array_equal(again.search(q[:20], 10)[0], lance.search(q[:20], 10)[0])


def test_updating_an_id_replaces_its_vector(tmp_path):
    x = clustered(50, 16, 4)
    index = LanceIndex.create(tmp_path, None, "t", 16)
    index.add(np.arange(50), x)
    index.add(np.array([3, 50]), x[[10, 11]])  # 3 replaced (merge-insert), 50 new
    assert len(index) == 51 and index._table.count_rows() == 51
    found, scores = index.search(x[10:11], 2)
    assert set(found[0].tolist()) == {3, 10} and scores[0][1] == pytest.approx(1.0, abs=1e-5)


def test_search_among_returns_only_allowed_ids(tmp_path):
    x, q = clustered(400, 16, 5), clustered(5, 16, 6)
    index = LanceIndex.create(tmp_path, None, "t", 16)
    index.add(np.arange(400), x)
    allowed = set(range(0, 400, 7))
    for vector in q:
        found, scores = index.search_among(vector, 10, allowed)
        assert len(found) == 10 and set(found.tolist()) <= allowed
        exact = sorted(allowed, key=lambda i: -float(x[i] @ vector))[:10]
        assert found.tolist() == exact
    assert len(index.search_among(q[0], 10, set())[0]) == 0


def test_a_file_uri_and_a_bad_uri(tmp_path):
    uri = (tmp_path / "elsewhere").as_uri()
    index = LanceIndex.create(tmp_path / "db", uri, "t", 8)
    index.add(np.arange(3), clustered(3, 8, 7))
    index.save(tmp_path, "t", {})
    assert (tmp_path / "elsewhere" / "t.lance").is_dir()
    loaded = LanceIndex.load(tmp_path, "t", uri, "t")
    assert loaded is not None and len(loaded[0]) == 3
    assert LanceIndex.load(tmp_path, "t", None, "t") is None  # the manifest names another place: rebuild
    with pytest.raises(LanceUriError) as err:
        check_uri("nosuchscheme://bucket/photos")
    message = str(err.value)
    assert "nosuchscheme://bucket/photos" in message and "\n" not in message
