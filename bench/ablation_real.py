"""The label-graph ablation on real labelled photos (issue #18 item 4): does the GCN help on real folder labels?

    python bench/ablation_real.py --quick      # one seed (0)
    python bench/ablation_real.py              # seeds 0, 1, 2: mean ± sample std over seeds, paired bootstraps
    python bench/ablation_real.py --never-worse  # issue #25's table: against the backbone and training-free
                                                 # baselines (bench/never_worse.py)

Data: Debian's `tuxpaint-stamps-default` photo cut-outs (GPL: never committed or shipped; `bench/offline_model.py`'s
`tuxpaint_root()` fetches the package with apt-get download + dpkg -x when it is not installed, and
`tuxpaint_collection()` drops cartoon/, symbols/, SVGs and the *_mirror.png duplicates). Labels: the folder names,
read with the product's reader (`xmr_gui.core.learn.keywords.folder_labels`; `animals/birds/owl.png` → animals, birds;
checked against `labelled_dataset(root, "folders")`). Caption of a photo: the first line of its .txt ("An owl."),
a real description, not the labels. Split: bucket = sha256(path under the stamps folder) % 100; buckets 0-39 train,
40-49 val (early stopping), 50-99 test; XMR_ABLATION_SPLIT=NAME salts the hash (another split of the same photos,
bench/splits.py). The rows are built with `Dataset.from_rows`, written as labels.jsonl with
absolute paths (`Dataset.write_jsonl`) and trained by the product's `recipes.train_checkpoint` (`xmr train`) on the
offline model (imagenet-minilm lite0) features; each checkpoint is read back with `Checkpoint.load(...).space()`,
the numpy space a user's library gets.

Metrics on the test half:
  * mAP i→t / t→i: `evaluate.mean_average_precision` (relevant = shares ≥ 1 label; a caption is the query or item).
  * P@5 of label queries: each label with ≥ 2 test photos as a one-word query (its folder name as written) over the
    test photos; relevant = photos with that label. "cls": the label's classifier row (normalised; cosine with the
    photos' shared-space vectors), what a label query with a checkpoint is answered with; for zero-shot, the
    backbone's "a photo of {label}" embedding. "text": the plain text embedding of the label through the text head.
    "answered": what `xmr search LABEL` ranks by — the classifier + 0.25 × text (search/label_query.py), plus the
    training photos' vote when the card chose it (`label_query.label_scores`), when the checkpoint's card shows that
    beating text by 0.02 mAP on the validation split (`Checkpoint.classifier_queries`), else text.
  * top-3: share of test photos with ≥ 1 true label among the 3 most probable labels (classifier sigmoid; zero-shot:
    the label prompt embeddings); "leaf": the photo's deepest folder among the 3.
Paired bootstraps (2,000 resamples over queries / photos, seed-averaged per-query values) compare variants that
differ only in `use_gcn`.

Caches under /tmp/xmr_ablation_real (dataset jsonl, checkpoints, per-run results). The backbone features are the
product's own cache (`compute_features`, under the user cache dir or $XMR_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

CACHE = Path(os.environ.get("XMR_ABLATION_CACHE", "/tmp/xmr_ablation_real"))
VERSION = "7"  # bump when what a cached run holds changes (7: the vote in label queries; 6: the share, issue #25)
LATER_FIELDS = {"residual": 0.0, "text_classifiers": False}  # TrainConfig fields added since VERSION 6, at default

# (row name, shipped config, --set overrides). Pairs that differ only in use_gcn are bootstrapped.
VARIANTS: list[tuple[str, str, list[str]]] = [
    ("heads only", "heads-only", []),
    ("heads + classifier loss", "heads-only", ["multilabel.weight=1"]),
    ("+ GCN", "heads-only", ["multilabel.weight=1", "use_gcn=true"]),
    # before issue #18's training fixes: logits unscaled (z and the classifiers meet at |z·c| < ~2) ...
    ("heads + classifier loss, scale 1", "heads-only", ["multilabel.weight=1", "multilabel.scale=1"]),
    ("+ GCN, scale 1", "heads-only", ["multilabel.weight=1", "multilabel.scale=1", "use_gcn=true"]),
    # ... and the epoch kept chosen on retrieval mAP alone
    ("+ GCN, kept by retrieval", "heads-only", ["multilabel.weight=1", "use_gcn=true", "select_labels=0"]),
    ("l2gcn without GCN", "l2gcn", ["use_gcn=false"]),
    ("l2gcn", "l2gcn", []),
    ("l2gcn, scale 1, kept by retrieval", "l2gcn", ["multilabel.scale=1", "select_labels=0"]),
    ("ussl", "ussl", []),
    ("bcls", "bcls", []),
    ("l2gcn+bcls", "l2gcn+bcls", []),
]
PAIRS = [
    ("+ GCN", "heads + classifier loss"),
    ("+ GCN, scale 1", "heads + classifier loss, scale 1"),
    ("l2gcn", "l2gcn without GCN"),
    ("+ GCN", "heads only"),
    ("+ GCN", "+ GCN, kept by retrieval"),
    ("l2gcn", "l2gcn, scale 1, kept by retrieval"),
]
COLUMNS = [
    ("map_i2t", "mAP i→t"),
    ("map_t2i", "mAP t→i"),
    ("p5_cls", "P@5 label (cls)"),
    ("p5_text", "P@5 label (text)"),
    ("p5_product", "P@5 label (answered)"),
    ("top3", "top-3"),
    ("top3_leaf", "top-3 leaf"),
]
SPLIT_EDGES = ((40, "train"), (50, "val"), (100, "test"))


# Another split of the same photos (XMR_ABLATION_SPLIT=NAME: the hash is salted with it): to confirm on test photos
# no decision was made on what was decided on the default split's.
SPLIT_SALT = os.environ.get("XMR_ABLATION_SPLIT", "")


def split_of(name: str) -> str:
    key = f"{SPLIT_SALT}/{name}" if SPLIT_SALT else name
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
    return next(split for edge, split in SPLIT_EDGES if bucket < edge)


# -- data ------------------------------------------------------------------------------------------------------
@dataclass
class Data:
    ds: Any  # xmr_gui.core.learn.dataset.Dataset, loaded from the written labels.jsonl
    folder: Path
    leaf: np.ndarray  # (N,) index of each photo's deepest folder label
    n_photos: int


def build_data() -> Data:
    from offline_model import tuxpaint_collection, tuxpaint_root

    from xmr_gui.core.learn.dataset import Dataset, Row
    from xmr_gui.core.learn.keywords import folder_labels, labelled_dataset

    root = tuxpaint_root()
    col = tuxpaint_collection(root)
    # The product's reader over the whole stamps folder (it knows nothing of the skipped folders and mirrors):
    # every photo kept here must have the same labels there.
    product, _, _ = labelled_dataset(root, "folders")
    by_file = {r.file: r.labels for r in product.rows()}
    rows: list[Row] = []
    stamp = hashlib.sha256(VERSION.encode())
    if SPLIT_SALT:  # another split: another dataset (the default's fingerprint is as before)
        stamp.update(f"split:{SPLIT_SALT}".encode())
    for path, caption in zip(col.paths, col.descriptions, strict=True):
        name = path.relative_to(root).as_posix()
        labels = folder_labels(root, path)
        if sorted(labels) != sorted(by_file.get(name, [])):
            raise SystemExit(f"{name}: folder_labels {labels} but labelled_dataset {by_file.get(name)}")
        rows.append(Row(str(path.resolve()), labels, caption, split_of(name)))
        st = path.stat()
        stamp.update(json.dumps([name, labels, caption, st.st_size, st.st_mtime_ns]).encode())
    fingerprint = stamp.hexdigest()[:16]
    folder = CACHE / f"data-{fingerprint}"
    if not (folder / "labels.jsonl").is_file():
        Dataset.from_rows(root, rows, fingerprint).write_jsonl(folder)
    ds = Dataset.load(folder)
    column = {n: i for i, n in enumerate(ds.label_names)}
    leaf = np.array([column[r.labels[-1]] for r in rows])
    return Data(ds, folder, leaf, len(rows))


# -- metrics ---------------------------------------------------------------------------------------------------
def per_query_ap(queries: np.ndarray, items: np.ndarray, q_labels: np.ndarray, i_labels: np.ndarray) -> np.ndarray:
    """AP of each query (NaN where none is relevant): `evaluate.mean_average_precision` before its mean."""
    sim = queries @ items.T
    order = np.argsort(-sim, axis=1, kind="stable")
    relevant = ((q_labels @ i_labels.T) > 0)[np.arange(len(queries))[:, None], order]
    precision = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)[None, :]
    n_rel = relevant.sum(axis=1)
    ap = (precision * relevant).sum(axis=1) / np.maximum(n_rel, 1)
    return np.where(n_rel > 0, ap, np.nan)


def precision_at(scores: np.ndarray, relevant: np.ndarray, k: int = 5) -> np.ndarray:
    """scores (Q, N), relevant (Q, N) bool → P@k of each query."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return relevant[np.arange(len(scores))[:, None], top].mean(axis=1)


