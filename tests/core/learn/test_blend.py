"""A checkpoint's served space blended with its backbone's (learn.space.blend, heads.BlendedSpace): issue #25."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest


def unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_blended_cosine_is_the_mix_of_the_two_cosines():
    from xmr_gui.core.learn.space import blend

    rng = np.random.default_rng(0)
    b1, b2 = rng.standard_normal((5, 12)), rng.standard_normal((7, 12))
    l1, l2 = rng.standard_normal((5, 4)), rng.standard_normal((7, 4))
    for a in (0.0, 0.3, 0.75, 1.0):
        x, y = blend(b1, l1, a), blend(b2, l2, a)
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
        expected = a * unit(b1) @ unit(b2).T + (1 - a) * unit(l1) @ unit(l2).T
        np.testing.assert_allclose(x @ y.T, expected, atol=1e-6)
    with pytest.raises(ValueError):
        blend(b1, l1, 1.5)


def random_space(d=12, k=5, labels=4, seed=0):
    from xmr_gui.core.learn.heads import CheckpointSpace

    rng = np.random.default_rng(seed)

    def layers():
        return [
            (rng.standard_normal((16, d)).astype(np.float32), rng.standard_normal(16).astype(np.float32)),
            (rng.standard_normal((k, 16)).astype(np.float32), rng.standard_normal(k).astype(np.float32)),
        ]

    names = [f"l{i}" for i in range(labels)]
    return CheckpointSpace("ckpt:x", "b", layers(), layers(), names, rng.standard_normal((labels, k)))


def test_share_one_ranks_as_the_backbone_and_keeps_the_classifiers():
    from xmr_gui.core.learn.heads import BlendedSpace

    learned = random_space()
    rng = np.random.default_rng(1)
    photos, queries, prompts = (unit(rng.standard_normal((n, 12))) for n in (30, 6, 4))
    backbone = BlendedSpace(learned, 1.0, prompts)
    scores = backbone.texts(queries) @ backbone.images(photos).T
    np.testing.assert_allclose(scores, queries @ photos.T, atol=1e-6)
    assert (np.argsort(-scores, axis=1) == np.argsort(-(queries @ photos.T), axis=1)).all()
    np.testing.assert_allclose(backbone.classifiers @ backbone.images(photos).T, prompts @ photos.T, atol=1e-6)
    # suggestions come from the learned classifiers whatever the share: the learned part is recovered (or, at
    # share 1 where it is zero, recomputed from the backbone part)
    expected = learned.label_probabilities(learned.images(photos))
    for share in (0.0, 0.5, 1.0):
        space = BlendedSpace(learned, share, prompts)
        assert space.dim == 12 + 5
        np.testing.assert_allclose(space.label_probabilities(space.images(photos)), expected, rtol=1e-4, atol=1e-6)
    # share 0 ranks exactly as the learned space
    zero = BlendedSpace(learned, 0.0, prompts)
    np.testing.assert_allclose(
        zero.texts(queries) @ zero.images(photos).T,
        learned.texts(queries) @ learned.images(photos).T,
        atol=1e-6,
    )


def write_checkpoint(path, spec, d, share=None, seed=0):
    """conftest's linear checkpoint, with the label prompt vectors a blend needs and, when given, a card share."""
    from safetensors.numpy import load_file, save_file

    from conftest import write_linear_checkpoint
    from xmr_gui.core.learn.checkpoint import read_card

    write_linear_checkpoint(path, spec, d, ["a", "b", "c"], seed=seed)
    tensors = load_file(str(path))
    tensors["label_inputs"] = unit(np.random.default_rng(seed).standard_normal((3, d)))
    card = read_card(path)
    if share is not None:
        card["blend"] = {"backbone_share": share, "val_map": {"0": 0.1, "1": 0.2}}
    save_file(tensors, str(path), metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(card)})
    return tensors


def test_the_share_round_trips_through_the_card_and_old_cards_serve_the_learned_space(tmp_path, tiny_spec):
    from xmr_gui.core.learn.checkpoint import Checkpoint, CheckpointError
    from xmr_gui.core.learn.heads import BlendedSpace, CheckpointSpace

    write_checkpoint(tmp_path / "old.xmr", tiny_spec, 16)
    old = Checkpoint.load(tmp_path / "old.xmr")
    assert old.backbone_share == 0.0
    assert type(old.space()) is CheckpointSpace and old.space().identity == old.identity  # its index as before
    write_checkpoint(tmp_path / "new.xmr", tiny_spec, 16, share=0.75)
    new = Checkpoint.load(tmp_path / "new.xmr")
    space = new.space()
    assert isinstance(space, BlendedSpace) and space.share == 0.75 and new.backbone_share == 0.75
    assert space.identity != new.identity and space.dim == 16 + 8
    write_checkpoint(tmp_path / "bad.xmr", tiny_spec, 16, share=1.5)
    with pytest.raises(CheckpointError, match="backbone share"):
        Checkpoint.load(tmp_path / "bad.xmr")


