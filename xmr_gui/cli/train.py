"""`xmr train` and `xmr eval`: train a shared space into a checkpoint, and measure one on a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Never, cast

from .common import CliError, Subparsers, say

if TYPE_CHECKING:
    from ..core.learn.recipes import TrainingResult
    from ..core.runtime.spec import ModelSpec


class _HelpWithLosses(argparse.Action):
    """`xmr train --help`, with the losses and hyper-parameters after the options: listing them imports torch, so
    they are found only when the help is asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None) -> None:
        parser.epilog = train_epilog()
        parser.print_help()
        parser.exit()


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "train",
        help="train a shared space (L2-GCN / USSL / BCLS) into one .xmr checkpoint",
        description="Train projection heads + the label-graph GCN on cached backbone features of the photos in "
        "FOLDER, labelled by its labels.jsonl (file, labels, caption[, split]), their XMP/IPTC keywords or their "
        "folders (--labels-from). Photos without labels are left out and listed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,  # its own -h/--help, below
    )
    p.add_argument("-h", "--help", action=_HelpWithLosses, help="show this help message and exit")
    p.add_argument(
        "dataset", metavar="FOLDER", help="photo folder, or a labelled dataset folder (e.g. from `xmr demo --out`)"
    )
    p.add_argument(
        "--labels-from",
        choices=("xmp", "folders", "jsonl"),
        default=None,
        help="where the labels are: jsonl = FOLDER/labels.jsonl (the default when it exists); xmp = each photo's "
        "keywords: XMP dc:subject, Lightroom/digiKam hierarchical keywords (a|b|c gives a, b and c) and IPTC "
        "keywords, embedded or in a sidecar photo.jpg.xmp or photo.xmp (the default otherwise); folders = each "
        "folder name between FOLDER and the photo. Split for xmp/folders: fixed by a hash of each photo's path "
        "(85%% train, 15%% val: no test photos, the report is on validation)",
    )
    p.add_argument(
        "--config",
        default="adapter+mlgcn",
        help="shipped config name (adapter+mlgcn, ussl, adapter, mlgcn, l2gcn, bcls, l2gcn+bcls, heads-only) or a JSON "
        "file (default adapter+mlgcn: USSL's losses with heads that start at the backbone and classifiers that start "
        "at the labels' text vectors, the best measured on real photos with their own labels, bench/RESULTS.md)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.xmr)")
    p.add_argument(
        "--model",
        default=None,
        help="backbone (as for `xmr index`). Default: the best available, as `xmr index` decides (a CLIP model "
        "in the local hub cache, else the offline imagenet-minilm); xmr-small with --train-backbone",
    )
    p.add_argument(
        "--weights",
        default=None,
        help="backbone weights (tag, file or random; default: the model's default, random for xmr-small/xmr-tiny)",
    )
    p.add_argument(
        "--train-backbone",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="first train the backbone from scratch for EPOCHS (CLIP loss) and embed it in the checkpoint",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set epochs=30 --set tau=0.5 --set circle_soft.lam=0.25",
    )
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(run=run_train)

    p = sub.add_parser("eval", help="mAP@all (i→t, t→i, avg) and R@1/5/10 of a checkpoint on a dataset split")
    p.add_argument("checkpoint", help=".xmr checkpoint")
    p.add_argument("dataset", help="labelled dataset folder")
    p.add_argument("--split", default="test", help="train, val or test (default test)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..core.learn.checkpoint import answered_label_queries, classifiers_answer
    from ..core.learn.model import TrainConfig
    from ..core.learn.recipes import apply_overrides, train_checkpoint
    from ..core.learn.train import EpochLog
    from ..core.runtime.prepare import fetch_weights

    cfg = apply_overrides(TrainConfig.load(args.config), args.set)
    spec = _backbone(args)
    dataset = _dataset(args.dataset, args.labels_from)
    fetch_weights(spec, on_step=lambda what: say(f"xmr: {what}"))  # a pretrained tag: downloaded once, as by index
    bar: tqdm[Never] | None = None  # a bar with no iterable: updated by hand

    def on_epoch(log: EpochLog, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="epoch", desc=f"train {cfg.name}", file=sys.stderr)
        bar.update(1)
        bar.set_postfix(loss=f"{log.loss:.4f}", val_mAP=f"{log.val_map:.4f}", val_score=f"{log.val_score:.4f}")

    try:
        metrics = train_checkpoint(
            dataset,
            cfg,
            args.out,
            spec,
            args.train_backbone,
            args.device,
            say=lambda m: say(f"xmr: {m}"),
            on_epoch=on_epoch,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(metrics.to_json()))
    else:
        t, z = metrics.test, metrics.zero_shot_test
        say(f"xmr: wrote {args.out} (best epoch {metrics.best_epoch}, {metrics.seconds_per_epoch:.2f} s/epoch)")
        for line in [*blend_lines(metrics), *suggest_lines(metrics, cfg.text_classifiers)]:
            say(f"xmr: {line}")
        if metrics.report_split != "test":
            say(
                "xmr: the table is on the validation photos (the labels' dataset keeps no test photos: all are "
                "trained on or validate); they chose the checkpoint's settings, so it flatters it a little"
            )
        print("metric\tcheckpoint\tzero_shot")
        for key in t:
            print(f"{key}\t{t[key]:.4f}\t{z[key]:.4f}")
        # one-label queries, as the checkpoint will answer them (label_query.py; Checkpoint.classifier_queries)
        q, v = metrics.label_queries_test, metrics.label_queries_val
        by_classifiers = classifiers_answer(v, cfg.text_classifiers)
        print(f"label_query_map\t{answered_label_queries(q, by_classifiers):.4f}\t{q['zero_shot']:.4f}")
        how = "its text vectors (its classifiers were not clearly better on validation)"
        if by_classifiers:
            how = "its label classifiers"
            if metrics.query_vote_weight > 0:
                how += " and the vote of the training photos that carry the label"
        say(f"xmr: a query naming one label will be answered by {how}")
    return 0


def blend_lines(metrics: TrainingResult) -> list[str]:
    """Checkpoint vs untrained on validation text search, and which blend of the two the checkpoint serves."""
    share = metrics.backbone_share
    if not metrics.blend_val or f"{share:g}" not in metrics.blend_val:
        return []
    lines = []
    if "1" in metrics.blend_val:

        def pair(r: dict[str, float]) -> str:
            return f"{r['map_t2i']:.4f} / {r['map_i2t']:.4f}"

        served, learned, untrained = metrics.validation(share), metrics.validation(0.0), metrics.validation(1.0)
        lines.append(
            f"text search on validation (mAP text→photo / photo→text): untrained {pair(untrained)}, "
            f"learned space {pair(learned)}, served {pair(served)}"
        )
    if share >= 1.0:
        lines.append(
            "search uses the backbone's own space (the learned space did not beat it on validation); "
            "the label classifiers still answer label queries and suggestions"
        )
    elif 0.0 < metrics.blend_least <= share:
        lines.append(
            f"search blends {share:.0%} backbone with {1 - share:.0%} learned space (the best on validation of the "
            f"blends with at least {metrics.blend_least:.0%} backbone: the captions are the photos' labels, so "
            "validation cannot tell how queries in your own words fare, and the backbone's space keeps them)"
        )
    elif share > 0.0:
        lines.append(f"search blends {share:.0%} backbone with {1 - share:.0%} learned space (best on validation)")
    else:
        lines.append("search uses the learned space alone (it beat every blend with the backbone on validation)")
    if metrics.residual_ratio > 0:
        lines.append(
            f"the heads add {metrics.residual_ratio:.0%} of their adapter to the backbone's vectors "
            "(CLIP-Adapter's residual ratio, best on validation)"
        )
    return lines


def suggest_lines(metrics: TrainingResult, text_start: bool = False) -> list[str]:
    """Checkpoint vs untrained on validation label queries and suggestions, and whether the training photos vote in
    them; `text_start`: the classifiers started at the labels' text vectors (`classifiers_answer`)."""
    from ..core.learn.checkpoint import answered_label_queries

    lines = []
    q = metrics.label_queries_val
    if q:
        answered = answered_label_queries(q, None, text_start)
        lines.append(f"label queries on validation (mAP): untrained {q['zero_shot']:.4f}, checkpoint {answered:.4f}")
    v = metrics.suggest_val
    if not v:
        return lines
    served = v["with_cache"] if metrics.cache_weight > 0 else v["classifiers"]
    line = f"suggestions on validation (label-ranking AP): untrained {v['zero_shot']:.4f}, checkpoint {served:.4f}"
    if metrics.cache_weight > 0:
        line += (
            f" (its classifiers alone {v['classifiers']:.4f}; with {metrics.cache_weight:.0%} of the training "
            "photos' vote, which the checkpoint keeps: their vectors, not the photos)"
        )
    return [*lines, line]


def _backbone(args: argparse.Namespace) -> ModelSpec:
    """--model/--weights; else xmr-small (random) to train from scratch with --train-backbone; else the best
    available model, as `xmr index` would decide for the folder."""
    from ..core import models
    from ..core.runtime.spec import ModelSpec

    if args.weights is not None and args.model is None and args.train_backbone == 0:
        raise CliError("--weights needs --model (which model the weights are for)")
    if args.train_backbone > 0:  # trained from scratch here: no pretrained weights to fetch
        return ModelSpec.parse(args.model or "xmr-small", args.weights or "random")
    if args.model is not None and args.weights is None and args.model in ("xmr-small", "xmr-tiny"):
        return ModelSpec.parse(args.model, "random")  # xmr's own configs have no pretrained weights
    decision = models.decide(args.dataset, models.ModelWish.from_words(args.model, args.weights))
    if decision.spec is None:  # the demo world's checkpoint: train on the real backbone, not on its drawings
        spec = models.offline_spec()
        say(f"xmr: backbone: {spec.describe()}")
        return spec
    say(f"xmr: backbone {decision.line.removeprefix('model: ')}")
    return decision.spec


FEW_VALIDATION = 10  # below this many validation photos, `xmr train` says its choices are rough


def _dataset(folder: str, labels_from: str | None) -> str:
    """The dataset folder to train on: FOLDER itself for jsonl, else the photos' labels (read here, with what
    was left out said on stderr) written as a labels.jsonl in the cache."""
    import hashlib
    import os

    from ..core.base import paths
    from ..core.learn.keywords import LabelSource, labelled_dataset

    if not os.path.isdir(folder):
        raise CliError(f"{folder} is not a folder")
    has_jsonl = os.path.isfile(os.path.join(folder, "labels.jsonl"))
    if labels_from is None:
        labels_from = "jsonl" if has_jsonl else "xmp"
        say(f"xmr: labels from {labels_from}" + (" (FOLDER/labels.jsonl)" if has_jsonl else " (no labels.jsonl)"))
    if labels_from == "jsonl":
        return folder
    ds, unlabelled, problems = labelled_dataset(folder, cast("LabelSource", labels_from))  # argparse's choices
    for path, problem in problems:
        say(f"xmr: {path}: {problem}")
    line = f"xmr: {len(ds.files)} photos with labels from {labels_from} ({len(ds.label_names)} labels)"
    if unlabelled:
        shown = ", ".join(str(p) for p in unlabelled[:10])
        more = " (first 10)" if len(unlabelled) > 10 else ""
        line += f"; {len(unlabelled)} without labels left out: {shown}{more}"
    say(line)
    train, val = len(ds.split("train")), len(ds.split("val"))
    line = f"xmr: split by a hash of each photo's path: {train} train, {val} val"
    if not (ds.splits == "val").any():  # Dataset.split: every 10th training photo validates instead
        line += " (no photo fell in validation, so every 10th training photo validates)"
    say(line)
    if not train:
        raise CliError(f"{len(ds.files)} labelled photo(s) leave none to train on: label more photos")
    if val < FEW_VALIDATION:
        say(
            f"xmr: note: only {val} validation photo(s): the checkpoint's choices (and the numbers below) rest on "
            "them, so they are rough; label more photos"
        )
    key = hashlib.sha256(f"{os.path.abspath(folder)}|{labels_from}".encode()).hexdigest()[:16]
    return str(ds.write_jsonl(paths.cache_dir() / "datasets" / key))


def run_eval(args: argparse.Namespace) -> int:
    from ..core.learn.recipes import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.dataset, args.split, args.device)
    if args.json:
        print(json.dumps(result))
        return 0
    print("metric\tcheckpoint\tzero_shot")
    for key, value in result["checkpoint"].items():
        print(f"{key}\t{value:.4f}\t{result['zero_shot'][key]:.4f}")
    return 0


def train_epilog() -> str:
    """The losses and their parameters, and the hyper-parameters with their defaults (imports torch)."""
    import inspect

    try:
        from ..core.learn.losses import REGISTRY
        from ..core.learn.model import TrainConfig
    except ImportError as exc:  # the packaged app has no torch
        return f"(training needs {exc.name}, which this install does not have: `pipx install 'xmr[all]'`)"

    lines = ['losses (in a config\'s "losses": {name: {"weight": w, param: value}}):']
    for name, cls in REGISTRY.items():
        params = [
            f"{k}={v.default}"
            for k, v in inspect.signature(cls.__init__).parameters.items()
            if k != "self" and v.default is not inspect.Parameter.empty
        ]
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name:12s} {', '.join(params) or '-'}   {doc}")
    lines.append("hyper-parameters (--set KEY=VALUE), with defaults:")
    for key, value in TrainConfig().to_dict().items():
        if key != "losses":
            lines.append(f"  {key} = {value}")
    return "\n".join(lines)
