"""Never worse than the backbone (issue #25): trained checkpoints against the untrained model and training-free
baselines, on the real-label ablation's photos and split (bench/ablation_real.py: tuxpaint stamps, folder labels).

    python bench/ablation_real.py --never-worse           # seeds 0, 1, 2
    python bench/ablation_real.py --never-worse --quick   # seed 0

Rows, all measured on the test half (209 photos) and, where something is chosen, chosen on the validation split only:
  * untrained: the offline backbone alone (imagenet-minilm lite0): search by its vectors, label queries by the label
    as typed, suggestions by "a photo of {label}" (what `xmr search` / `xmr describe --labels` do without a checkpoint).
  * nearest-labelled-photos vote: the 5 training photos nearest in the backbone space vote for their labels
    (similarity-weighted tie-break); a label query ranks photos by their vote for it.
  * linear probe: one logistic regression per label on the backbone image vectors of the training photos
    (scikit-learn, C chosen on validation).
  * Tip-Adapter: zero-shot prompt cosine + α × the affinity-weighted vote of every training photo
    (affinity exp(−β(1 − cos)), the vote normalised to a share), α and β chosen on validation.
  * each config, trained by `recipes.train_checkpoint` and served as a library would (`Checkpoint.space()`: the
    backbone share and the training photos' vote its card chose on validation, learn/space.py `blend` and
    learn/cache.py): search in that space, label queries as `xmr search LABEL` answers them, suggestions by its
    label probabilities; ", classifiers alone": the same with suggestions from its classifiers only (no vote);
    ", learned space alone": share 0 and no vote, what every checkpoint served before issue #25.
Columns: mAP i→t / t→i (captions), P@5 of one-word label queries (labels with ≥ 2 test photos), top-3 (a true label
among the 3 best) and top-3 leaf (the photo's deepest folder among them). Label scorers that do not change the
search space show the untrained model's mAP ("=").
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from ablation_real import Data, bootstrap, per_query_ap, precision_at, run_variant, top3, unit

CONFIGS: list[tuple[str, str, list[str]]] = [
    ("heads + classifier loss", "heads-only", ["multilabel.weight=1"]),
    ("heads + classifier loss + GCN", "heads-only", ["multilabel.weight=1", "use_gcn=true"]),
    ("l2gcn without GCN", "l2gcn", ["use_gcn=false"]),
    ("l2gcn", "l2gcn", []),
    ("ussl without GCN", "ussl", ["use_gcn=false"]),
    ("ussl", "ussl", []),
]
GCN_PAIRS = [
    ("heads + classifier loss + GCN", "heads + classifier loss"),
    ("l2gcn", "l2gcn without GCN"),
    ("ussl", "ussl without GCN"),
]
COLUMNS = [
    ("map_i2t", "mAP i→t"),
    ("map_t2i", "mAP t→i"),
    ("p5", "P@5 label query"),
    ("top3", "top-3"),
    ("top3_leaf", "top-3 leaf"),
]
UNTRAINED = "untrained backbone"
ALPHAS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
BETAS = (1.0, 3.0, 5.5, 10.0, 20.0)


class Split:
    """One split's backbone vectors and labels."""

    def __init__(self, data: Data, feats: Any, name: str) -> None:
        idx = data.ds.split(name)
        self.idx = idx[feats.ok[idx]]
        self.img, self.txt = feats.img[self.idx], feats.txt[self.idx]
        self.Y = data.ds.labels[self.idx]
        self.leaf = data.leaf[self.idx]


def values(
    zi: np.ndarray | None, zt: np.ndarray | None, query_scores: np.ndarray, label_scores: np.ndarray, s: Split, q
) -> dict[str, np.ndarray]:
    """Per-query / per-photo values. query_scores (photos, labels): how a one-label query ranks photos."""
    hit, leaf_hit = top3(label_scores, s.Y, s.leaf)
    out = {
        "p5": precision_at(query_scores[:, q].T, s.Y[:, q].T > 0),
        "top3": hit.astype(float),
        "top3_leaf": leaf_hit.astype(float),
    }
    if zi is not None and zt is not None:
        out["map_i2t"], out["map_t2i"] = per_query_ap(zi, zt, s.Y, s.Y), per_query_ap(zt, zi, s.Y, s.Y)
    return out