def test_a_library_reindexes_when_the_share_changes(library, photos, tiny_spec, tmp_path):
    """Each share is its own space identity, hence its own index file and dimension: a library switching between
    checkpoints that differ only in share searches each in its own space."""
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.search.photos import search_text

    index_folder(library, photos)
    d = library.dim
    ids, feats = library.catalog.indexed_vectors(d)
    paths = library.catalog.paths_by_id()
    query = library.encoder.encode_texts(["a red photo"])
    for share in (0.0, 0.5, 1.0, 0.5):
        path = tmp_path / f"c{share}.xmr"
        write_checkpoint(path, tiny_spec, d, share=share)
        library.attach_checkpoint(path)
        space = library.space
        said = {
            0.0: f"checkpoint {path.name} on",
            0.5: "(search: 50% backbone) on",
            1.0: "(search: the backbone's own) on",
        }
        assert said[share] in library.model_name()  # what `xmr search` and the window's status bar show
        hits = search_text(library, "a red photo", k=len(ids))
        expected = (space.images(feats) @ space.texts(query)[0]).astype(np.float64)
        by_path = {paths[int(i)]: s for i, s in zip(ids, expected, strict=True)}
        assert [h.path for h in hits][:5] == sorted(by_path, key=lambda p: -by_path[p])[:5]
        np.testing.assert_allclose([h.score for h in hits], [by_path[h.path] for h in hits], atol=1e-4)
        library.save_index()
        if share == 1.0:  # the backbone's own ranking
            assert [h.path for h in hits] == [
                paths[int(ids[i])] for i in np.argsort(-(feats @ query[0]), kind="stable")
            ]


def test_choose_blend_never_picks_worse_than_the_backbone_on_validation():
    from conftest import synthetic_features
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides
    from xmr_gui.core.learn.serving import choose_blend, zero_shot
    from xmr_gui.core.learn.train import train_space

    ds, feats = synthetic_features()
    cfg = apply_overrides(TrainConfig.load("l2gcn"), ["epochs=1", "dim=16", "hidden=32", "gcn_hidden=16"])
    model = train_space(ds, feats, cfg).model
    share, reports = choose_blend(model, ds, feats, "val")
    assert sorted(reports) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert reports[1.0] == pytest.approx(zero_shot(ds, feats, "val"))  # share 1 is the untrained backbone
    assert reports[share]["map_avg"] == max(r["map_avg"] for r in reports.values())
    assert reports[share]["map_avg"] >= reports[1.0]["map_avg"]
    for least in (0.5, 0.75, 1.0):  # captions that are only labels: at least this share (serving.choose_blend)
        kept, again = choose_blend(model, ds, feats, "val", least)
        allowed = {s: r["map_avg"] for s, r in again.items() if s >= least}
        assert kept >= least and allowed[kept] == max(allowed.values())


