"""`xmr`: index photo folders and search them by text or by photo, from a terminal.

Results go to stdout, one per line (`score<TAB>path` or `score<TAB>label`; JSON Lines with --json), so they
pipe; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .core.base import paths
from .core.base.defaults import BATCH_SIZE
from .core.base.errors import BUG_HINT, XmrError, is_expected

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_WEIGHTS = "laion2b_s34b_b79k"


class CliError(XmrError):
    """A command line that cannot be run as given (a missing folder, conflicting options)."""


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="DIR",
        help="database folder (default: one under the user data dir, "
        "keyed by the photo folder's absolute path; see `xmr paths`)",
    )


def _result_options(p: argparse.ArgumentParser, k: int) -> None:
    p.add_argument("-k", type=int, default=k, metavar="N", help=f"at most N results (default {k})")
    p.add_argument(
        "--min-score",
        type=float,
        default=-1.0,
        metavar="S",
        help="only results with cosine similarity >= S (default: no threshold)",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per result")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmr",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `xmr COMMAND --help` for each command's options. Quick start: `xmr demo`.",
    )
    parser.add_argument("--version", action="version", version=f"xmr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "index",
        help="encode every image in a folder once; re-runs only touch what changed",
        description="Index FOLDER: new and changed images are encoded, deleted ones dropped, "
        "unreadable ones listed by `xmr skipped`. Interrupted runs resume where they stopped.",
    )
    p.add_argument("folder", help="photo folder to index (recursively; hidden files are ignored)")
    _db_option(p)
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"open_clip model name, packaged config (xmr-tiny, xmr-small) or path to a model JSON "
        f"config (default {DEFAULT_MODEL})",
    )
    p.add_argument(
        "--weights",
        default=DEFAULT_WEIGHTS,
        help="open_clip pretrained tag, local weights file (.safetensors/.pt), or 'random' for a "
        f"seeded random model for tests and benchmarks (default {DEFAULT_WEIGHTS})",
    )
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="allow fetching pretrained weights from the model hub (never done otherwise)",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the image encoder runs; auto picks CUDA when present (default auto)",
    )
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "int8"),
        default="auto",
        help="image tower precision: int8 = quantised for ONNX Runtime on CPU (1.8-2.3x faster indexing); "
        "auto (default) = int8 on CPU only if it agrees with fp32 on this machine (checked once per model and "
        "CPU: cosine >= 0.999 and the same top-10 neighbours), else fp32; fp32 on CUDA. `xmr doctor` shows "
        "what was chosen and why",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help=f"images per forward pass (default {BATCH_SIZE}, chosen by a measured sweep)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=max(1, min(4, os.cpu_count() or 1)),
        metavar="N",
        help="image decoding threads (default: cores, at most 4)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a trained .xmr checkpoint: its backbone encodes, and "
        "search runs in its learned shared space (overrides --model/--weights)",
    )
    p.add_argument(
        "--backend",
        choices=("hnsw", "qdrant"),
        default=None,
        help="vector index: hnsw (hnswlib, default) or qdrant (qdrant-client, embedded); switching "
        "rebuilds the index from stored vectors without re-encoding",
    )
    p.add_argument(
        "--portable",
        action="store_true",
        help="keep the database inside FOLDER (FOLDER/.xmr), e.g. for a library on an external drive "
        "that moves between computers; searches from inside FOLDER find it",
    )
    p.add_argument(
        "--storage",
        choices=("fp32", "fp16"),
        default=None,
        help="how the catalog stores vectors: fp32 (default) or fp16 (half the size, same search "
        "results in the measured benchmark); applies to vectors written from now on, remembered",
    )
    p.add_argument("--rebuild", action="store_true", help="forget the existing database and index from scratch")
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"added", "updated", "unchanged", "removed", "skipped"} counts as one JSON object: '
        "unchanged = indexed files with no change, skipped = files unreadable after this run (new or still; "
        "the ones `xmr skipped` lists)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_index)

    p = sub.add_parser(
        "search",
        help="text → image (or --image: image → image) search; score<TAB>path",
        description="Search an indexed folder. Prints `score<TAB>absolute path`, best first.",
    )
    p.add_argument("query", nargs="?", help='what to look for, e.g. "a dog on the beach"')
    p.add_argument("--image", metavar="PATH", help="find photos similar to this one instead of a text query")
    _db_option(p)
    p.add_argument(
        "--folder",
        metavar="DIR",
        help="which indexed folder to search when --db is not given "
        "(default: the current directory or its nearest indexed parent, else the last indexed folder)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="search in this checkpoint's space (default: the one the index was built with, if any)",
    )
    _result_options(p, 20)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser(
        "describe",
        help="image → text: rank labels for a photo; score<TAB>label",
        description="Rank the labels of a vocabulary for PATH: the built-in photo vocabulary, "
        "or --labels FILE (one label per line). Prints `score<TAB>label`, best first.",
    )
    p.add_argument("image", metavar="PATH", help="the photo to describe")
    _db_option(p)
    p.add_argument("--labels", metavar="FILE", help="vocabulary file, one label per line")
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="rank the checkpoint's labels with its GCN label classifiers (scores are probabilities)",
    )
    _result_options(p, 10)
    p.set_defaults(run=cmd_describe)

    p = sub.add_parser(
        "skipped",
        help="files that could not be indexed, each with its reason",
        description="List files that were skipped: `path<TAB>reason`.",
    )
    _db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("-k", type=int, default=None, metavar="N", help="at most N rows")
    p.add_argument("--json", action="store_true", help="print JSON Lines {path, reason}")
    p.set_defaults(run=cmd_skipped)

    p = sub.add_parser(
        "demo",
        help="build the demo photo world; without --out, also index and search it",
        description="Write the built-in demo dataset (drawn scenes + labels.jsonl with labels "
        "and captions). With --out only writes it; without, builds it in the user data dir, "
        "indexes it and runs a few example searches.",
    )
    p.add_argument("--out", metavar="DIR", help="write the dataset here and stop")
    p.add_argument("--size", type=int, default=400, metavar="N", help="number of images (default 400)")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    _db_option(p)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser(
        "train",
        help="train a shared space (L2-GCN / USSL / BCLS) into one .xmr checkpoint",
        description="Train projection heads + the label-graph GCN on cached backbone features of "
        "DATASET (a folder with labels.jsonl: file, labels, caption[, split]).",
        epilog=_train_epilog() if list(argv or [])[:1] == ["train"] else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", help="labelled dataset folder (e.g. from `xmr demo --out`)")
    p.add_argument(
        "--config",
        default="l2gcn",
        help="shipped config name (l2gcn, ussl, bcls, l2gcn+bcls, heads-only) or a JSON file (default l2gcn)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.xmr)")
    p.add_argument("--model", default="xmr-small", help="backbone architecture (default xmr-small)")
    p.add_argument("--weights", default="random", help="backbone weights (tag, file or random; default random)")
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
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("eval", help="mAP@all (i→t, t→i, avg) and R@1/5/10 of a checkpoint on a dataset split")
    p.add_argument("checkpoint", help=".xmr checkpoint")
    p.add_argument("dataset", help="labelled dataset folder")
    p.add_argument("--split", default="test", help="train, val or test (default test)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=cmd_eval)

    sub.add_parser(
        "gui", help="open the window: xmr gui [FOLDER] [--checkpoint FILE] [--self-test] (see xmr gui --help)"
    )

    p = sub.add_parser(
        "graph",
        help="draw a label co-occurrence graph to PNG and print its edges",
        description="The label graph of a checkpoint (--checkpoint), a labelled dataset (--dataset) "
        "or a shipped example (--example mirflickr), with τ binarisation and p re-weighting. "
        "Prints one row per edge: label<TAB>neighbour<TAB>P(neighbour|label)<TAB>weight.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", metavar="FILE")
    source.add_argument("--dataset", metavar="DIR")
    source.add_argument("--example", choices=("mirflickr",), help="MIRFlickr-25K's real label co-occurrences")
    p.add_argument("--tau", type=float, default=None, help="binarisation threshold (default: the source's, or 0.4)")
    p.add_argument("--p", type=float, default=None, help="re-weighting p (default: the source's, or 0.2)")
    p.add_argument("--png", metavar="FILE", help="write the drawing here")
    p.add_argument("--json", action="store_true", help="print JSON Lines {label, neighbour, probability, weight}")
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser(
        "map",
        help="2-D map of the shared space (images, labels, queries) as CSV",
        description="Project every indexed image, the label embeddings and optional text queries "
        "to 2-D (PCA, or UMAP), cached per index + checkpoint. CSV columns: kind, path_or_text, "
        "labels, x, y.",
    )
    _db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--checkpoint", metavar="FILE", help="map this checkpoint's space")
    p.add_argument("--method", choices=("umap", "pca"), default="umap", help="projection (default umap)")
    p.add_argument("--query", action="append", default=[], metavar="TEXT", help="also place this text query")
    p.add_argument("--csv", required=True, metavar="FILE", help="write the points here ('-' for stdout)")
    p.set_defaults(run=cmd_map)

    p = sub.add_parser("export", help="write an index's vectors as Parquet (path, vector, model)")
    _db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--parquet", required=True, metavar="FILE")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("import", help="make a searchable index from a Parquet export (built elsewhere)")
    p.add_argument("--parquet", required=True, metavar="FILE")
    p.add_argument("--folder", metavar="DIR", help="where the photos are on this machine (default: as exported)")
    _db_option(p)
    p.add_argument("--json", action="store_true", help='print {"imported": N, "db": DIR}')
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("paths", help="print where xmr keeps data, caches and settings")
    p.set_defaults(run=cmd_paths)

    p = sub.add_parser(
        "doctor", help="show this machine's CPU features, runtimes, and which precision each model runs at and why"
    )
    p.add_argument("folder", nargs="?", help="also show the library of this photo folder (default: none)")
    _db_option(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(run=cmd_doctor)
    return parser


# -- helpers -----------------------------------------------------------------------------------
def _open_library(args: argparse.Namespace, near: str | None = None):  # type: ignore[no-untyped-def]
    from .core.store.library import Library, find_library, most_recent_library

    start = getattr(args, "folder", None) or near or os.getcwd()
    db = args.db or find_library(start) or find_library(os.getcwd()) or most_recent_library()
    if db is None:
        raise CliError("no indexed folder yet: run `xmr index FOLDER` first (or pass --db)")
    lib = Library.open(db)
    if getattr(args, "checkpoint", None):
        lib.attach_checkpoint(args.checkpoint, remember=False)
    if not args.db and not Path(start).resolve().is_relative_to(Path(lib.folder)):
        _say(f"xmr: using the index of {lib.folder} (pass --folder or --db to choose another)")
    return lib


def _emit(rows: Sequence[object], as_json: bool, fields: tuple[str, str], fmt: Callable[[object], str]) -> None:
    out = sys.stdout
    for row in rows:
        if as_json:
            out.write(json.dumps({f: getattr(row, f) for f in fields}, ensure_ascii=False) + "\n")
        else:
            out.write(fmt(row) + "\n")
    out.flush()


def _tqdm_progress(total_hint: str, quiet: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    bar = None

    def update(progress) -> None:  # type: ignore[no-untyped-def]
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=progress.total, unit="img", desc=total_hint, file=sys.stderr, dynamic_ncols=True)
        if progress.skipped:
            bar.set_postfix(skipped=progress.skipped, refresh=False)
        bar.update(progress.done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


def _train_epilog() -> str:
    import inspect

    try:
        from .core.learn.losses import REGISTRY
        from .core.learn.model import TrainConfig
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


# -- commands ----------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from .core.indexing.indexer import index_folder
    from .core.learn import checkpoint
    from .core.runtime.prepare import prepare_model
    from .core.runtime.spec import ModelSpec
    from .core.store.library import Library, library_dir

    folder = os.path.abspath(args.folder)
    if not os.path.isdir(folder):
        raise CliError(f"{args.folder} is not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise CliError(f"{args.folder} cannot be read (permission denied)")
    if args.batch_size < 1 or args.workers < 1:
        raise CliError("--batch-size and --workers must be at least 1")
    db = library_dir(folder, args.db, args.portable)
    if args.rebuild and db.exists():
        import shutil

        shutil.rmtree(db)
    spec = checkpoint.choose_backbone(args.checkpoint, ModelSpec.parse(args.model, args.weights))
    started = time.perf_counter()

    def step(what: str) -> None:
        if not args.quiet:
            _say(f"xmr: [{time.perf_counter() - started:5.1f} s] {what}")

    prepared = prepare_model(spec, args.precision, args.device, args.allow_download, on_step=step)
    spec = prepared.spec
    if spec.weights_kind == "random":
        _say(f"xmr: model {spec.describe()}")
    if prepared.fell_back and prepared.checked_now:
        _say(f"xmr: note: {prepared.reason}")  # said once: the record is kept beside the export
    elif args.precision == "int8":
        _say(f"xmr: {prepared.reason}")
    lib = Library.create(db, folder, spec)
    lib.record_preparation(prepared.to_json())
    lib.device, lib.allow_download = args.device, args.allow_download
    if args.backend:
        lib.set_backend(args.backend)
    if args.storage:
        lib.catalog.set_vector_storage(args.storage)
    if args.checkpoint:
        lib.attach_checkpoint(args.checkpoint)
    cancel = threading.Event()
    update, close = _tqdm_progress("indexing", args.quiet)
    try:
        report = index_folder(
            lib, folder, batch_size=args.batch_size, workers=args.workers, on_progress=update, cancel=cancel
        )
    finally:
        close()
        lib.close()
    for path, reason in report.new_skips[:20]:
        _say(f"xmr: skipped {path}: {reason}")
    if len(report.new_skips) > 20:
        _say(f"xmr: ... and {len(report.new_skips) - 20} more; see `xmr skipped`")
    if report.skipped > len(report.new_skips):
        _say(f"xmr: {report.skipped - len(report.new_skips)} skipped before, still unreadable; see `xmr skipped`")
    if args.json:
        print(json.dumps(report.counts()))
    else:
        c = report.counts()
        _say("xmr: " + ", ".join(f"{v} {k}" for k, v in c.items()) + f" in {report.seconds:.1f} s ({db})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .core.search.photos import search_image, search_text

    if (args.query is None) == (args.image is None):
        raise CliError("give either a text query or --image PATH")
    if args.image is not None:
        if not os.path.isfile(args.image):
            raise CliError(f"{args.image} is not a file")
        with _open_library(args, near=os.path.dirname(os.path.abspath(args.image))) as lib:
            hits = search_image(lib, args.image, args.k, args.min_score)
    else:
        with _open_library(args) as lib:
            hits = search_text(lib, args.query, args.k, args.min_score)
    _emit(hits, args.json, ("score", "path"), lambda h: f"{h.score:.4f}\t{h.path}")  # type: ignore[attr-defined]
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from .core.search.labels import describe, read_vocabulary

    if not os.path.isfile(args.image):
        raise CliError(f"{args.image} is not a file")
    labels = read_vocabulary(args.labels) if args.labels else None
    with _open_library(args, near=os.path.dirname(os.path.abspath(args.image))) as lib:
        ranked = describe(lib, args.image, labels, args.k, args.min_score)
    _emit(ranked, args.json, ("score", "label"), lambda r: f"{r.score:.4f}\t{r.label}")  # type: ignore[attr-defined]
    return 0


def cmd_skipped(args: argparse.Namespace) -> int:
    with _open_library(args) as lib:
        rows = lib.catalog.skipped()
    if args.k is not None:
        rows = rows[: max(args.k, 0)]
    for path, reason in rows:
        if args.json:
            print(json.dumps({"path": path, "reason": reason}, ensure_ascii=False))
        else:
            print(f"{path}\t{reason}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .core.demo.world import write_demo

    if args.size < 1:
        raise CliError("--size must be at least 1")
    if args.out:
        out = write_demo(args.out, args.size, args.seed)
        print(out)
        return 0
    from .core.demo_run import run_demo

    results = run_demo(paths.demo_dir(), args.size, args.seed, say=_say, db=Path(args.db) if args.db else None)
    for query, hits in results.searches:
        print(f"# {query}")
        for hit in hits:
            print(f"{hit.score:.4f}\t{hit.path}")
    print(f"# describe {results.described.name}")
    for row in results.labels:
        print(f"{row.score:.4f}\t{row.label}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .core.learn.model import TrainConfig
    from .core.learn.recipes import apply_overrides, train_checkpoint
    from .core.runtime.spec import ModelSpec

    cfg = apply_overrides(TrainConfig.load(args.config), args.set)
    spec = ModelSpec.parse(args.model, args.weights)
    bar = None

    def on_epoch(log, total) -> None:  # type: ignore[no-untyped-def]
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="epoch", desc=f"train {cfg.name}", file=sys.stderr)
        bar.update(1)
        bar.set_postfix(loss=f"{log.loss:.4f}", val_mAP=f"{log.val_map:.4f}")

    try:
        metrics = train_checkpoint(
            args.dataset,
            cfg,
            args.out,
            spec,
            args.train_backbone,
            args.device,
            say=lambda m: _say(f"xmr: {m}"),
            on_epoch=on_epoch,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(metrics))
    else:
        t, z = metrics["test"], metrics["zero_shot_test"]
        _say(f"xmr: wrote {args.out} (best epoch {metrics['best_epoch']}, {metrics['seconds_per_epoch']:.2f} s/epoch)")
        print("metric\tcheckpoint\tzero_shot")
        for key in t:
            print(f"{key}\t{t[key]:.4f}\t{z[key]:.4f}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .core.learn.recipes import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.dataset, args.split, args.device)
    if args.json:
        print(json.dumps(result))
        return 0
    print("metric\tcheckpoint\tzero_shot")
    for key, value in result["checkpoint"].items():
        print(f"{key}\t{value:.4f}\t{result['zero_shot'][key]:.4f}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from .core.learn.label_graph import NamedGraph
    from .core.views.graph_layout import render_png

    if args.checkpoint:
        g = NamedGraph.from_checkpoint(args.checkpoint)
    elif args.dataset:
        g = NamedGraph.from_dataset(args.dataset)
    else:
        g = NamedGraph.example(args.example)
    g.graph = g.graph.with_params(
        g.graph.tau if args.tau is None else args.tau, g.graph.p if args.p is None else args.p
    )
    P, A = g.graph.probabilities, g.graph.reweighted
    for i, j in zip(*g.graph.binary.nonzero(), strict=False):
        row = {
            "label": g.labels[i],
            "neighbour": g.labels[j],
            "probability": round(float(P[i, j]), 4),
            "weight": round(float(A[i, j]), 4),
        }
        print(json.dumps(row) if args.json else "\t".join(str(v) for v in row.values()))
    _say(f"xmr: {g.source}: {len(g.labels)} labels, {g.graph.n_edges} edges at tau={g.graph.tau:g}, p={g.graph.p:g}")
    if g.attribution:
        _say(f"xmr: {g.attribution}")
    if args.png:
        render_png(g, args.png)
        _say(f"xmr: wrote {args.png}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from .core.views.embedding_map import build_map, write_csv

    with _open_library(args) as lib:
        data = build_map(
            lib,
            args.method,
            args.query,
            on_cache=lambda hit: _say(f"xmr: map {'from cache' if hit else 'computed'} ({args.method})"),
        )
    if args.csv == "-":
        import csv as _csv

        w = _csv.writer(sys.stdout)
        w.writerow(("kind", "path_or_text", "labels", "x", "y"))
        w.writerows(data.rows())
    else:
        write_csv(data.rows(), args.csv)
        _say(f"xmr: wrote {len(data)} points to {args.csv}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .core.store.exchange import export_parquet

    with _open_library(args) as lib:
        n = export_parquet(lib, args.parquet)
    _say(f"xmr: wrote {n} vectors to {args.parquet}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .core.store.exchange import import_parquet

    with import_parquet(args.parquet, args.db, args.folder) as lib:
        n, db = lib.catalog.count(), lib.db_dir
    print(json.dumps({"imported": n, "db": str(db)}) if args.json else db)
    return 0


def cmd_paths(args: argparse.Namespace) -> int:
    for name, value in (
        ("data", paths.data_dir()),
        ("cache", paths.cache_dir()),
        ("config", paths.config_dir()),
        ("libraries", paths.libraries_dir()),
        ("demo", paths.demo_dir()),
    ):
        print(f"{name}\t{value}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .core.doctor import report

    info = report(args.folder, Path(args.db) if args.db else None)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"cpu\t{info['cpu_line']}")
    for name, version in info["versions"].items():
        print(f"{name}\t{version}")
    for export in info["exports"]:
        print(f"model\t{export['identity']}\t{export['int8']}")
    if "library" in info:
        lib = info["library"]
        print(f"library\t{lib['db']}\t{lib['model']}")
        print(f"precision\t{lib['precision']}\t{lib['reason']}")
    return 0


COMMANDS = (
    "index",
    "search",
    "describe",
    "skipped",
    "demo",
    "train",
    "eval",
    "gui",
    "graph",
    "map",
    "export",
    "import",
    "paths",
    "doctor",
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:  # everything after `gui` belongs to the window's own parser
        from .qt.app import main as gui_main

        return gui_main(argv[1:])
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR, format="xmr: %(message)s")
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `xmr search ... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ModuleNotFoundError as exc:  # an optional part this install lacks (e.g. torch in the packaged app)
        _say(
            f"xmr: error: `xmr {args.command}` needs the Python module {exc.name!r}, which this install does not "
            "have (the packaged app indexes and searches; `pipx install 'xmr[all]'` adds training and UMAP)"
        )
        return 1
    except KeyboardInterrupt:
        _say("xmr: interrupted; finished work is saved and the next run resumes from there")
        return 130
    except Exception as exc:
        if is_expected(exc):  # the user's to fix: one line says what to do
            _say(f"xmr: error: {exc}")
            return 1
        _say(f"xmr: internal error: {BUG_HINT} below")
        raise


if __name__ == "__main__":
    sys.exit(main())
