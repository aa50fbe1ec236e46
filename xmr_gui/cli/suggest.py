"""`xmr suggest`: labels from a checkpoint for the photos that have none, optionally written to XMP sidecars."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.base.defaults import SUGGEST_MIN_SCORE, SUGGEST_THRESHOLDS
from .common import CliError, Subparsers, db_option, say


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "suggest",
        help="labels for the photos that have none (by a checkpoint's classifiers); path<TAB>label,label,...",
        description="For each photo under FOLDER without labels (no XMP or IPTC keywords, embedded or in a "
        "sidecar, as `xmr train --labels-from xmp` reads them), the checkpoint's labels whose classifier "
        "probability is at least --min-score, best first: `path<TAB>label,label,...`. Photos already labelled "
        "are left alone; with --write-sidecars the suggestions are added to each photo's XMP sidecar "
        "(photo.jpg.xmp, or the photo.xmp that exists), never to the photo itself, keeping every other field "
        "of an existing sidecar; a sidecar that cannot be written is named and the others are still written (exit "
        "status 1). FOLDER must be indexed first: `xmr index FOLDER --checkpoint FILE`.",
    )
    p.add_argument("folder", metavar="FOLDER", help="indexed photo folder")
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="a trained .xmr checkpoint (its labels)")
    db_option(p)
    p.add_argument("-k", type=int, default=5, metavar="N", help="at most N labels per photo (default 5)")
    p.add_argument(
        "--min-score",
        type=float,
        default=None,
        metavar="S",
        help="only labels whose probability is at least S, for every label (default: the checkpoint's calibrated "
        "threshold, see --thresholds)",
    )
    p.add_argument(
        "--thresholds",
        choices=SUGGEST_THRESHOLDS,
        default=None,
        help="without --min-score, which threshold calibrated when the checkpoint was trained (aiming at "
        "suggestions right 70 %% of the time on your labelled photos) decides: per-label, each label's own pulled "
        "toward one for every label by how few photos carry it (the default: as precise as global, more labels "
        "found), or global, that one for every label (default: per-label; for a checkpoint trained before they "
        f"were pulled together, global, and {SUGGEST_MIN_SCORE:g} for one trained without either)",
    )
    p.add_argument(
        "--write-sidecars",
        action="store_true",
        help="add the suggested labels to XMP sidecars (dc:subject); the photos themselves are never modified",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines {path, labels, scores}")
    p.set_defaults(run=run_suggest)


def run_suggest(args: argparse.Namespace) -> int:
    from ..core.learn.keywords import KeywordError
    from ..core.learn.space import LabelSpace
    from ..core.opening import FindRequest, checked_folder, locate, open_existing
    from ..core.runtime.images import ImageSkipped
    from ..core.search.suggest import add_to_sidecar, suggest, unlabelled_photos

    folder = checked_folder(args.folder)
    request = FindRequest(Path(args.db) if args.db else None, folder, checkpoint=Path(args.checkpoint), anywhere=False)
    if locate(request) is None:
        hint = f"xmr index {args.folder} --checkpoint {args.checkpoint}"
        raise CliError(f"{args.folder} is not indexed yet: run `{hint}` first (or pass --db)")
    unlabelled = unlabelled_photos(folder)
    for photo, problem in unlabelled.problems:
        say(f"xmr: {photo}: {problem}")
    written = none = failed = 0
    with open_existing(request).library as lib:
        if not isinstance(lib.space, LabelSpace):
            raise CliError(f"{args.checkpoint} has no label classifiers to suggest with")
        kind = lib.space.suggest_thresholds if args.thresholds is None else args.thresholds
        for photo in unlabelled.photos:
            try:
                ranked = suggest(lib, photo, args.k, args.min_score, kind)
            except ImageSkipped as exc:
                say(f"xmr: skipped {photo}: {exc}")
                continue
            if not ranked:
                none += 1
                continue
            labels = [r.label for r in ranked]
            if args.json:
                row = {"path": str(photo), "labels": labels, "scores": [round(r.score, 4) for r in ranked]}
                print(json.dumps(row, ensure_ascii=False))
            else:
                print(f"{photo}\t{','.join(labels)}")
            sys.stdout.flush()
            if args.write_sidecars:
                try:
                    add_to_sidecar(photo, labels)
                    written += 1
                except KeywordError as exc:
                    say(f"xmr: not written: {exc}")
                    failed += 1
                except OSError as exc:  # this photo's folder is read-only, the disk is full, ...: say so, go on
                    say(f"xmr: not written: {exc.filename or photo}: {exc.strerror or exc}")
                    failed += 1
    line = f"xmr: {len(unlabelled.photos)} photos without labels"
    if none:
        at = f"the {kind} thresholds" if args.min_score is None else f"--min-score {args.min_score:g}"
        line += f"; {none} with no label at {at}"
    if args.write_sidecars:
        line += f"; {written} sidecars written" + (f", {failed} not written (above)" if failed else "")
    say(line)
    return 1 if failed else 0