def test_xmr_train_says_how_the_checkpoint_compares_and_which_blend_it_serves():
    from xmr_gui.cli.train import blend_lines, suggest_lines
    from xmr_gui.core.learn.recipes import TrainingResult

    def report(t2i, i2t):
        return {"map_t2i": t2i, "map_i2t": i2t, "map_avg": (t2i + i2t) / 2}

    def result(share):
        reports = {"0": report(0.3, 0.5), "0.25": report(0.45, 0.5), "0.5": report(0.5, 0.52), "1": report(0.48, 0.4)}
        return TrainingResult({}, {}, {}, {}, 1, 1, 0.1, 10, backbone_share=share, blend_val=reports)

    lines = blend_lines(result(0.5))
    assert lines[0] == (
        "text search on validation (mAP text→photo / photo→text): untrained 0.4800 / 0.4000, "
        "learned space 0.3000 / 0.5000, served 0.5000 / 0.5200"
    )
    assert lines[1].startswith("search blends 50% backbone with 50% learned space")
    assert blend_lines(result(1.0))[1].startswith("search uses the backbone's own space")
    assert blend_lines(result(0.0))[1].startswith("search uses the learned space alone")
    floored = dataclasses.replace(result(0.5), blend_least=0.5)
    assert blend_lines(floored)[1].startswith(
        "search blends 50% backbone with 50% learned space (the best on validation of the blends with at least 50% "
        "backbone: the captions are the photos' labels"
    )
    assert "at least" not in " ".join(blend_lines(result(0.5)))  # said only where the floor applied
    assert blend_lines(TrainingResult({}, {}, {}, {}, 1, 1, 0.1, 10)) == []  # nothing measured: nothing said
    assert suggest_lines(TrainingResult({}, {}, {}, {}, 1, 1, 0.1, 10)) == []
    votes = {"zero_shot": 0.3, "classifiers": 0.4, "with_cache": 0.5}
    alone = TrainingResult({}, {}, {}, {}, 1, 1, 0.1, 10, suggest_val=votes)
    assert suggest_lines(alone) == ["suggestions on validation (label-ranking AP): untrained 0.3000, checkpoint 0.4000"]
    queries = {"zero_shot": 0.3, "text": 0.35, "combined": 0.5, "classifier": 0.45}
    asked = TrainingResult({}, {}, queries, {}, 1, 1, 0.1, 10)
    assert suggest_lines(asked) == ["label queries on validation (mAP): untrained 0.3000, checkpoint 0.5000"]
    cached = TrainingResult({}, {}, {}, {}, 1, 1, 0.1, 10, cache_weight=0.25, cache_beta=5.5, suggest_val=votes)
    assert suggest_lines(cached)[0].startswith(
        "suggestions on validation (label-ranking AP): untrained 0.3000, checkpoint 0.5000 (its classifiers alone "
        "0.4000; with 25% of the training photos' vote"
    )


# -- the training photos' vote beside the classifiers (learn/cache.py) -------------------------------------------
def test_vote_shares_match_a_loop():
    from xmr_gui.core.learn.cache import vote_shares

    rng = np.random.default_rng(2)
    z, keys = unit(rng.standard_normal((3, 6))), unit(rng.standard_normal((5, 6)))
    labels = (rng.random((5, 4)) < 0.5).astype(np.float32)
    for beta in (1.0, 20.0):
        got = vote_shares(z, keys, labels, beta)
        for i in range(3):
            affinity = [np.exp(-beta * (1 - float(z[i] @ keys[j]))) for j in range(5)]
            for c in range(4):
                expected = sum(a * labels[j, c] for j, a in enumerate(affinity)) / sum(affinity)
                assert got[i, c] == pytest.approx(expected, rel=1e-5)


def test_the_vote_joins_only_when_it_ranks_labels_better_on_validation():
    from xmr_gui.core.learn.cache import choose

    rng = np.random.default_rng(3)
    labels = (rng.random((40, 5)) < 0.3).astype(np.float32)
    z = unit(labels + 0.05 * rng.standard_normal((40, 5)))  # photos sit where their labels point
    keys, key_labels = z[:20], labels[:20]
    noise = rng.random((20, 5)).astype(np.float32)
    w, beta, val = choose(noise, z[20:], keys, key_labels, labels[20:])
    assert w > 0 and val["with_cache"] > val["classifiers"]
    rarer_first = 0.9 - 0.01 * key_labels.sum(axis=0) / len(key_labels)  # a photo's most specific label on top
    perfect = labels[20:] * rarer_first + 0.05
    w, _, val = choose(perfect, z[20:], keys, key_labels, labels[20:])  # already perfect: alone
    assert w == 0 and val["with_cache"] == val["classifiers"]


def test_the_most_specific_labels_rank_matches_a_loop():
    from xmr_gui.core.learn.cache import rarest_reciprocal_rank

    rng = np.random.default_rng(4)
    scores = rng.random((30, 6)).round(1)  # rounded: ties, broken by label order as argsort(kind="stable") does
    labels = (rng.random((30, 6)) < 0.4).astype(np.float32)
    frequency = rng.permutation(6).astype(float)
    expected = []
    for i in range(30):
        true = [c for c in range(6) if labels[i, c]]
        if true:
            rarest = min(true, key=lambda c: frequency[c])
            order = list(np.argsort(-scores[i], kind="stable"))
            expected.append(1.0 / (order.index(rarest) + 1))
    assert rarest_reciprocal_rank(scores, labels, frequency) == pytest.approx(np.mean(expected))


