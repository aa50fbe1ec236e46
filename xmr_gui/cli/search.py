"""`xmr search`, `xmr describe` and `xmr skipped`: reading a library (text or photo → photos, photo → labels)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from .common import CliError, Subparsers, db_option, emit, open_library, result_options, say

if TYPE_CHECKING:
    from ..core.search.photos import Hit


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "search",
        help="text → image (or --image: image → image) search; score<TAB>path",
        description="Search an indexed folder. Prints `score<TAB>absolute path`, best first.",
    )
    p.add_argument(
        "query",
        nargs="?",
        help='what to look for, e.g. "a dog on the beach"; terms joined by " + " or " - " with optional weights mix '
        'and exclude: "a bird - chicken", "2:a dog + 0.5:./pool.jpg", "label:NAME" (a checkpoint\'s label)',
    )
    p.add_argument("--image", metavar="PATH", help="find photos similar to this one instead of a text query")
    db_option(p)
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
    result_options(
        p,
        20,
        "only results with cosine similarity >= S (default: no threshold; a label query ranks by cosine + its "
        "training photos' vote, the cosine alone is compared with S)",
    )
    p.add_argument("--explain", action="store_true", help="print the query's parsed terms and weights on stderr")
    filters = p.add_argument_group(
        "filters", "also as key:value anywhere in the query (after:2024-07 camera:pixel keyword:grandma)"
    )
    filters.add_argument("--after", metavar="DATE", help="taken on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)")
    filters.add_argument("--before", metavar="DATE", help="taken before DATE (YYYY, YYYY-MM or YYYY-MM-DD)")
    filters.add_argument("--camera", metavar="TEXT", help="EXIF Make + Model contains TEXT (any case)")
    filters.add_argument(
        "--subfolder", metavar="TEXT", help="the photo's folder below the indexed folder contains TEXT"
    )
    filters.add_argument("--keyword", metavar="WORD", help="the photo has the keyword WORD (exact, any case)")
    p.set_defaults(run=run_search)

    p = sub.add_parser(
        "describe",
        help="image → text: rank labels for photos; score<TAB>label (path<TAB>score<TAB>label for several)",
        description="Rank the labels of a vocabulary for each PATH: the built-in photo vocabulary, "
        "or --labels FILE (one label per line), or a checkpoint's labels. Prints `score<TAB>label`, best first; "
        "with several photos `path<TAB>score<TAB>label`, best first per photo (JSON Lines get a path field).",
    )
    p.add_argument("image", metavar="PATH", nargs="+", help="the photo(s) to describe")
    db_option(p)
    p.add_argument("--labels", metavar="FILE", help="vocabulary file, one label per line")
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="rank the checkpoint's labels with its GCN label classifiers (scores are probabilities)",
    )
    result_options(
        p, 10, "only labels scoring >= S: a cosine, or a probability with --checkpoint (default: no threshold)"
    )
    p.set_defaults(run=run_describe)

    p = sub.add_parser(
        "skipped",
        help="files that could not be indexed, each with its reason",
        description="List files that were skipped: `path<TAB>reason`.",
    )
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("-k", type=int, default=None, metavar="N", help="at most N rows")
    p.add_argument("--json", action="store_true", help="print JSON Lines {path, reason}")
    p.set_defaults(run=run_skipped)


def run_search(args: argparse.Namespace) -> int:
    from dataclasses import replace  # not at import: it loads inspect, ast and dis (8 ms on every command)

    from ..core.learn.space import LabelSpace
    from ..core.search import label_query
    from ..core.search.known import outside
    from ..core.search.photos import answer, clean_query, search_image
    from ..core.search.query import parse_query, with_filters

    if (
        args.query is None
        and args.image is None
        and any(getattr(args, k) for k in ("after", "before", "camera", "subfolder", "keyword"))
    ):
        args.query = ""  # filters only: list the photos that match them
    if (args.query is None) == (args.image is None):
        raise CliError("give either a text query or --image PATH")
    hits: list[Hit]
    if args.image is not None:
        if not os.path.isfile(args.image):
            raise CliError(f"{args.image} is not a file")
        near = os.path.dirname(os.path.abspath(args.image))
        with open_library(args.db, args.folder, args.checkpoint, near=near) as lib:
            hits = search_image(lib, args.image, args.k, args.min_score)
    else:
        query = parse_query(clean_query(args.query))
        query = replace(
            query,
            filters=with_filters(
                query.filters,
                after=args.after,
                before=args.before,
                camera=args.camera,
                folder=args.subfolder,
                keyword=args.keyword,
            ),
        )
        for note in query.notes:
            say(f"xmr: note: {note}")
        if args.explain:
            n = len(query.terms)
            say(f"xmr: query of {n} term{'s' if n != 1 else ''} (weight, kind, value) and its filters:")
            for line in query.explain():
                say(f"xmr:   {line}")
        with open_library(args.db, args.folder, args.checkpoint) as lib:
            found = answer(lib, query, args.k, args.min_score)
            hits = found.hits
            if found.matching is not None:
                say(f"xmr: {found.matching} of {lib.indexed_count()} photos match the filters")
            if not query.terms:
                _emit_dated(hits, args.json)
                return 0
            say(f"xmr: answered by {lib.model_name()}")
            plain = query.plain_text
            tagged = sum(h.by_keyword for h in hits)
            if tagged:
                say(f"xmr: {tagged} carry the keyword {plain!r}: listed first (third column: keyword)")
            if plain is not None:
                how = label_query.explain(lib.space, plain) if isinstance(lib.space, LabelSpace) else None
                if how is not None:
                    say(f"xmr: answered {how}")
                hint = outside(lib, plain)
                if hint is not None and not tagged:
                    say(f"xmr: note: {hint.line()}")
        if args.json:
            for h in hits:
                row = {"score": h.score, "path": h.path, **({"by_keyword": True} if h.by_keyword else {})}
                if h.cosine is not None:  # the score is cosine + the training photos' vote
                    row["cosine"] = h.cosine
                print(json.dumps(row, ensure_ascii=False))
            return 0
        emit(
            hits, False, ("score", "path"), lambda h: f"{h.score:.4f}\t{h.path}" + ("\tkeyword" if h.by_keyword else "")
        )
        return 0
    emit(hits, args.json, ("score", "path"), lambda h: f"{h.score:.4f}\t{h.path}")
    return 0


def _emit_dated(hits: list[Hit], as_json: bool) -> None:
    """A filters-only list: `taken<TAB>path`, newest first (JSON Lines {taken, path})."""
    for h in hits:
        print(json.dumps({"taken": h.taken, "path": h.path}, ensure_ascii=False) if as_json else f"{h.taken}\t{h.path}")
    sys.stdout.flush()


def run_describe(args: argparse.Namespace) -> int:
    from ..core.search.labels import describe, read_vocabulary

    images: list[str] = args.image
    for image in images:
        if not os.path.isfile(image):
            raise CliError(f"{image} is not a file")
    labels = read_vocabulary(args.labels) if args.labels else None
    with open_library(args.db, checkpoint=args.checkpoint, near=os.path.dirname(os.path.abspath(images[0]))) as lib:
        if len(images) == 1:
            ranked = describe(lib, images[0], labels, args.k, args.min_score)
            emit(ranked, args.json, ("score", "label"), lambda r: f"{r.score:.4f}\t{r.label}")
            return 0
        for image in images:
            path = os.path.abspath(image)
            for r in describe(lib, image, labels, args.k, args.min_score):
                if args.json:
                    print(json.dumps({"path": path, "score": r.score, "label": r.label}, ensure_ascii=False))
                else:
                    print(f"{path}\t{r.score:.4f}\t{r.label}")
            sys.stdout.flush()  # each photo's rows as soon as they are known
    return 0


def run_skipped(args: argparse.Namespace) -> int:
    with open_library(args.db, args.folder) as lib:
        rows = lib.catalog.skipped()
    if args.k is not None:
        rows = rows[: max(args.k, 0)]
    for path, reason in rows:
        if args.json:
            print(json.dumps({"path": path, "reason": reason}, ensure_ascii=False))
        else:
            print(f"{path}\t{reason}")
    return 0
