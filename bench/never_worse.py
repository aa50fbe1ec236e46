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
  * adapter / mlgcn / adapter+mlgcn (with and without the GCN): USSL's losses with heads that start at the identity
    (CLIP-Adapter's residual, `residual`) and/or classifiers that start at the labels' text vectors with the GCN adding
    from zero (ML-GCN, `text_classifiers`); compared with the untrained model, Tip-Adapter and `ussl`.
  * a last table: `xmr suggest`'s suggestions (≤ 5 a photo) at the card's per-label thresholds, at one global 0.5 and
    at one global threshold chosen on validation by the same precision-target rule (issue #25 item 5).
On a machine shared with other work, XMR_BENCH_THREADS=1 (torch's threads) keeps a training at seconds, not minutes.
Columns: mAP i→t / t→i (captions), P@5 of one-word label queries (labels with ≥ 2 test photos), top-3 (a true label
among the 3 best) and top-3 leaf (the photo's deepest folder among them). Label scorers that do not change the
search space show the untrained model's mAP ("=").
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from ablation_real import Data, bootstrap, per_query_ap, precision_at, run_variant, top3

CONFIGS: list[tuple[str, str, list[str]]] = [
    ("heads + classifier loss", "heads-only", ["multilabel.weight=1"]),
    ("heads + classifier loss + GCN", "heads-only", ["multilabel.weight=1", "use_gcn=true"]),
    ("l2gcn without GCN", "l2gcn", ["use_gcn=false"]),
    ("l2gcn", "l2gcn", []),
    ("ussl without GCN", "ussl", ["use_gcn=false"]),
    ("ussl", "ussl", []),
    # the field's ways to keep the backbone while adapting it (issue #25 item 1), each with USSL's losses:
    # CLIP-Adapter's residual heads (start at the identity, ratio chosen on validation) ...
    ("adapter without GCN", "adapter", ["use_gcn=false"]),
    ("adapter", "adapter", []),
    # ... ML-GCN's classifiers that start at the labels' text vectors, the GCN (or a free offset) adding to them ...
    ("mlgcn without GCN", "mlgcn", ["use_gcn=false"]),
    ("mlgcn", "mlgcn", []),
    # ... and both
    ("adapter+mlgcn without GCN", "adapter+mlgcn", ["use_gcn=false"]),
    ("adapter+mlgcn", "adapter+mlgcn", []),
]
GCN_PAIRS = [
    ("heads + classifier loss + GCN", "heads + classifier loss"),
    ("l2gcn", "l2gcn without GCN"),
    ("ussl", "ussl without GCN"),
    ("adapter", "adapter without GCN"),
    ("mlgcn", "mlgcn without GCN"),
    ("adapter+mlgcn", "adapter+mlgcn without GCN"),
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


def suggested(scores: np.ndarray, cuts: np.ndarray, k: int = 5) -> np.ndarray:
    """(n, C) bool: what `xmr suggest` (search/suggest.py) offers — at most k labels, best first, each at or above
    its own threshold."""
    passing = np.where(scores >= cuts[None, :], scores, -np.inf)
    top = np.argsort(-passing, axis=1, kind="stable")[:, :k]
    out = np.zeros(scores.shape, bool)
    rows = np.arange(len(scores))[:, None]
    out[rows, top] = np.isfinite(passing[rows, top])
    return out


def global_cut(scores: np.ndarray, Y: np.ndarray, target: float) -> float:
    """The one threshold for every label chosen on validation as `cache.thresholds` chooses each label's: the lowest
    at which the suggestions are right `target` of the time (the best precision's, where none is)."""
    precision = {}
    for t in np.unique(np.round(scores, 4)):
        s = suggested(scores, np.full(scores.shape[1], t))
        precision[float(t)] = (s & (Y > 0)).sum() / max(s.sum(), 1)
    reaching = [t for t, p in precision.items() if p >= target]
    return min(reaching) if reaching else max(precision, key=lambda t: precision[t])


def threshold_values(space: Any, test: Split, val: Split) -> dict[str, np.ndarray]:
    """Item 5 of issue #25: per-label thresholds (the card's) against one global 0.5 and against the best global one
    chosen on validation; precision and recall of the suggestions on the test photos, and per-label precision."""
    from xmr_gui.core.base.defaults import SUGGEST_MIN_SCORE
    from xmr_gui.core.learn.cache import PRECISION_TARGET, thresholds

    scores = space.label_probabilities(space.images(test.img))
    val_scores = space.label_probabilities(space.images(val.img))
    cut = global_cut(val_scores, val.Y, PRECISION_TARGET)
    # what train_checkpoint writes into the card (cached runs from before the thresholds have none)
    own = thresholds(val_scores, val.Y, SUGGEST_MIN_SCORE)
    if space.thresholds is not None and space.global_threshold is None:  # cards from before learn/calibrate.py
        assert np.allclose(space.thresholds, own, atol=2e-3), np.abs(space.thresholds - own).max()
    C = scores.shape[1]
    out: dict[str, np.ndarray] = {"global_cut": np.array([cut])}
    for key, cuts in (("per_label", own), ("half", np.full(C, 0.5)), ("val_global", np.full(C, cut))):
        s = suggested(scores, np.asarray(cuts, np.float32))
        right = s & (test.Y > 0)
        out[key] = np.array([right.sum(), s.sum(), (test.Y > 0).sum()], float)
        out[key + "_labels"] = np.stack([right.sum(axis=0), s.sum(axis=0)]).astype(float)  # per label: right, offered
    return out


def checkpoint_rows(
    data: Data,
    feats: Any,
    name: str,
    config: str,
    overrides: list[str],
    seed: int,
    test: Split,
    typed,
    q,
    val: Split | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """The checkpoint as a library serves it (its card's blend and vote), the same with suggestions from its
    classifiers alone, and its learned space alone (share 0, no vote: what every checkpoint served before)."""
    from xmr_gui.core.search.label_query import label_scores

    run = run_variant(data, config, overrides, seed)
    ckpt = run["ckpt"]
    card = ckpt.card
    w = card["suggest"]["cache_weight"]
    print(
        f"  {name} seed {seed}: share {ckpt.backbone_share:g}, vote {w:g}, residual {ckpt.residual:g}, "
        f"{run['info']['seconds']:.0f} s",
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
        # label queries as `xmr search LABEL` answers them (with the training photos' vote when the card chose it)
        out[label] = values(zi, zt, label_scores(space, zi, typed), space.label_probabilities(zi), test, q)
    reported = run["info"]["metrics"]["test"]  # train_checkpoint's own report of the served space (torch heads)
    for k in ("map_i2t", "map_t2i"):
        assert abs(reported[k] - np.nanmean(out[name][k])) < 2e-3, (k, reported[k], np.nanmean(out[name][k]))
    out[name]["knob"] = np.array([ckpt.backbone_share, w, ckpt.residual])
    if val is not None:
        out[name].update(threshold_values(ckpt.space(), test, val))
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
            got = checkpoint_rows(data, feats, name, config, overrides, seed, test, typed, q, val)
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
            if any(v["knob"][2] > 0 for v in vs):
                knob += ", residual " + "/".join(f"{v['knob'][2]:g}" for v in vs)
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
    pairs += [(n, "ussl") for n, _, _ in CONFIGS if n.startswith(("adapter", "mlgcn")) and "without" not in n]
    # suggestions without the vote: it lifts top-3 but can cost the deepest folder
    pairs += [(f"{n}, classifiers alone", UNTRAINED) for n in ("adapter+mlgcn", "adapter+mlgcn without GCN")]
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
    thresholds_table(runs)


def thresholds_table(runs: dict[str, list[dict[str, np.ndarray]]]) -> None:
    """Suggestions on the test photos, `xmr suggest`'s way (≤ 5 labels a photo), at three kinds of threshold."""
    from xmr_gui.core.learn.cache import PRECISION_TARGET

    print("\nSuggestions (≤ 5 a photo) on the test photos, summed over the seeds: precision / recall; per-label")
    print(f"precision: of the labels suggested ≥ 3 times, how many are right ≥ {PRECISION_TARGET:g} of the time:\n")
    print(
        "| config | per-label thresholds P / R | labels ≥ target | global 0.5 P / R | labels ≥ target | "
        "global, chosen on validation (t) P / R | labels ≥ target |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, vs in runs.items():
        if "per_label" not in vs[0]:
            continue
        cells = []
        for key in ("per_label", "half", "val_global"):
            right, offered, true = np.sum([v[key] for v in vs], axis=0)
            per = np.sum([v[key + "_labels"] for v in vs], axis=0)
            asked = per[1] >= 3
            good = int((per[0][asked] / per[1][asked] >= PRECISION_TARGET).sum())
            cut = "/".join(f"{v['global_cut'][0]:.2f}" for v in vs) if key == "val_global" else ""
            cells.append(f"{'(' + cut + ') ' if cut else ''}{right / max(offered, 1):.3f} / {right / true:.3f}")
            cells.append(f"{good} of {int(asked.sum())}")
        print(f"| {name} | " + " | ".join(cells) + " |")
