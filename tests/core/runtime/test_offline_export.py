"""The offline model's image tower on a tiny real net, against the ConSE recipe recomputed by a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import unit
from xmr_gui.core.runtime import offline
from xmr_gui.core.runtime.offline_export import group_members, image_tower

torch = pytest.importorskip("torch")


def _concepts(n_classes: int, n_groups: int, rng: np.random.Generator) -> offline.Concepts:
    groups = tuple(
        tuple(sorted(rng.choice(n_classes, int(rng.integers(2, 6)), replace=False).tolist())) for _ in range(n_groups)
    )
    names = tuple(f"class{c}" for c in range(n_classes)) + tuple(f"group{g}" for g in range(n_groups))
    return offline.Concepts(names, tuple((name,) for name in names), groups)


def _kept(scores: np.ndarray, t: int) -> np.ndarray:
    """`scores` with all but the t largest set to 0."""
    return np.where(scores >= np.sort(scores)[-t], scores, 0.0)


def test_the_image_tower_mixes_the_top_classes_and_the_top_groups_embeddings():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    n_classes, n_groups = offline.TOP_T + 4, offline.ANCESTOR_T + 2
    concepts = _concepts(n_classes, n_groups, rng)
    table = torch.nn.functional.normalize(torch.randn(n_classes + n_groups, 8), dim=-1)
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, n_classes))
    pixels = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    with torch.no_grad():
        got = image_tower(net, table, concepts)(torch.from_numpy(pixels)).numpy()
        logits = net(torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0).double().numpy()

    member = group_members(concepts).numpy()
    assert member.shape == (n_groups, n_classes)
    classes, groups = table.double().numpy()[:n_classes], table.double().numpy()[n_classes:]
    for image, z in enumerate(logits):
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        in_group = np.array([sum(p[c] for c in concepts.groups[g]) for g in range(n_groups)])
        v = unit(sum(w * classes[c] for c, w in enumerate(_kept(p, offline.TOP_T))))
        u = unit(sum(w * groups[g] for g, w in enumerate(_kept(in_group, offline.ANCESTOR_T))))
        np.testing.assert_allclose(got[image], unit(v + u), atol=1e-5)
