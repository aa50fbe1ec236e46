"""`xmr duplicates` (groups of near-duplicate photos, the one to keep first) and `xmr review-labels` (keywords to
look at): reviews of a library; nothing is deleted, and only what the user accepts is written, to sidecars."""

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
    register_review(sub)


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


def register_review(sub: Subparsers) -> None:
    p = sub.add_parser(
        "review-labels",
        help="keywords to look at: missing or doubtful on a photo, or one label written two ways",
        description="Review the library's own keywords (XMP/IPTC, read at index time): `missing<TAB>path<TAB>label` "
        "when most of a photo's nearest photos carry a keyword it lacks, `doubtful<TAB>path<TAB>label` when none of "
        "them carries one it has (with a checkpoint that knows the label, its classifier must agree), and "
        "`merge<TAB>label<TAB>label` for one word written two ways or two keywords on nearly the same photos. A "
        "fourth column says why. Nothing is written unless --write-sidecars: then the missing labels are added to "
        "the photos' XMP sidecars (never to the photos; doubtful ones are only listed).",
    )
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--checkpoint", metavar="FILE", help="let this checkpoint's classifiers confirm each finding")
    p.add_argument(
        "--neighbours", type=int, default=10, metavar="N", help="how many nearest photos judge each photo (default 10)"
    )
    p.add_argument("--json", action="store_true", help='print JSON Lines {"kind", "subject", "label", "score", "why"}')
    p.add_argument("--write-sidecars", action="store_true", help="add each missing label to its photo's XMP sidecar")
    p.set_defaults(run=run_review)


def run_review(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..core.search.review import review, write_missing

    with open_library(args.db, args.folder, args.checkpoint) as lib:
        if args.neighbours < 1:
            raise CliError("--neighbours must be at least 1")
        findings = review(lib, args.neighbours)
    for f in findings:
        if args.json:
            print(json.dumps(asdict(f), ensure_ascii=False))
        else:
            print(f"{f.kind}\t{f.subject}\t{f.label}\t{f.why}")
    sys.stdout.flush()
    kinds = {k: sum(f.kind == k for f in findings) for k in ("missing", "doubtful", "merge")}
    say("xmr: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    if not args.write_sidecars:
        return 0
    written = write_missing(findings)
    for photo, why in written.failed:
        say(f"xmr: not written: {photo}: {why}")
    failed = len(written.failed)
    say(f"xmr: {len(written.sidecars)} sidecars written" + (f", {failed} not written (above)" if failed else ""))
    return 1 if failed else 0
