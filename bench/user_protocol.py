"""Issue #25's own protocol, as a user trains: XMP keywords on half the photos, `xmr train` on that half, the other half
searched. How should `xmr train` share a user's labelled photos between training, validation and its test report?

    XMR_BENCH_THREADS=1 PYTHONPATH=. python bench/user_protocol.py [--halves 6] [--seeds 0 1 2]

bench/ablation_real.py trains on a fixed 40/10/50 split of the tuxpaint photos with their real captions; a user has
keywords only. Here, as the issue measured: the photos (tuxpaint, as the ablation) are split in two halves by a hash
of their path (salted per "half" run); the training half is copied flat into a folder with Lightroom-style XMP
sidecars carrying its folder names as keywords, read by the product (`keywords.labelled_dataset(FOLDER, "xmp")`:
captions "a photo of {keywords}", and `split_of` each photo's path: 85 % train, 15 % validation since this bench;
70/10/20 before), and trained with the default config by the product's recipe (`recipes.train_checkpoint`, what
`xmr train FOLDER --labels-from xmp` runs; since this bench its backbone share is at least
`serving.LABEL_CAPTIONS_MIN_SHARE` for such captions: `--least 0` trains as before). The other half is never seen;
on it, as served (`Checkpoint.space()`):

- label queries: P@5 of each label with ≥ 2 held-out photos as a one-word query (`label_query.label_scores`, what
  `xmr search LABEL` ranks by); untrained: the backbone's vector of the label as typed;
- free text: mAP of each photo's own description (its .txt, "An owl.": it names no label) as a query over the
  held-out photos (relevant: a shared label), and photo → descriptions;
- suggestions: a true label / the photo's deepest folder among the 3 most probable labels (untrained: the labels'
  "a photo of {label}" prompts, as `xmr describe --labels VOCAB`).

Ways of sharing the labelled half (`keywords.SPLITS`): "70/10/20" (before), "70/30" (the 20 % test photos join
validation, which every choice is made on), "90/10" (they join training and the vote's cache), "85/15" (the
product's now); `--floors` serves each checkpoint again with its backbone share raised to at least that. Paired
bootstrap over held-out queries / photos, pooled over halves (mean of the halves' means, resampled within each).
The intervals leave out seed-to-seed variance (values are averaged over seeds first), and the halves re-draw the
same 430 photos, so they are narrower than new photos would give.

    python bench/user_protocol.py --halves 6 --least 0 --floors 0 0.5 0.75           # the ways, decided on a-f
    python bench/user_protocol.py --only g h --shares 70/10/20 85/15 --least 0 --floors 0 0.5   # confirmed on g, h
    python bench/user_protocol.py --halves 8 --shares 70/10/20 85/15                  # the product as it is
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

WORK = Path(os.environ.get("XMR_USER_PROTOCOL", "/tmp/xmr_user_protocol"))
VERSION = "1"
DEFAULT_CONFIG = "adapter+mlgcn"  # `xmr train`'s default (cli/train.py)
SHARES = {
    "70/10/20": ((70, "train"), (80, "val"), (100, "test")),
    "70/30": ((70, "train"), (100, "val")),
    "85/15": ((85, "train"), (100, "val")),
    "90/10": ((90, "train"), (100, "val")),
}
HALVES = ("", "b", "c", "d", "e", "f", "g", "h")
METRICS = ("p5", "map_t2i", "map_i2t", "top3", "leaf")
TITLES = ("P@5 label query", "mAP text→photo", "mAP photo→text", "top-3", "top-3 deepest folder")


def halves(salt: str) -> tuple[Path, list[tuple[Path, list[str], str]], list[tuple[Path, list[str], str]]]:
    """(stamps root, training half, held-out half): (photo, folder labels, description) each."""
    from offline_model import tuxpaint_collection, tuxpaint_root

    from xmr_gui.core.learn.keywords import folder_labels

    root = tuxpaint_root()
    col = tuxpaint_collection(root)
    train, held = [], []
    for path, caption in zip(col.paths, col.descriptions, strict=True):
        name = path.relative_to(root).as_posix()
        bucket = int(hashlib.sha256(f"{salt}{name}".encode()).hexdigest(), 16) % 100
        (train if bucket < 50 else held).append((path, folder_labels(root, path), caption))
    return root, train, held


def keyword_folder(root: Path, train: list[tuple[Path, list[str], str]], salt: str) -> Path:
    """The training half copied flat (animals_birds_owl.png) with XMP sidecars of its folder names."""
    from xmr_gui.core.learn.keywords import write_sidecar

    folder = WORK / f"half-{salt or 'a'}" / "TRAIN"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path, labels, _ in train:
            dest = folder / "_".join(path.relative_to(root).parts)
            shutil.copy(path, dest)
            write_sidecar(dest, labels)
        (folder / ".complete").touch()
    return folder


def trained(folder: Path, share: str, seed: int, least: float | None = None) -> Any:
    """The default config trained on the keyword folder with `share`'s split (cached); `least`: the least backbone
    share it may choose for captions that are labels (None: as the product trained with that split: 0 for
    "70/10/20", the product before this bench; `serving.LABEL_CAPTIONS_MIN_SHARE` for the others)."""
    from xmr_gui.core.learn import keywords, recipes
    from xmr_gui.core.learn.checkpoint import Checkpoint
    from xmr_gui.core.learn.model import TrainConfig
    from xmr_gui.core.learn.recipes import apply_overrides, train_checkpoint
    from xmr_gui.core.models import offline_spec

    product_splits, keywords.SPLITS = keywords.SPLITS, SHARES[share]
    try:
        ds, _, _ = keywords.labelled_dataset(folder, "xmp")
    finally:
        keywords.SPLITS = product_splits
    data = ds.write_jsonl(folder.parent / f"ds-{share.replace('/', '-')}")
    cfg = apply_overrides(TrainConfig.load(DEFAULT_CONFIG), [f"seed={seed}"])
    product = recipes.LABEL_CAPTIONS_MIN_SHARE
    if least is None:
        least = 0.0 if share == "70/10/20" else product
    described = [VERSION, offline_spec().identity(), ds.fingerprint, share, cfg.to_dict(), least]
    key = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    out = folder.parent / "runs" / f"{key.hexdigest()[:20]}.xmr"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        recipes.LABEL_CAPTIONS_MIN_SHARE = least
        try:
            train_checkpoint(data, cfg, out, offline_spec(), device="cpu", say=lambda _: None)
        finally:
            recipes.LABEL_CAPTIONS_MIN_SHARE = product
    return Checkpoint.load(out)


def held_features(root: Path, held: list[tuple[Path, list[str], str]], encoder: Any) -> Any:
    from xmr_gui.core.learn.dataset import Dataset, Row, compute_features

    rows = [Row(str(p.resolve()), labels, caption, "test") for p, labels, caption in held]
    stamp = hashlib.sha256(json.dumps([VERSION, [r.file for r in rows]]).encode()).hexdigest()[:16]
    folder = WORK / f"held-{stamp}"
    if not (folder / "labels.jsonl").is_file():
        Dataset.from_rows(root, rows, stamp).write_jsonl(folder)
    return compute_features(Dataset.load(folder), encoder)


def evaluate(
    ckpt: Any, feats: Any, held: list[tuple[Path, list[str], str]], encoder: Any, floor: float = 0.0
) -> dict[str, np.ndarray]:
    """Per-query / per-photo values on the held-out half, for the checkpoint (as served; with `floor`, its backbone
    share raised to at least that) and untrained."""
    from ablation_real import per_query_ap, precision_at, top3

    from xmr_gui.core.learn.dataset import PROMPT
    from xmr_gui.core.search.label_query import label_scores

    labels = ckpt.labels
    column = {n: i for i, n in enumerate(labels)}
    ok = feats.ok
    Y = np.zeros((len(held), len(labels)), np.float32)
    leaf = np.full(len(held), -1)
    for i, (_, names, _) in enumerate(held):
        for n in names:
            if n in column:
                Y[i, column[n]] = 1
        if names and names[-1] in column:
            leaf[i] = column[names[-1]]
    keep = ok & (Y.sum(axis=1) > 0)
    img, txt, Y, leaf = feats.img[keep], feats.txt[keep], Y[keep], leaf[keep]
    q = np.nonzero(Y.sum(axis=0) >= 2)[0]
    typed = encoder.encode_texts(list(labels))
    prompts = encoder.encode_texts([PROMPT.format(n) for n in labels])
    blend = ckpt.card.get("blend") or {"backbone_share": 0.0}
    chosen = float(blend["backbone_share"])
    ckpt.card["blend"] = dict(blend, backbone_share=max(chosen, floor))
    try:
        space = ckpt.space()
    finally:
        ckpt.card["blend"] = blend
    zi, zt = space.images(img), space.texts(txt)
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, a, b, queries, suggest in (
        ("untrained", img, txt, img @ typed.T, img @ prompts.T),
        ("checkpoint", zi, zt, label_scores(space, zi, typed), space.label_probabilities(zi)),
    ):
        hit, leaf_hit = top3(suggest, Y, leaf)
        out[name] = {
            "p5": precision_at(queries[:, q].T, Y[:, q].T > 0),
            "map_t2i": per_query_ap(b, a, Y, Y),
            "map_i2t": per_query_ap(a, b, Y, Y),
            "top3": hit.astype(float),
            "leaf": np.where(leaf >= 0, leaf_hit, np.nan).astype(float),
        }
    return out  # type: ignore[return-value]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--halves", type=int, default=6, help="how many salted halves (up to 8)")
    ap.add_argument("--only", nargs="+", choices=[h or "a" for h in HALVES], help="these halves instead")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--shares", nargs="+", default=list(SHARES), choices=list(SHARES))
    ap.add_argument("--floors", type=float, nargs="+", default=[0.0], help="backbone shares served at least")
    ap.add_argument(
        "--least",
        type=float,
        help="the least backbone share training may choose when captions are labels (default: the product's)",
    )
    args = ap.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("XMR_BENCH_THREADS", "2")))
    from ablation_real import cpu_name
    from splits import pooled  # mean of the halves' means, resampled within each

    from xmr_gui.core.learn import recipes
    from xmr_gui.core.models import offline_spec
    from xmr_gui.core.runtime.factory import load_encoder

    started = time.perf_counter()
    encoder = load_encoder(offline_spec(), "cpu")
    results: dict[str, dict[str, dict[str, np.ndarray]]] = {}  # half → row → metric → per-query values
    gates: dict[str, list[str]] = {}
    chosen = [h for h in HALVES if (h or "a") in args.only] if args.only else HALVES[: args.halves]
    for salt in chosen:
        root, train, held = halves(salt)
        folder = keyword_folder(root, train, salt)
        feats = held_features(root, held, encoder)
        rows: dict[str, list[dict[str, np.ndarray]]] = {}
        for share in args.shares:
            for seed in args.seeds:
                ckpt = trained(folder, share, seed, args.least)
                for floor in args.floors:
                    got = evaluate(ckpt, feats, held, encoder, floor)
                    name = share if floor == 0 else f"{share}, served at share ≥ {floor:g}"
                    if args.least is None and share != "70/10/20":
                        name += f", trained at share ≥ {recipes.LABEL_CAPTIONS_MIN_SHARE:g}"  # the product now
                    rows.setdefault("untrained", []).append(got["untrained"])
                    rows.setdefault(name, []).append(got["checkpoint"])
                    gates.setdefault(name, []).append("cls" if ckpt.space().classifier_queries else "text")
        results[salt or "a"] = {
            name: {k: np.mean([r[k] for r in runs], axis=0) for k in METRICS} for name, runs in rows.items()
        }
        print(f"  half {salt or 'a'}: {len(train)} labelled, {len(held)} held out, "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
    names = ["untrained", *(n for n in results[next(iter(results))] if n != "untrained")]
    print("| row | " + " | ".join(TITLES) + " | label queries by classifiers (runs) |")
    print("|---|" + "---|" * (len(TITLES) + 1))
    for name in names:
        cells = [f"{np.mean([np.nanmean(results[h][name][k]) for h in results]):.3f}" for k in METRICS]
        gate = "" if name == "untrained" else f"{gates[name].count('cls')} of {len(gates[name])}"
        print(f"| {name} | " + " | ".join(cells) + f" | {gate} |")
    print()
    print("| comparison (pooled over halves) | " + " | ".join(TITLES) + " |")
    print("|---|" + "---|" * len(TITLES))
    pairs = [(n, "untrained") for n in names[1:]] + [(n, "70/10/20") for n in names[1:] if n != "70/10/20"]
    for a, b in pairs:
        if b not in names:
            continue
        cells = []
        for k in METRICS:
            m, lo, hi = pooled([results[h][a][k] - results[h][b][k] for h in results])
            cells.append(f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        print(f"| {a} − {b} | " + " | ".join(cells) + " |")
    seconds = time.perf_counter() - started
    print(
        f"\nCPU {cpu_name()}; {len(results)} halves × seeds {args.seeds}; {seconds:.0f} s; {time.strftime('%Y-%m-%d')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