def top3(scores: np.ndarray, labels: np.ndarray, leaf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scores (N, C) → (≥ 1 true label in the top 3, the leaf label in the top 3), per photo."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    hit = labels[np.arange(len(scores))[:, None], top].max(axis=1) > 0
    return hit, (top == leaf[:, None]).any(axis=1)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def measure(
    zi: np.ndarray,
    zt: np.ndarray,
    cls_vectors: np.ndarray,
    text_vectors: np.ndarray,
    label_scores: np.ndarray,
    Y: np.ndarray,
    queries: np.ndarray,
    leaf: np.ndarray,
    product_scores: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-query / per-photo values of every column (their means are the table)."""
    from xmr_gui.core.learn.evaluate import mean_average_precision

    i2t, t2i = per_query_ap(zi, zt, Y, Y), per_query_ap(zt, zi, Y, Y)
    assert abs(np.nanmean(i2t) - mean_average_precision(zi, zt, Y, Y)) < 1e-9
    assert abs(np.nanmean(t2i) - mean_average_precision(zt, zi, Y, Y)) < 1e-9
    relevant = Y[:, queries].T > 0
    hit, leaf_hit = top3(label_scores, Y, leaf)
    return {
        "map_i2t": i2t,
        "map_t2i": t2i,
        "p5_cls": precision_at(unit(cls_vectors[queries]) @ zi.T, relevant),
        "p5_text": precision_at(unit(text_vectors[queries]) @ zi.T, relevant),
        "p5_product": precision_at(
            unit(text_vectors[queries]) @ zi.T if product_scores is None else product_scores[:, queries].T, relevant
        ),
        "top3": hit.astype(float),
        "top3_leaf": leaf_hit.astype(float),
    }


# -- runs ------------------------------------------------------------------------------------------------------
def run_variant(data: Data, config: str, overrides: list[str], seed: int) -> dict[str, Any]:
    """Train one checkpoint with the product's recipe (cached per dataset + config) and measure it."""
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides, train_checkpoint
    from xmr_gui.core.models import offline_spec

    cfg = apply_overrides(TrainConfig.load(config), [*overrides, f"seed={seed}"])
    described = cfg.to_dict()
    for later, default in LATER_FIELDS.items():  # runs from before a field existed keep their cache key
        if described.get(later) == default:
            described.pop(later)
    key = hashlib.sha256(json.dumps([VERSION, data.ds.fingerprint, described], sort_keys=True).encode())
    out = CACHE / "runs" / f"{key.hexdigest()[:20]}.xmr"
    info_path = out.with_suffix(".json")
    if out.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text())
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        metrics = train_checkpoint(data.folder, cfg, out, offline_spec(), device="cpu", say=lambda _: None)
        info = {"seconds": time.perf_counter() - started, "metrics": metrics.to_json()}
        info_path.write_text(json.dumps(info))
    return {"ckpt": Checkpoint.load(out), "info": info}


def trained_values(
    data: Data, run: dict[str, Any], feats: Any, test: np.ndarray, queries: np.ndarray, label_text: np.ndarray
) -> dict[str, np.ndarray]:
    from xmr_gui.core.search.label_query import label_scores

    space = run["ckpt"].space()
    assert space.labels == data.ds.label_names
    zi, zt = space.images(feats.img[test]), space.texts(feats.txt[test])
    text = space.texts(label_text)
    values = measure(
        zi,
        zt,
        space.classifiers,
        text,
        space.label_probabilities(zi),
        data.ds.labels[test],
        queries,
        data.leaf[test],
        label_scores(space, zi, label_text),  # what `xmr search LABEL` ranks by
    )
    product = run["info"]["metrics"]["test"]  # train_checkpoint's own test report (torch heads): must agree
    for k in ("map_i2t", "map_t2i"):
        assert abs(product[k] - np.nanmean(values[k])) < 2e-3, (k, product[k], np.nanmean(values[k]))
    return values


# -- report ----------------------------------------------------------------------------------------------------
def bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a − b and its 95% interval, resampling the paired queries/photos."""
    keep = ~(np.isnan(a) | np.isnan(b))
    d = a[keep] - b[keep]
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one seed (0)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--never-worse", action="store_true", help="issue #25's table (bench/never_worse.py)")
    args = p.parse_args(argv)
    seeds = [0] if args.quick else args.seeds

    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))  # 1 on a machine shared with others
    from xmr_gui.core.learn.dataset import compute_features
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    load_start, started = os.getloadavg()[0], time.perf_counter()
    data = build_data()
    ds = data.ds
    encoder = load_encoder(offline_spec(), "cpu")
    t0 = time.perf_counter()
    feats = compute_features(ds, encoder)
    feat_seconds = time.perf_counter() - t0
    if args.never_worse:
        from never_worse import report

        report(data, feats, encoder, seeds)
        print(
            f"\n{data.n_photos} photos; seeds {seeds}; CPU {cpu_name()}; features {feat_seconds:.0f} s; "
            f"{time.perf_counter() - started:.0f} s in all; load {load_start:.1f} → {os.getloadavg()[0]:.1f}; "
            f"{time.strftime('%Y-%m-%d')}"
        )
        return 0
    test = ds.split("test")
    test = test[feats.ok[test]]
    train = ds.split("train")
    Y = ds.labels[test]
    queries = np.nonzero(Y.sum(axis=0) >= 2)[0]
    in_train = ds.labels[train].sum(axis=0) > 0
    label_text = encoder.encode_texts(list(ds.label_names))  # the label as typed, no prompt

    values: dict[str, list[dict[str, np.ndarray]]] = {}
    seconds: dict[str, list[float]] = {}
    epochs: dict[str, list[int]] = {}
    zi, zt = feats.img[test], feats.txt[test]
    values["zero-shot offline model"] = [
        measure(zi, zt, feats.label_inputs, label_text, zi @ feats.label_inputs.T, Y, queries, data.leaf[test])
    ]
    for name, config, overrides in VARIANTS:
        for seed in seeds:
            run = run_variant(data, config, overrides, seed)
            values.setdefault(name, []).append(trained_values(data, run, feats, test, queries, label_text))
            seconds.setdefault(name, []).append(run["info"]["seconds"])
            epochs.setdefault(name, []).append(run["info"]["metrics"]["best_epoch"])
            print(f"  {name} seed {seed}: {run['info']['seconds']:.1f} s", file=sys.stderr)

    split_counts = {s: int((ds.splits == s).sum()) for s in ("train", "val", "test")}
    print(
        f"{data.n_photos} photos, {len(ds.label_names)} folder labels; split {split_counts}; "
        f"{len(queries)} label queries (≥ 2 test photos; {int(in_train[queries].sum())} of them with train photos); "
        f"backbone {encoder.identity.split('|')[0]}; features {feat_seconds:.0f} s; seeds {seeds}; "
        f"CPU {cpu_name()}; load {load_start:.1f} → {os.getloadavg()[0]:.1f}; "
        f"{time.perf_counter() - started:.0f} s in all; {time.strftime('%Y-%m-%d')}\n"
    )
    spread = "" if len(seeds) == 1 else " (mean ± sd over seeds)"
    print(f"| variant{spread} | config | " + " | ".join(c for _, c in COLUMNS) + " | best epoch | s / run |")
    print("|---" * (len(COLUMNS) + 4) + "|")
    for name, runs in values.items():
        cells = []
        for key, _ in COLUMNS:
            means = np.array([np.nanmean(v[key]) for v in runs])
            cells.append(f"{means.mean():.3f}" + (f" ± {means.std(ddof=1):.3f}" if len(means) > 1 else ""))
        conf = next((f"{c} {' '.join('--set ' + o for o in ov)}".strip() for n, c, ov in VARIANTS if n == name), "–")
        ep = f"{np.mean(epochs[name]):.0f}" if name in epochs else "–"
        sec = f"{np.mean(seconds[name]):.0f}" if name in seconds else "–"
        print(f"| {name} | {conf} | " + " | ".join(cells) + f" | {ep} | {sec} |")

    print("\nPaired bootstrap (seed-averaged per query / photo; mean difference [95% interval]):\n")
    print("| comparison | " + " | ".join(c for _, c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for a, b in PAIRS:
        cells = []
        for key, _ in COLUMNS:
            va = np.mean([v[key] for v in values[a]], axis=0)
            vb = np.mean([v[key] for v in values[b]], axis=0)
            d, lo, hi = bootstrap(va, vb)
            cells.append(f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        print(f"| {a} − {b} | " + " | ".join(cells) + " |")

    print("\nP@5 of label queries by whether the label has training photos (cls / text):\n")
    print("| variant | seen in train (cls) | unseen (cls) | seen (text) | unseen (text) |")
    print("|---|---|---|---|---|")
    seen = in_train[queries]
    for name, runs in values.items():
        cls = np.mean([v["p5_cls"] for v in runs], axis=0)
        txt = np.mean([v["p5_text"] for v in runs], axis=0)
        cells = [f"{x[m].mean():.3f}" if m.any() else "–" for x in (cls, txt) for m in (seen, ~seen)]
        print(f"| {name} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
