"""Heads and classifiers that start at the backbone (issue #25 item 1): CLIP-Adapter's residual heads
(`TrainConfig.residual`, model.ResidualHead) and ML-GCN's classifiers from the labels' text vectors
(`TrainConfig.text_classifiers`), each trained for real on a tiny synthetic set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import synthetic_features

TINY = ["hidden=32", "gcn_hidden=16", "dim=16"]
OPTIONS = ["adapter", "mlgcn", "adapter+mlgcn"]


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def config(name, *more):
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides

    return apply_overrides(TrainConfig.load(name), [*TINY, *more])


def untrained(cfg, ds, feats):
    from xmr_gui.core.learn.label_graph import LabelGraph
    from xmr_gui.core.learn.model import SharedSpaceModel

    torch.manual_seed(0)
    edge_index, edge_weight = LabelGraph.from_labels(ds.labels, cfg.tau, cfg.p).edges()
    d = feats.img.shape[1]
    return SharedSpaceModel(cfg, d, d, feats.label_inputs, edge_index, edge_weight).eval()


def served(model, feats):
    from xmr_gui.core.learn.train import project

    zi, zt = project(model, feats.img, feats.txt)
    with torch.no_grad():
        classifiers = model.classifiers().numpy()
    return zi, zt, classifiers


@pytest.mark.parametrize("use_gcn", [True, False])
@pytest.mark.parametrize("name", OPTIONS)
def test_at_step_zero_the_served_space_is_the_backbone_and_the_classifiers_zero_shot(name, use_gcn):
    ds, feats = synthetic_features()
    cfg = config(name, f"use_gcn={str(use_gcn).lower()}")
    model = untrained(cfg, ds, feats)
    zi, zt, classifiers = served(model, feats)
    if cfg.residual > 0:  # the identity: the backbone's own vectors, in its own dimension
        assert model.dim == feats.img.shape[1] != cfg.dim
        np.testing.assert_allclose(zi, feats.img, atol=1e-5)
        np.testing.assert_allclose(zt, feats.txt, atol=1e-5)
    else:
        assert model.dim == cfg.dim and not np.allclose(zi[:, :4], feats.img[:, :4], atol=1e-2)
    if cfg.text_classifiers:  # each classifier is its label's prompt through the text head, nothing added yet
        with torch.no_grad():
            np.testing.assert_allclose(classifiers, model.label_text().numpy(), atol=1e-6)
    if cfg.residual > 0 and cfg.text_classifiers:  # so the label scores are the untrained model's (zero-shot)
        np.testing.assert_allclose(zi @ classifiers.T, feats.img @ unit(feats.label_inputs).T, atol=1e-5)


def test_without_the_options_the_classifiers_do_not_start_at_zero_shot():
    ds, feats = synthetic_features()
    model = untrained(config("ussl"), ds, feats)
    _, _, classifiers = served(model, feats)
    with torch.no_grad():
        assert not np.allclose(classifiers, model.label_text().numpy(), atol=1e-2)


@pytest.mark.parametrize("use_gcn", [True, False])
@pytest.mark.parametrize("name", OPTIONS)
def test_each_option_trains_away_from_its_start_and_the_graph_takes_part(name, use_gcn):
    from xmr_gui.core.learn.train import choose_residual, train_space

    ds, feats = synthetic_features()
    cfg = config(name, f"use_gcn={str(use_gcn).lower()}", "epochs=4", "patience=4")
    start = served(untrained(cfg, ds, feats), feats)
    result = train_space(ds, feats, cfg)
    model = result.model
    assert len(result.history) == 4 and result.best_epoch >= 1
    assert result.history[-1].loss < result.history[0].loss
    after = served(model, feats)
    assert not np.allclose(after[0], start[0], atol=1e-3)  # the heads moved
    assert not np.allclose(after[2], start[2], atol=1e-3)  # so did the classifiers
    if use_gcn:  # the graph's part of the classifiers, zero at the start when they start at the text vectors
        assert float(model.gcn.conv2.lin.weight.detach().abs().sum()) > 0
    if cfg.residual > 0:
        ratio, scores = choose_residual(model, ds, feats)
        assert model.residual_ratio == ratio and cfg.residual in scores and ratio in scores
        assert scores[ratio] == max(scores.values())
        assert ratio == min(r for r, s in scores.items() if s == scores[ratio])  # nearer the backbone on ties


def test_residual_is_refused_out_of_range_and_without_one_backbone_space():
    from xmr_gui.core.learn.model import ConfigError, SharedSpaceModel

    with pytest.raises(ConfigError, match="residual"):
        config("adapter", "residual=1")
    ds, feats = synthetic_features()
    cfg = config("adapter")
    with pytest.raises(ConfigError, match="one space"):
        SharedSpaceModel(cfg, 24, 12, feats.label_inputs, *[np.zeros((2, 0), np.int64), np.zeros(0, np.float32)])


def test_xmr_train_serves_the_residual_heads_it_chose_and_numpy_agrees_with_torch(tmp_path, capsys):
    """The whole path: `xmr train --config adapter+mlgcn` on the tiny real model, the card's ratio, and the numpy
    space a library searches giving the test metrics the torch heads were measured with."""
    import os

    from xmr_gui.cli import main
    from xmr_gui.cli.train import blend_lines
    from xmr_gui.core.demo.world import write_demo
    from xmr_gui.core.learn.checkpoint import Checkpoint, CheckpointError
    from xmr_gui.core.learn.recipes import TrainingResult
    from xmr_gui.core.learn.train import RESIDUAL_RATIOS

    os.environ["XMR_HOME"] = str(tmp_path / "home")
    world = write_demo(tmp_path / "world", 80)
    out = tmp_path / "a.xmr"
    argv = ["train", str(world), "--config", "adapter+mlgcn", "--out", str(out), "--model", "xmr-tiny"]
    assert main([*argv, "--set", "epochs=2", "--set", "hidden=32", "--set", "gcn_hidden=16", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    ckpt = Checkpoint.load(out)
    said = blend_lines(TrainingResult(**printed))  # what `xmr train` says without --json
    assert f"the heads add {ckpt.residual:.0%} of their adapter to the backbone's vectors" in said[-1]
    dims = ckpt.card["dims"]
    assert dims["residual"] in {*RESIDUAL_RATIOS, 0.2} and ckpt.residual == dims["residual"]
    assert dims["dim"] == dims["d_img"] == dims["d_txt"]
    assert ckpt.card["metrics"]["residual_ratio"] == dims["residual"]
    assert main(["eval", str(out), str(world), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["checkpoint"]["map_avg"] == pytest.approx(ckpt.card["metrics"]["test"]["map_avg"], abs=1e-5)

    from safetensors.numpy import load_file, save_file

    card = ckpt.card
    card["dims"]["residual"] = 1.5
    save_file(
        load_file(str(out)),
        str(tmp_path / "bad.xmr"),
        metadata={"format": "xmr-checkpoint", "xmr_card": json.dumps(card)},
    )
    with pytest.raises(CheckpointError, match="residual ratio"):
        Checkpoint.load(tmp_path / "bad.xmr")
