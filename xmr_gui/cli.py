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
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .core import paths

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_WEIGHTS = "laion2b_s34b_b79k"


class CliError(Exception):
    """A failure to report as `xmr: error: ...` with exit code 1."""


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="DIR", help="database folder (default: one under the user data dir, "
                   "keyed by the photo folder's absolute path; see `xmr paths`)")


def _result_options(p: argparse.ArgumentParser, k: int) -> None:
    p.add_argument("-k", type=int, default=k, metavar="N", help=f"at most N results (default {k})")
    p.add_argument("--min-score", type=float, default=-1.0, metavar="S",
                   help="only results with cosine similarity >= S (default: no threshold)")
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per result")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xmr", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `xmr COMMAND --help` for each command's options. Quick start: `xmr demo`.")
    parser.add_argument("--version", action="version", version=f"xmr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="encode every image in a folder once; re-runs only touch what changed",
                       description="Index FOLDER: new and changed images are encoded, deleted ones dropped, "
                       "unreadable ones listed by `xmr skipped`. Interrupted runs resume where they stopped.")
    p.add_argument("folder", help="photo folder to index (recursively; hidden files are ignored)")
    _db_option(p)
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"open_clip model name, packaged config (xmr-tiny, xmr-small) or path to a model JSON "
                        f"config (default {DEFAULT_MODEL})")
    p.add_argument("--weights", default=DEFAULT_WEIGHTS,
                   help="open_clip pretrained tag, local weights file (.safetensors/.pt), or 'random' for a "
                        f"seeded random model for tests and benchmarks (default {DEFAULT_WEIGHTS})")
    p.add_argument("--allow-download", action="store_true",
                   help="allow fetching pretrained weights from the model hub (never done otherwise)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where the image encoder runs; auto picks CUDA when present (default auto)")
    p.add_argument("--batch-size", type=int, default=32, metavar="N", help="images per forward pass (default 32)")
    p.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)), metavar="N",
                   help="image decoding threads (default: cores, at most 4)")
    p.add_argument("--rebuild", action="store_true", help="forget the existing database and index from scratch")
    p.add_argument("--json", action="store_true",
                   help='print {"added", "updated", "unchanged", "removed", "skipped"} counts as one JSON object')
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("search", help="text → image (or --image: image → image) search; score<TAB>path",
                       description="Search an indexed folder. Prints `score<TAB>absolute path`, best first.")
    p.add_argument("query", nargs="?", help='what to look for, e.g. "a dog on the beach"')
    p.add_argument("--image", metavar="PATH", help="find photos similar to this one instead of a text query")
    _db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder to search when --db is not given "
                   "(default: the current directory or its nearest indexed parent, else the last indexed folder)")
    _result_options(p, 20)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("describe", help="image → text: rank labels for a photo; score<TAB>label",
                       description="Rank the labels of a vocabulary for PATH: the built-in photo vocabulary, "
                       "or --labels FILE (one label per line). Prints `score<TAB>label`, best first.")
    p.add_argument("image", metavar="PATH", help="the photo to describe")
    _db_option(p)
    p.add_argument("--labels", metavar="FILE", help="vocabulary file, one label per line")
    _result_options(p, 10)
    p.set_defaults(run=cmd_describe)

    p = sub.add_parser("skipped", help="files that could not be indexed, each with its reason",
                       description="List files that were skipped: `path<TAB>reason`.")
    _db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("-k", type=int, default=None, metavar="N", help="at most N rows")
    p.add_argument("--json", action="store_true", help="print JSON Lines {path, reason}")
    p.set_defaults(run=cmd_skipped)

    p = sub.add_parser("demo", help="build the demo photo world; without --out, also index and search it",
                       description="Write the built-in demo dataset (drawn scenes + labels.jsonl with labels "
                       "and captions). With --out only writes it; without, builds it in the user data dir, "
                       "indexes it and runs a few example searches.")
    p.add_argument("--out", metavar="DIR", help="write the dataset here and stop")
    p.add_argument("--size", type=int, default=400, metavar="N", help="number of images (default 400)")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("paths", help="print where xmr keeps data, caches and settings")
    p.set_defaults(run=cmd_paths)
    return parser


# -- helpers -----------------------------------------------------------------------------------
def _open_library(args: argparse.Namespace, near: str | None = None):  # type: ignore[no-untyped-def]
    from .core.library import Library, find_library, most_recent_library

    if args.db:
        return Library.open(args.db)
    start = getattr(args, "folder", None) or near or os.getcwd()
    db = find_library(start) or find_library(os.getcwd())
    if db is None:
        db = most_recent_library()
        if db is None:
            raise CliError("no indexed folder yet: run `xmr index FOLDER` first (or pass --db)")
    lib = Library.open(db)
    if not Path(start).resolve().is_relative_to(Path(lib.folder)):
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


# -- commands ----------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from .core.encoder import ModelSpec
    from .core.indexer import index_folder
    from .core.library import Library

    folder = os.path.abspath(args.folder)
    if not os.path.isdir(folder):
        raise CliError(f"{args.folder} is not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise CliError(f"{args.folder} cannot be read (permission denied)")
    if args.batch_size < 1 or args.workers < 1:
        raise CliError("--batch-size and --workers must be at least 1")
    db = Path(args.db) if args.db else paths.default_db_dir(folder)
    if args.rebuild and db.exists():
        import shutil

        shutil.rmtree(db)
    spec = ModelSpec.parse(args.model, args.weights)
    if spec.weights_kind == "random":
        _say(f"xmr: model {spec.describe()}")
    lib = Library.create(db, folder, spec)
    lib.device, lib.allow_download = args.device, args.allow_download
    cancel = threading.Event()
    update, close = _tqdm_progress("indexing", args.quiet)
    try:
        report = index_folder(lib, folder, batch_size=args.batch_size, workers=args.workers,
                              on_progress=update, cancel=cancel)
    finally:
        close()
        lib.close()
    for path, reason in report.new_skips[:20]:
        _say(f"xmr: skipped {path}: {reason}")
    if len(report.new_skips) > 20:
        _say(f"xmr: ... and {len(report.new_skips) - 20} more; see `xmr skipped`")
    if args.json:
        print(json.dumps(report.counts()))
    else:
        c = report.counts()
        _say("xmr: " + ", ".join(f"{v} {k}" for k, v in c.items()) + f" in {report.seconds:.1f} s ({db})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .core.search import search_image, search_text

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
    from .core.search import describe, read_vocabulary

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
    from .core.demo import write_demo

    if args.size < 1:
        raise CliError("--size must be at least 1")
    if args.out:
        out = write_demo(args.out, args.size, args.seed)
        print(out)
        return 0
    from .core.demo_run import run_demo

    return run_demo(paths.demo_dir(), args.size, args.seed, say=_say)


def cmd_paths(args: argparse.Namespace) -> int:
    for name, value in (("data", paths.data_dir()), ("cache", paths.cache_dir()), ("config", paths.config_dir()),
                        ("libraries", paths.libraries_dir()), ("demo", paths.demo_dir())):
        print(f"{name}\t{value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.ERROR, format="xmr: %(message)s")
    from .core.catalog import CatalogError
    from .core.encoder import ModelError
    from .core.images import ImageSkipped
    from .core.library import LibraryError

    try:
        return int(args.run(args))
    except (CliError, CatalogError, ModelError, LibraryError, ImageSkipped, ValueError, OSError) as exc:
        _say(f"xmr: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("xmr: interrupted; finished work is saved and the next run resumes from there")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
