"""Named clusters of a map (views/clusters.py) on generated vectors whose concepts are known."""

from __future__ import annotations

import numpy as np
import pytest

CONCEPTS = ["cat", "boat", "tree", "car", "house", "photo"]


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def world(per=30, d=32, seed=0, common=0.0):
    """Photos in three groups around the concepts cat, boat and tree (plus `common` of the "photo" concept)."""
    from xmr_gui.core.views.clusters import Vocabulary

    rng = np.random.default_rng(seed)
    concepts = unit(rng.standard_normal((len(CONCEPTS), d)))
    truth = np.repeat([0, 1, 2], per)
    photos = unit(concepts[truth] + common * concepts[5] + 0.12 * rng.standard_normal((3 * per, d)))
    return photos.astype(np.float32), truth, Vocabulary(CONCEPTS, concepts.astype(np.float32), "test concepts")


def test_clusters_near_known_concepts_get_their_names():
    from xmr_gui.core.views.clusters import name_clusters

    photos, truth, vocabulary = world()
    xy = np.random.default_rng(1).standard_normal((len(photos), 2))
    c = name_clusters(photos, np.ones(len(photos), bool), xy, vocabulary, k=3)
    heads = [name.split(" · ")[0] for name in c.names]
    assert sorted(heads) == ["boat", "cat", "tree"]
    for row, cluster in enumerate(c.of_row):
        assert heads[cluster] == CONCEPTS[truth[row]]
    assert sorted(c.sizes) == [30, 30, 30] and c.vocabulary == "test concepts"
    for k in range(3):  # each name sits on a photo of its cluster
        members = xy[np.array(c.of_row) == k]
        assert np.isclose(members, c.centres[k]).all(axis=1).any()


def test_names_are_distinctive_not_what_every_cluster_shares():
    """Every photo is closest to "photo" (a strong shared component): the names still tell the groups apart."""
    from xmr_gui.core.views.clusters import name_clusters

    photos, truth, vocabulary = world(common=1.5)
    assert (np.argmax(photos @ vocabulary.vectors.T, axis=1) == 5).mean() > 0.9
    c = name_clusters(photos, np.ones(len(photos), bool), np.zeros((len(photos), 2)), vocabulary, k=3)
    assert sorted(name.split(" · ")[0] for name in c.names) == ["boat", "cat", "tree"]


def test_default_count_rows_that_are_not_photos_and_strays():
    from xmr_gui.core.views.clusters import cluster_count, cluster_vectors, name_clusters

    assert [cluster_count(n) for n in (10, 144, 452, 10000)] == [2, 8, 15, 16]
    photos, truth, vocabulary = world(per=40)
    stray = unit(np.ones((1, photos.shape[1]), np.float32))
    rows = np.concatenate([photos, stray, vocabulary.vectors[:2]])  # a stray photo, then two label rows
    is_image = np.array([True] * (len(photos) + 1) + [False, False])
    c = name_clusters(rows, is_image, np.zeros((len(rows), 2)), vocabulary)
    assert c.of_row[-2:] == [-1, -1] and min(c.of_row[:-2]) >= 0
    assert min(c.sizes) >= 3 and sum(c.sizes) == len(photos) + 1  # the stray joined a cluster
    assert len(set(c.names)) == len(c.names)
    assert c.sizes == sorted(c.sizes, reverse=True)  # largest first
    labels = cluster_vectors(photos, k=3)
    assert sorted(np.bincount(labels).tolist()) == [40, 40, 40]


def test_vocabulary_from_a_file_and_a_bad_one(library, tmp_path):
    from xmr_gui.core.search.labels import VocabularyError
    from xmr_gui.core.views.clusters import vocabulary_for

    f = tmp_path / "v.txt"
    f.write_text("dogs\ncats\n", encoding="utf-8")
    v = vocabulary_for(library, f)
    assert v.names == ["dogs", "cats"] and v.vectors.shape[0] == 2
    f.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(VocabularyError):
        vocabulary_for(library, f)
    assert len(vocabulary_for(library).names) > 50  # no concepts of its own: the built-in photo words
