"""Label graph, losses (each against a plain-Python loop), metrics (against a naive reference), checkpoints."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import synthetic_features
from xmr_gui.core.learn.evaluate import mean_average_precision, recall_at_k
from xmr_gui.core.learn.label_graph import LabelGraph
from xmr_gui.core.learn.losses import REGISTRY, Forward, build_loss

Y_HAND = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]])


def test_label_graph_on_hand_made_matrix():
    g = LabelGraph.from_labels(Y_HAND, tau=0.5, p=0.2)
    assert g.counts[0, 0] == 4 and g.counts[0, 1] == 3 and g.counts[2, 3] == 1
    assert g.probabilities[0, 1] == pytest.approx(3 / 4) and g.probabilities[1, 0] == pytest.approx(1.0)
    assert g.probabilities[3, 2] == pytest.approx(1.0) and g.probabilities[2, 3] == pytest.approx(1 / 3)
    # P(j|i) ≥ τ = 0.5: 0→1 (3/4), 0→2 (2/4), 1→0 (3/3), 2→0 (2/3), 3→2 (1/1); 1→2 and 2→1 are 1/3
    assert g.n_edges == 5
    A = g.reweighted
    assert A[0, 0] == pytest.approx(0.8) and A[0, 1] == pytest.approx(0.1) and A[3, 2] == pytest.approx(0.2)
    np.testing.assert_allclose(A.sum(1), 1.0)
    assert g.with_params(0.9, 0.2).n_edges == 2  # only the certain ones: 1→0, 3→2
    edge_index, w = g.edges()
    assert edge_index.shape[1] == 5 + 4 and w.min() > 0
    # label 3 listens to label 2 (P(2|3) = 1): a message from source 2 to target 3
    k = [n for n in range(edge_index.shape[1]) if tuple(edge_index[:, n]) == (2, 3)]
    assert len(k) == 1 and w[k[0]] == pytest.approx(0.2)


def test_gcn_layer_equals_dense_normalised_propagation():
    from xmr_gui.core.learn.model import LabelGCN

    g = LabelGraph.from_labels(Y_HAND, tau=0.5, p=0.2)
    torch.manual_seed(0)
    gcn = LabelGCN(3, 5, 4)
    x = torch.randn(4, 3)
    ei, ew = (torch.as_tensor(a) for a in g.edges())
    messages, bias = gcn.last_layer_parts(x, ei, ew)
    dense = torch.as_tensor(g.normalized, dtype=torch.float32) @ messages + bias
    torch.testing.assert_close(gcn(x, ei, ew), dense, rtol=1e-5, atol=1e-5)


def hand_forward(seed=0, b=5, d=6):
    gen = torch.Generator().manual_seed(seed)
    img = F.normalize(torch.randn(b, d, generator=gen), dim=1).requires_grad_()
    txt = F.normalize(torch.randn(b, d, generator=gen), dim=1).requires_grad_()
    labels = torch.tensor(Y_HAND[:b], dtype=torch.float32)
    cls = torch.randn(4, d, generator=gen).requires_grad_()
    pseudo = torch.rand(b, b, generator=gen)
    pseudo = (pseudo + pseudo.T) / 2
    pseudo.fill_diagonal_(1)
    nodes = torch.randn(b, d, generator=gen).requires_grad_()
    mod = torch.randn(2 * b, generator=gen).requires_grad_()
    return Forward(img, txt, labels, cls, mod, nodes, pseudo)


def shares(y, i, j):
    return any(a and b for a, b in zip(y[i], y[j], strict=False))


def circle_loop(out, lam, m=0.25, gamma=64.0, T=0.1):
    S = (out.img @ out.txt.T).tolist()
    y = out.labels.tolist()
    b = len(S)
    terms = []
    for sim in (S, [list(r) for r in zip(*S, strict=False)]):
        for i in range(b):
            sp = [sim[i][j] for j in range(b) if shares(y, i, j)]
            sn = [sim[i][j] for j in range(b) if not shares(y, i, j)]
            if not sp or not sn:
                continue
            a = sum(math.exp(gamma * max(s + m, 0) * (s - m)) for s in sn)
            c = sum(math.exp(-gamma * max(1 + m - s, 0) * (s - 1 + m)) for s in sp)
            terms.append(math.log(1 + a * c))
    circle = sum(terms) / max(len(terms), 1)
    soft = 0.0
    for sim in (S, [list(r) for r in zip(*S, strict=False)]):
        for i in range(b):
            jac = []
            for j in range(b):
                inter = sum(1 for k in range(4) if y[i][k] and y[j][k])
                union = sum(1 for k in range(4) if y[i][k] or y[j][k])
                jac.append(inter / union if union else 0.0)
            q = [v / sum(jac) for v in jac]
            z = sum(math.exp(s / T) for s in sim[i])
            soft += -sum(q[j] * math.log(math.exp(sim[i][j] / T) / z) for j in range(b)) / b
    soft /= 2
    return lam * circle + (1 - lam) * soft


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_circle_soft_matches_loop(lam):
    out = hand_forward()
    loss = build_loss("circle_soft", lam=lam)(out)
    assert float(loss) == pytest.approx(circle_loop(out, lam), rel=1e-4)


def test_multilabel_and_adversarial_match_loop():
    out = hand_forward()
    y = out.labels.tolist()

    def bce(logit, t):
        p = 1 / (1 + math.exp(-logit))
        return -(t * math.log(p) + (1 - t) * math.log(1 - p))

    for scale in (1.0, 10.0):  # 10 is the default (the logits of unit vectors are otherwise within ±|H|)
        total = 0.0
        for z in (out.img, out.txt):
            logits = (scale * z @ out.classifiers.T).tolist()
            total += sum(bce(logits[i][c], y[i][c]) for i in range(5) for c in range(4)) / 20
        assert float(build_loss("multilabel", scale=scale)(out)) == pytest.approx(total / 2, rel=1e-5)
    assert float(build_loss("multilabel")(out)) == pytest.approx(total / 2, rel=1e-5)
    mod = out.modality_logits.tolist()
    expect = sum(bce(v, 1.0 if i < 5 else 0.0) for i, v in enumerate(mod)) / 10
    assert float(build_loss("adversarial")(out)) == pytest.approx(expect, rel=1e-5)


def nce_loop(sim, pos):
    rows = []
    for i in range(len(sim)):
        ps = [j for j in range(len(sim)) if pos[i][j]]
        if not ps:
            continue
        z = sum(math.exp(s) for s in sim[i])
        rows.append(-sum(math.log(math.exp(sim[i][j]) / z) for j in ps) / len(ps))
    return sum(rows) / len(rows)


def test_ussl_losses_match_loop():
    out = hand_forward()
    y = out.labels.tolist()
    b, T = 5, 0.1
    same_set = [[y[i] == y[j] for j in range(b)] for i in range(b)]
    nodes = F.normalize(out.set_nodes, dim=1)
    iso = sum(nce_loop((z @ nodes.T / T).tolist(), same_set) for z in (out.img, out.txt)) / 2
    assert float(build_loss("isomorphic")(out)) == pytest.approx(iso, rel=1e-4)
    pos = [[shares(y, i, j) and i != j for j in range(b)] for i in range(b)]
    intra = 0.0
    for z in (out.img, out.txt):
        sim = (z @ z.T / T).tolist()
        for i in range(b):
            sim[i][i] = -1e4
        intra += nce_loop(sim, pos) / 2
    assert float(build_loss("intra")(out)) == pytest.approx(intra, rel=1e-4)
    S = (out.img @ out.txt.T / T).tolist()
    eye = [[i == j for j in range(b)] for i in range(b)]
    inter = (nce_loop(S, eye) + nce_loop([list(r) for r in zip(*S, strict=False)], eye)) / 2
    assert float(build_loss("inter")(out)) == pytest.approx(inter, rel=1e-4)


def test_triplet_sn_matches_loop():
    out = hand_forward()
    S, P, b, m = (out.img @ out.txt.T).tolist(), out.pseudo.tolist(), 5, 0.2
    total = 0.0
    for i in range(b):
        total += max(max(m + S[i][j] - S[i][i], 0) * (1 - min(max(P[i][j], 0), 1)) for j in range(b) if j != i)
        total += max(max(m + S[j][i] - S[i][i], 0) * (1 - min(max(P[j][i], 0), 1)) for j in range(b) if j != i)
    assert float(build_loss("triplet_sn")(out)) == pytest.approx(total / (2 * b), rel=1e-5)


def test_kendall_matches_loop():
    out = hand_forward()
    S, P, b = (out.img @ out.txt.T).tolist(), out.pseudo.tolist(), 5
    loss = build_loss("kendall", temperature=0.1, window=2, hard=3)
    rows = []
    for i in range(b):
        order = sorted(range(b), key=lambda j: -P[i][j])
        terms = []
        for off in (1, 2):
            for r in range(b - off):
                j, k = order[r], order[r + off]
                ds = P[i][j] - P[i][k]
                sign = (ds > 0) - (ds < 0)
                terms.append((1 - math.tanh((S[i][j] - S[i][k]) / 0.1) * sign) / 2 if ds else 0.0)
        rows.append(sorted(terms, reverse=True)[:3])
    expect = sum(sum(r) for r in rows) / (3 * b)
    assert float(loss(out)) == pytest.approx(expect, rel=1e-4)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_loss_has_gradients(name):
    out = hand_forward(seed=3)
    loss = build_loss(name)(out)
    loss.backward()
    grads = [
        t.grad for t in (out.img, out.txt, out.classifiers, out.set_nodes, out.modality_logits) if t.grad is not None
    ]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


def naive_map(q, r, ql, rl):
    aps = []
    for i in range(len(q)):
        order = sorted(range(len(r)), key=lambda j: -float(q[i] @ r[j]))
        rel = [bool((ql[i] @ rl[j]) > 0) for j in order]
        if not any(rel):
            continue
        hits, precs = 0, []
        for pos, is_rel in enumerate(rel, 1):
            if is_rel:
                hits += 1
                precs.append(hits / pos)
        aps.append(sum(precs) / len(precs))
    return sum(aps) / len(aps)


def test_map_and_recall_against_naive_reference():
    rng = np.random.default_rng(0)
    q, r = rng.standard_normal((30, 8)), rng.standard_normal((40, 8))
    ql, rl = (rng.random((30, 5)) < 0.3).astype(float), (rng.random((40, 5)) < 0.3).astype(float)
    assert mean_average_precision(q, r, ql, rl) == pytest.approx(naive_map(q, r, ql, rl), rel=1e-9)
    x = rng.standard_normal((20, 8))
    y = x + 0.8 * rng.standard_normal((20, 8))
    naive = {
        k: np.mean([sum(float(x[i] @ y[j]) > float(x[i] @ y[i]) for j in range(20)) < k for i in range(20)])
        for k in (1, 5, 10)
    }
    assert recall_at_k(x, y) == pytest.approx(naive)


# -- training + checkpoints --------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_spec):
    import os

    home = tmp_path_factory.mktemp("home")
    os.environ["XMR_HOME"] = str(home)
    from xmr_gui.cli import main
    from xmr_gui.core.demo.world import write_demo

    world = write_demo(home / "world", 120)
    out = home / "tiny.xmr"
    code = main(
        [
            "train",
            str(world),
            "--config",
            "l2gcn",
            "--out",
            str(out),
            "--model",
            "xmr-tiny",
            "--train-backbone",
            "1",
            "--set",
            "epochs=2",
            "--json",
        ]
    )
    assert code == 0
    return world, out


def test_one_epoch_train_eval_and_checkpoint_round_trip(trained, capsys):
    from xmr_gui.cli import main
    from xmr_gui.core.learn.checkpoint import Checkpoint

    world, out = trained
    ckpt = Checkpoint.load(out)
    assert ckpt.labels[:3] == ["bird", "boat", "building"] and len(ckpt.labels) == 24 and "sky" not in ckpt.labels
    assert ckpt.card["graph"]["tau"] == 0.4 and len(ckpt.card["graph"]["counts"]) == 24
    blend, suggest = ckpt.card["blend"], ckpt.card["suggest"]  # chosen on validation (issue #25)
    assert blend["val_map"][f"{blend['backbone_share']:g}"] == max(blend["val_map"].values())
    assert set(blend["val_map"]) == {"0", "0.25", "0.5", "0.75", "1"}
    assert suggest["val"]["with_cache"] >= suggest["val"]["classifiers"]
    assert ("cache.keys" in ckpt.tensors) is (suggest["cache_weight"] > 0)  # photo vectors only when they vote
    capsys.readouterr()
    assert main(["eval", str(out), str(world), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["checkpoint"]["map_avg"] <= 1 and set(result["zero_shot"]) == set(result["checkpoint"])
    recorded = ckpt.card["metrics"]["test"]["map_avg"]
    assert result["checkpoint"]["map_avg"] == pytest.approx(recorded, abs=1e-5)  # numpy heads == torch heads


def test_index_and_describe_with_checkpoint(trained, capsys, tmp_path):
    from xmr_gui.cli import main

    world, out = trained
    db = tmp_path / "db"
    assert main(["index", str(world / "images"), "--db", str(db), "--checkpoint", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["describe", str(world / "images" / "demo_00000.jpg"), "--db", str(db), "-k", "3"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3 and all(0 <= float(r.split("\t")[0]) <= 1 for r in rows)
    assert main(["search", "a beach", "--db", str(db), "-k", "4"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(pickle.dumps({"a": 1})), "never unpickles"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated"),
        (lambda p: p.write_bytes(b""), "too short"),
    ],
)
def test_malformed_checkpoints_are_refused(trained, tmp_path, damage, message):
    from xmr_gui.core.learn.checkpoint import Checkpoint, CheckpointError

    bad = tmp_path / "bad.xmr"
    bad.write_bytes(trained[1].read_bytes())
    damage(bad)
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.load(bad)


def test_future_version_and_wrong_shapes_are_refused(trained, tmp_path):
    from safetensors.numpy import load_file, save_file

    from xmr_gui.core.learn.checkpoint import Checkpoint, CheckpointError, read_card

    card = read_card(trained[1])
    tensors = load_file(str(trained[1]))
    future = dict(card, format_version=99)
    save_file(tensors, str(tmp_path / "f.xmr"), metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(future)})
    with pytest.raises(CheckpointError, match="upgrade xmr"):
        Checkpoint.load(tmp_path / "f.xmr")
    tensors["classifiers"] = tensors["classifiers"][:5]
    save_file(tensors, str(tmp_path / "s.xmr"), metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(card)})
    with pytest.raises(CheckpointError, match="classifiers have shape"):
        Checkpoint.load(tmp_path / "s.xmr")


def test_neighbour_contributions_sum_to_the_logit(trained):
    from xmr_gui.core.learn.checkpoint import Checkpoint

    space = Checkpoint.load(trained[1]).learned_space()
    assert space.gcn is not None
    np.testing.assert_allclose(
        space.gcn["adjacency"] @ space.gcn["messages"] + space.gcn["bias"], space.classifiers, rtol=1e-4, atol=1e-5
    )
    z = space.images(np.random.default_rng(0).standard_normal((1, space._img[0][0].shape[1])))[0]
    for c in range(len(space.labels)):
        lifted = space.lifted_by(z, c, top=30)
        assert all(amount > 0 and name != space.labels[c] for name, amount in lifted)


def test_set_overrides_fields_and_loss_parameters_and_refuses_the_unknown():
    from xmr_gui.core.learn.model import ConfigError, TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides

    base = TrainConfig.load("l2gcn")
    cfg = apply_overrides(base, ["epochs=3", "tau=0.5", "circle_soft.lam=0.25", "kendall.weight=0.1", "name=mine"])
    assert (cfg.epochs, cfg.tau, cfg.name) == (3, 0.5, "mine")
    assert cfg.losses["circle_soft"]["lam"] == 0.25 and cfg.losses["kendall"] == {"weight": 0.1}
    assert base.epochs == 60 and "kendall" not in base.losses  # the loaded config is left as it was
    for bad, message in (
        ("epochs", "KEY=VALUE"),
        ("nope=1", "unknown hyper-parameter"),
        ("no_such_loss.weight=1", "unknown loss"),
        ("epochs=[1", "not valid JSON"),
        ("epochs=many", "epochs must be a whole number"),  # not a TypeError from deep in training
        ("select_labels=half", "select_labels must be a number"),
        ("use_gcn=1", "use_gcn must be true or false"),
        ("circle_soft.lam=big", "numeric parameters"),
    ):
        with pytest.raises(ConfigError, match=message):
            apply_overrides(base, [bad])


def test_a_config_file_that_is_not_an_object_is_a_config_error(tmp_path):
    from xmr_gui.core.learn.model import ConfigError, TrainConfig

    (tmp_path / "list.json").write_text('["epochs", 3]')
    with pytest.raises(ConfigError, match="not a JSON object"):
        TrainConfig.load(str(tmp_path / "list.json"))
    assert TrainConfig(epochs=3, tau=1).tau == 1  # an int is a number


# -- what training keeps: classifiers judged as label queries, probabilities at the trained scale ---------------
@pytest.mark.parametrize("config, weight", [("l2gcn", 0.5), ("heads-only", 0.0)])
def test_the_epoch_kept_is_the_best_mix_of_retrieval_and_label_queries(config, weight):
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides
    from xmr_gui.core.learn.train import label_query_map, project, train_space

    ds, feats = synthetic_features()
    cfg = apply_overrides(
        TrainConfig.load(config), ["epochs=12", "patience=100", "dim=16", "hidden=32", "gcn_hidden=16"]
    )
    result = train_space(ds, feats, cfg)
    history = result.history
    assert len(history) == 12
    for log in history:
        assert log.val_score == pytest.approx((1 - weight) * log.val_map + weight * log.val_labels)
    scores = [log.val_score for log in history]
    assert result.best_epoch == 1 + int(np.argmax(scores))
    # the model handed back is the kept epoch's: its validation numbers are that epoch's
    val = ds.split("val")
    zi, _ = project(result.model, feats.img[val], feats.txt[val])
    with torch.no_grad():
        kept = label_query_map(result.model.classifiers().numpy(), zi, ds.labels[val])
    assert kept == pytest.approx(history[result.best_epoch - 1].val_labels, abs=1e-6)


def test_saved_classifiers_give_the_probabilities_the_loss_trained():
    from xmr_gui.core.learn.heads import CheckpointSpace
    from xmr_gui.core.learn.losses.multilabel import MultiLabelLoss
    from xmr_gui.core.learn.model import SharedSpaceModel, TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides
    from xmr_gui.core.learn.train import TrainResult, checkpoint_tensors, logit_scale

    ds, feats = synthetic_features()
    cfg = apply_overrides(TrainConfig.load("l2gcn"), ["multilabel.scale=7", "dim=16"])
    assert logit_scale(cfg) == 7 and logit_scale(TrainConfig.load("heads-only")) == 1.0  # no classification loss
    with_bce = apply_overrides(TrainConfig.load("heads-only"), ["multilabel.weight=1"])
    assert logit_scale(with_bce) == MultiLabelLoss.DEFAULT_SCALE == 10
    graph = LabelGraph.from_labels(ds.labels, cfg.tau, cfg.p)
    model = SharedSpaceModel(cfg, 24, 24, feats.label_inputs, *graph.edges()).eval()
    tensors = checkpoint_tensors(TrainResult(model, graph))
    space = CheckpointSpace("x", "b", [], [], ds.label_names, tensors["classifiers"])
    z = F.normalize(torch.randn(5, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    with torch.no_grad():
        trained = torch.sigmoid(7 * z @ model.classifiers().T).numpy()
    np.testing.assert_allclose(space.label_probabilities(z.numpy()), trained, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(  # the GCN's parts are scaled alike: lifted_by amounts add up to the logit
        tensors["gcn.adjacency"] @ tensors["gcn.messages"] + tensors["gcn.bias"], tensors["classifiers"], atol=1e-4
    )


def test_the_card_decides_whether_label_queries_use_the_classifiers(trained, tmp_path):
    from safetensors.numpy import load_file, save_file

    from xmr_gui.core.learn.checkpoint import Checkpoint, read_card
    from xmr_gui.core.search import label_query

    card = read_card(trained[1])
    assert card["train_config"]["losses"]["multilabel"]["scale"] == 10  # the scale its classifiers were saved at
    for split in ("val", "test"):
        measured = card["metrics"][f"label_queries_{split}"]
        assert set(measured) == {"classifier", "text", "combined", "served", "zero_shot"} and all(
            0 < v <= 1 for v in measured.values()
        )
    tensors = load_file(str(trained[1]))
    if "cache.keys" not in tensors:  # the vote needs the training photos
        rng = np.random.default_rng(0)
        tensors["cache.keys"] = rng.standard_normal((6, card["dims"]["d_img"])).astype(np.float16)
        tensors["cache.labels"] = (rng.random((6, len(card["labels"]))) < 0.5).astype(np.uint8)
    cases = [  # (combined, served: with the training photos' vote; None: a card from before it), text, expected
        ((0.4, 0.4), 0.6, False),
        ((0.6, 0.6), 0.4, True),
        ((0.41, 0.41), 0.40, False),  # a tie: text
        ((0.41, 0.45), 0.40, True),  # the vote makes the difference
        ((0.45, 0.41), 0.40, False),  # the card serves the vote: its number decides
        ((0.6, None), 0.4, True),  # an older card: "combined" decides
        ((0.41, 0.41), 0.40, "text start"),  # classifiers that started at the labels' text vectors win ties
        ((0.40, 0.40), 0.40, "text start"),
        ((0.40, 0.39), 0.40, False),  # ... but not a loss
    ]
    for (combined, served), text, expected in cases:
        numbers = {**measured, "combined": combined, "served": served, "text": text}
        if served is None:
            del numbers["served"]
        changed = dict(card, metrics=dict(card["metrics"], label_queries_val=numbers))
        changed["label_queries"] = {"vote_weight": 0.5 if served is not None else 0.0, "vote_beta": 5.5, "val": {}}
        if expected == "text start" or (served, text) == (0.39, 0.40):
            changed["train_config"] = dict(card["train_config"], text_classifiers=True)
            expected = True if expected == "text start" else expected
        path = tmp_path / f"{expected}.xmr"
        save_file(tensors, str(path), metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(changed)})
        ckpt = Checkpoint.load(path)
        space = ckpt.space()
        assert space.classifier_queries is expected
        named = label_query.resolve(space, "dog")
        assert (named is not None and named.how == "label") is expected
        said = label_query.explain(space, "dog")
        assert said is not None and said.startswith("as the label 'dog'" if expected else "by its text: ")
        # what gets no vote (a query naming several labels, a `label:` term, a space without the training photos)
        # is gated on the classifiers without it: "combined"
        unvoted = combined >= text + (0.0 if changed["train_config"].get("text_classifiers") else 0.02)
        assert space.classifier_terms is unvoted
        assert ckpt.space(with_cache=False).classifier_queries is unvoted
        words = label_query.resolve(space, "a dog running along a wide sandy beach in the evening")
        assert (words is not None and words.how == "words") is unvoted


def test_without_a_validation_split_the_held_out_photos_are_not_trained_on():
    from xmr_gui.core.learn.dataset import Dataset, Row

    rows = [Row(f"p{i}.jpg", ["a"], "", "train" if i < 30 else "test") for i in range(40)]
    ds = Dataset.from_rows("/nonexistent", rows, "no-val")
    train, val = ds.split("train"), ds.split("val")
    assert len(val) == 3 and not set(train) & set(val) and sorted({*train, *val}) == list(range(30))
    assert list(ds.split("test")) == list(range(30, 40))