def test_the_vote_is_chosen_so_a_photos_most_specific_label_stays_near_the_top():
    """Label-ranking AP prefers a vote that lifts a frequent parent label above a photo's own leaf label; the
    criterion the vote is chosen by does not (labels: parent, leaf a, leaf b; the photo has parent and a)."""
    from xmr_gui.core.learn.cache import label_ranking_ap, suggestion_quality

    labels = np.array([[1, 1, 0]], np.float32)
    frequency = np.array([10.0, 3.0, 3.0])
    classifiers = np.array([[0.2, 0.9, 0.5]])  # a, b, parent: the leaf first, the parent behind a wrong leaf
    with_vote = np.array([[0.8, 0.675, 0.425]])  # parent, a, b
    assert label_ranking_ap(with_vote, labels) > label_ranking_ap(classifiers, labels)
    assert suggestion_quality(classifiers, labels, frequency) > suggestion_quality(with_vote, labels, frequency)


def test_choose_takes_the_best_vote_on_the_grid():
    from xmr_gui.core.learn.cache import BETAS, WEIGHTS, choose, suggestion_quality, vote_shares

    rng = np.random.default_rng(5)
    labels = (rng.random((60, 6)) < 0.3).astype(np.float32)
    labels[:, 0] = 1  # a parent label on every photo
    z = unit(labels + 0.3 * rng.standard_normal((60, 6)))
    keys, key_labels, val_z, val_labels = z[:40], labels[:40], z[40:], labels[40:]
    probabilities = np.clip(val_labels * 0.6 + 0.4 * rng.random((20, 6)), 0, 1)
    w, beta, _ = choose(probabilities, val_z, keys, key_labels, val_labels)
    frequency = key_labels.sum(axis=0)
    grid = [(suggestion_quality(probabilities, val_labels, frequency), 0.0)] + [
        (
            suggestion_quality(
                (1 - v) * probabilities + v * vote_shares(val_z, keys, key_labels, b), val_labels, frequency
            ),
            v,
        )
        for b in BETAS
        for v in WEIGHTS[1:]
    ]
    got = (
        suggestion_quality(
            (1 - w) * probabilities + w * vote_shares(val_z, keys, key_labels, beta), val_labels, frequency
        )
        if w
        else grid[0][0]
    )
    assert got == pytest.approx(max(q for q, _ in grid))


def test_label_query_ap_matches_a_loop():
    """Label-query mAP: column c ranks the photos for a query naming label c (ties in photo order), averaged over
    the labels some photo carries."""
    from xmr_gui.core.learn.cache import label_query_ap

    rng = np.random.default_rng(6)
    scores = rng.random((25, 5)).round(1)
    labels = (rng.random((25, 5)) < 0.3).astype(np.float32)
    labels[:, 4] = 0  # a label no photo carries is left out
    aps = []
    for c in range(4):
        order = list(np.argsort(-scores[:, c], kind="stable"))
        hits, ap = 0, 0.0
        for rank, i in enumerate(order, 1):
            if labels[i, c]:
                hits += 1
                ap += hits / rank
        aps.append(ap / labels[:, c].sum())
    assert label_query_ap(scores, labels) == pytest.approx(np.mean(aps))
    assert label_query_ap(scores, np.zeros_like(labels)) == 0.0


def test_the_query_vote_is_chosen_on_the_grid_and_stays_out_when_it_does_not_help():
    from xmr_gui.core.learn.cache import BETAS, WEIGHTS, choose_query_vote, label_query_ap, vote_shares

    rng = np.random.default_rng(7)
    labels = (rng.random((60, 5)) < 0.3).astype(np.float32)
    z = unit(labels + 0.3 * rng.standard_normal((60, 5)))
    keys, key_labels, val_z, val_labels = z[:40], labels[:40], z[40:], labels[40:]
    direct = rng.random((20, 5)).astype(np.float32) * 0.1  # cosines that know little: the vote must help
    w, beta, val = choose_query_vote(direct, val_z, keys, key_labels, val_labels)
    grid = {
        (wq, b): label_query_ap(direct + wq * vote_shares(val_z, keys, key_labels, b), val_labels)
        for b in BETAS
        for wq in WEIGHTS[1:]
    }
    assert w > 0 and val["voted"] == pytest.approx(max(grid.values())) == pytest.approx(grid[(w, beta)])
    assert val["direct"] == pytest.approx(label_query_ap(direct, val_labels)) and val["voted"] > val["direct"]
    perfect = val_labels + 0.01 * np.arange(5)  # the labelled photos first in every column already
    w, _, val = choose_query_vote(perfect, val_z, keys, key_labels, val_labels)
    assert w == 0.0 and val["voted"] == val["direct"] == pytest.approx(1.0)


