"""`xmr duplicates`: groups of near-duplicate photos, one per line, the one to keep first (nothing is deleted)."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.base.defaults import DUPLICATE_MIN_CORRELATION as MIN_CORRELATION
from ..core.base.defaults import DUPLICATE_THRESHOLD as THRESHOLD
from .common import CliError, Subparsers, db_option, open_library, say


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "duplicates",
        help="groups of near-duplicate photos: path<TAB>path..., the one to keep first",
        description="Find near-duplicates in an indexed folder: resized, recompressed, slightly cropped or rotated "
        "copies. Candidates come from the vectors, each confirmed by comparing the pictures, so merely similar photos "
        "are not grouped. Prints one group per line, tab-separated paths, the one to keep first (most pixels, then "
        "oldest). Nothing is ever deleted or moved.",
    )
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        metavar="S",
        help=f"vector cosine from which two photos are candidates (default {THRESHOLD}; lower finds more, each "
        f"still confirmed by its pictures: thumbnails correlating at >= {MIN_CORRELATION})",
    )
    p.add_argument("--json", action="store_true", help='print JSON Lines {"paths": [...], "scores": [...]}')
    p.set_defaults(run=run_duplicates)


def run_duplicates(args: argparse.Namespace) -> int:
    from ..core.search.duplicates import find_duplicates

    if not -1.0 <= args.threshold <= 1.0:
        raise CliError("--threshold is a cosine: between -1 and 1")
    with open_library(args.db, args.folder) as lib:
        groups = find_duplicates(lib, args.threshold)
        total = lib.indexed_count()
    for group in groups:
        if args.json:
            print(json.dumps({"paths": list(group.paths), "scores": [round(s, 4) for s in group.scores]}))
        else:
            print("\t".join(group.paths))
    sys.stdout.flush()
    extra = sum(len(g.paths) - 1 for g in groups)
    say(f"xmr: {len(groups)} groups of near-duplicates among {total} photos ({extra} copies beside the one to keep)")
    return 0