def objective(scores: np.ndarray, s: Split) -> float:
    """What validation chooses a label scorer's knobs by: the product's own (learn/cache.py `label_ranking_ap`)."""
    from xmr_gui.core.learn.cache import label_ranking_ap

    return label_ranking_ap(scores, s.Y)


def knn_vote(query: np.ndarray, keys: np.ndarray, Y: np.ndarray, k: int = 5) -> np.ndarray:
    sim = query @ keys.T
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(query))[:, None]
    return (Y[top] * (1.0 + 1e-3 * sim[rows, top])[..., None]).sum(axis=1)


def cache_share(query: np.ndarray, keys: np.ndarray, Y: np.ndarray, beta: float) -> np.ndarray:
    """Tip-Adapter's cache: exp(−β(1 − cos)) affinity to every training photo, its vote as a share of the total."""
    a = np.exp(-beta * (1.0 - query @ keys.T))
    return (a @ Y) / np.maximum(a.sum(axis=1, keepdims=True), 1e-12)


def baselines(
    train: Split, val: Split, test: Split, prompts: np.ndarray, typed: np.ndarray, q: np.ndarray
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """The training-free rows and the linear probe, with what validation chose for them."""
    rows: dict[str, dict[str, np.ndarray]] = {}
    zs = test.img @ prompts.T
    rows[UNTRAINED] = values(test.img, test.txt, test.img @ typed.T, zs, test, q)
    vote = knn_vote(test.img, train.img, train.Y)
    rows["nearest-labelled-photos vote (k 5)"] = values(None, None, vote, vote, test, q)

    from sklearn.linear_model import LogisticRegression

    def probe(c: float, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), train.Y.shape[1]))
        for j in np.nonzero(train.Y.sum(axis=0) > 0)[0]:
            if train.Y[:, j].all():
                out[:, j] = 1.0
                continue
            fit = LogisticRegression(C=c, max_iter=2000).fit(train.img, train.Y[:, j])
            out[:, j] = fit.predict_proba(x)[:, 1]
        return out

    best_c = max((0.1, 1.0, 10.0, 100.0), key=lambda c: objective(probe(c, val.img), val))
    p = probe(best_c, test.img)
    rows[f"linear probe (C {best_c:g})"] = values(None, None, p, p, test, q)

    def tip(s: Split, alpha: float, beta: float) -> np.ndarray:
        return s.img @ prompts.T + alpha * cache_share(s.img, train.img, train.Y, beta)

    alpha, beta = max(((a, b) for b in BETAS for a in ALPHAS), key=lambda ab: (objective(tip(val, *ab), val), -ab[0]))
    t = tip(test, alpha, beta)
    rows[f"Tip-Adapter (α {alpha:g}, β {beta:g})"] = values(None, None, t, t, test, q)
    return rows, {"probe_c": best_c, "tip_alpha": alpha, "tip_beta": beta}