def test_lifting_in_blocks_matches_one_block(monkeypatch):
    from xmr_gui.core.learn import cache

    rng = np.random.default_rng(8)
    z, keys = unit(rng.standard_normal((50, 6))), unit(rng.standard_normal((9, 6)))
    voting = cache.LabelCache(keys, (rng.random((9, 3)) < 0.5).astype(np.float32), 0.5, 5.5)
    direct = rng.random(50).astype(np.float32)
    whole = voting.lift(direct, z, 1)
    np.testing.assert_allclose(whole, direct + 0.5 * cache.vote_shares(z, keys, voting.labels, 5.5)[:, 1], rtol=1e-6)
    monkeypatch.setattr(cache, "LIFT_CHUNK", 7)
    np.testing.assert_allclose(voting.lift(direct, z, 1), whole, rtol=1e-6)
    assert voting.lift(direct[:0], z[:0], 1).shape == (0,)


def test_a_cards_vote_round_trips_and_is_checked(tmp_path, tiny_spec):
    from safetensors.numpy import load_file, save_file

    from xmr_gui.core.learn.cache import vote_shares
    from xmr_gui.core.learn.checkpoint import Checkpoint, CheckpointError, read_card
    from xmr_gui.core.learn.heads import sigmoid

    path = tmp_path / "c.xmr"
    write_checkpoint(path, tiny_spec, 16, share=0.5)
    rng = np.random.default_rng(4)
    tensors, card = load_file(str(path)), read_card(path)
    tensors["cache.keys"] = unit(rng.standard_normal((10, 16))).astype(np.float16)
    tensors["cache.labels"] = (rng.random((10, 3)) < 0.5).astype(np.uint8)

    def save(name, card, tensors):
        save_file(tensors, str(tmp_path / name), metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(card)})
        return tmp_path / name

    voting = dict(card, suggest={"cache_weight": 0.25, "cache_beta": 5.5, "val": {}})
    ckpt = Checkpoint.load(save("v.xmr", voting, tensors))
    space, alone = ckpt.space(), ckpt.space(with_cache=False)
    photos = unit(rng.standard_normal((4, 16)))
    z = space.images(photos)
    keys = space.images(tensors["cache.keys"].astype(np.float32))
    expected = 0.75 * alone.label_probabilities(z) + 0.25 * vote_shares(z, keys, tensors["cache.labels"], 5.5)
    np.testing.assert_allclose(space.label_probabilities(z), expected, rtol=1e-5)
    np.testing.assert_allclose(
        alone.label_probabilities(z), sigmoid(ckpt.learned_space().images(photos) @ tensors["classifiers"].T), rtol=1e-5
    )
    silent = Checkpoint.load(save("s.xmr", dict(card, suggest={"cache_weight": 0.0, "cache_beta": 5.5}), tensors))
    assert silent.space().cache is None
    with pytest.raises(CheckpointError, match="cache weight"):
        Checkpoint.load(save("w.xmr", dict(card, suggest={"cache_weight": 1.5, "cache_beta": 5.5}), tensors))
    queries = dict(card, label_queries={"vote_weight": 0.5, "vote_beta": 20.0, "val": {}})
    asked = Checkpoint.load(save("q.xmr", queries, tensors))  # a label-query vote without the suggestions' one
    assert asked.space().cache is None and asked.space(with_cache=False).query_vote is None
    served = asked.space().query_vote
    assert served is not None and (served.weight, served.beta) == (0.5, 20.0)
    np.testing.assert_allclose(served.keys, asked.space().images(tensors["cache.keys"].astype(np.float32)), rtol=1e-6)
    for wrong in ({"vote_weight": 1.5}, {"vote_weight": True}, {"vote_beta": float("nan")}, {"vote_beta": 0}, {}):
        bad = dict(card, label_queries=dict({"vote_weight": 0.5, "vote_beta": 5.5}, **wrong))
        if not wrong:
            bad["label_queries"] = "0.5"
        with pytest.raises(CheckpointError, match="label-query vote"):
            Checkpoint.load(save("bad.xmr", bad, tensors))
    for version in ("2", None, 1.5, True, 0):
        bad = dict(card, suggest={"cache_weight": 0.0, "cache_beta": 5.5, "thresholds_version": version})
        with pytest.raises(CheckpointError, match="thresholds version"):
            Checkpoint.load(save("v2.xmr", bad, tensors))
    without = {k: v for k, v in tensors.items() if not k.startswith("cache.")}
    with pytest.raises(CheckpointError, match="need the training photos' cache"):
        Checkpoint.load(save("n.xmr", queries, without))
    tensors["cache.labels"] = tensors["cache.labels"][:, :2]
    with pytest.raises(CheckpointError, match="cache of training photos"):
        Checkpoint.load(save("x.xmr", voting, tensors))