def checkpoint_rows(
    data: Data, feats: Any, name: str, config: str, overrides: list[str], seed: int, test: Split, typed, q
) -> dict[str, dict[str, np.ndarray]]:
    """The checkpoint as a library serves it (its card's blend and vote), the same with suggestions from its
    classifiers alone, and its learned space alone (share 0, no vote: what every checkpoint served before)."""
    from xmr_gui.core.learn.space import label_query_vectors

    run = run_variant(data, config, overrides, seed)
    ckpt = run["ckpt"]
    card = ckpt.card
    w = card["suggest"]["cache_weight"]
    print(
        f"  {name} seed {seed}: share {ckpt.backbone_share:g}, vote {w:g}, {run['info']['seconds']:.0f} s",
        file=sys.stderr,
    )
    out: dict[str, dict[str, np.ndarray]] = {}
    spaces = (
        (name, ckpt.space()),
        (f"{name}, classifiers alone", ckpt.space(with_cache=False)),
        (f"{name}, learned space alone", ckpt.learned_space()),
    )
    for label, space in spaces:
        zi, zt = space.images(test.img), space.texts(test.txt)
        text = space.texts(typed)
        answered = label_query_vectors(space.classifiers, text) if space.classifier_queries else text
        out[label] = values(zi, zt, zi @ unit(answered).T, space.label_probabilities(zi), test, q)
    reported = run["info"]["metrics"]["test"]  # train_checkpoint's own report of the served space (torch heads)
    for k in ("map_i2t", "map_t2i"):
        assert abs(reported[k] - np.nanmean(out[name][k])) < 2e-3, (k, reported[k], np.nanmean(out[name][k]))
    out[name]["knob"] = np.array([ckpt.backbone_share, w])
    return out


def report(data: Data, feats: Any, encoder: Any, seeds: list[int]) -> None:
    ds = data.ds
    train, val, test = (Split(data, feats, s) for s in ("train", "val", "test"))
    q = np.nonzero(test.Y.sum(axis=0) >= 2)[0]
    typed = encoder.encode_texts(list(ds.label_names))  # the label as typed, as `xmr search dog` encodes it
    rows, chosen = baselines(train, val, test, feats.label_inputs, typed, q)
    runs: dict[str, list[dict[str, np.ndarray]]] = {name: [v] for name, v in rows.items()}
    for name, config, overrides in CONFIGS:
        for seed in seeds:
            got = checkpoint_rows(data, feats, name, config, overrides, seed, test, typed, q)
            for row, v in got.items():
                runs.setdefault(row, []).append(v)
    print(f"chosen on validation: {chosen}\n")
    base = runs[UNTRAINED][0]
    spread = " (mean ± sd over seeds)" if len(seeds) > 1 else ""
    print(f"| variant{spread} | backbone share, vote w | " + " | ".join(c for _, c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for name, vs in runs.items():
        cells = []
        for key, _ in COLUMNS:
            if key not in vs[0]:
                cells.append("=")
                continue
            means = np.array([np.nanmean(v[key]) for v in vs])
            cells.append(f"{means.mean():.3f}" + (f" ± {means.std(ddof=1):.3f}" if len(means) > 1 else ""))
        knob = ""
        if "knob" in vs[0]:
            knob = "share " + "/".join(f"{v['knob'][0]:g}" for v in vs)
            knob += ", vote " + "/".join(f"{v['knob'][1]:g}" for v in vs)
        print(f"| {name} | {knob or '–'} | " + " | ".join(cells) + " |")

    def averaged(name: str, key: str) -> np.ndarray:
        vs = runs[name]
        return np.mean([v[key] if key in v else base[key] for v in vs], axis=0)

    print("\nPaired bootstrap (seed-averaged per query / photo; mean difference [95% interval]; '=': neither row")
    print("changes the search space):\n")
    print("| comparison | " + " | ".join(c for _, c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    tip = next(n for n in runs if n.startswith("Tip-Adapter"))
    pairs = [(n, UNTRAINED) for n in runs if n != UNTRAINED and "alone" not in n]
    pairs += GCN_PAIRS + [(a, tip) for a, _ in GCN_PAIRS] + [(a, f"{a}, classifiers alone") for a, _ in GCN_PAIRS]
    for a, b in pairs:
        cells = []
        for key, _ in COLUMNS:
            if all(n == UNTRAINED or key not in runs[n][0] for n in (a, b)):
                cells.append("=")  # neither changes the search space
                continue
            d, lo, hi = bootstrap(averaged(a, key), averaged(b, key))
            cells.append(f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        print(f"| {a} − {b} | " + " | ".join(cells) + " |")
