"""`xmr graph` and `xmr map`: the label graph (edges, PNG) and the 2-D map of the shared space (CSV, bookmarks, PNG)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..core.views.bookmark import COLOUR_BY, DEFAULT_LAYOUT, LAYOUTS, Bookmark, BookmarkError
from .common import CliError, Subparsers, db_option, open_library, say


def register(sub: Subparsers) -> None:
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
    p.set_defaults(run=run_graph)

    p = sub.add_parser(
        "map",
        help="2-D map of the shared space (images, labels, queries) as CSV, a bookmark or PNG",
        description="Project every indexed image, the label embeddings and optional text queries "
        "to 2-D (PCA, or UMAP), cached per index + checkpoint. The photos are clustered in the model's "
        "space and each cluster named by the concepts nearest to it (the model's own, a checkpoint's labels, "
        "or --vocabulary). CSV columns: kind, path_or_text, labels, x, y, cluster. A view of the map "
        "(layout, zoom, colouring, selection, query) is kept in a bookmark file: --save-bookmark writes one "
        'from the options given, --bookmark reads one (the window\'s "Save view" too), and --png draws it.',
    )
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--checkpoint", metavar="FILE", help="map this checkpoint's space")
    p.add_argument("--method", choices=("umap", "pca"), default=None, help="projection (default umap)")
    p.add_argument("--query", action="append", default=[], metavar="TEXT", help="also place this text query")
    p.add_argument("--csv", metavar="FILE", help="write the points here ('-' for stdout)")
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=None,
        help=f"spread (gaps between groups squeezed) or computed (the projection as is; default {DEFAULT_LAYOUT})",
    )
    p.add_argument("--vocabulary", metavar="FILE", help="name clusters from these concepts (one per line)")
    p.add_argument("--bookmark", metavar="FILE", help="use this saved view (its method, layout, query, selection)")
    p.add_argument("--png", metavar="FILE", help="draw the view to this PNG")
    p.add_argument("--save-bookmark", metavar="FILE", help="save the view given by these options to this file")
    p.add_argument("--colour-by", choices=COLOUR_BY, default=None, help="colour photos by (default cluster)")
    p.add_argument("--select", action="append", default=[], metavar="PHOTO", help="select this photo (repeatable)")
    p.add_argument("--view", metavar="X0,Y0,X1,Y1", help="zoom to this rectangle of map coordinates")
    p.add_argument("--neighbours", type=int, default=None, metavar="K", help="nearest neighbours shown (default 10)")
    p.set_defaults(run=run_map)


def run_graph(args: argparse.Namespace) -> int:
    from ..core.learn.label_graph import NamedGraph
    from ..core.views.graph_layout import render_png

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
    say(f"xmr: {g.source}: {len(g.labels)} labels, {g.graph.n_edges} edges at tau={g.graph.tau:g}, p={g.graph.p:g}")
    if g.attribution:
        say(f"xmr: {g.attribution}")
    if args.png:
        render_png(g, args.png)
        say(f"xmr: wrote {args.png}")
    return 0


def _view(args: argparse.Namespace) -> Bookmark:
    """The bookmark given (--bookmark), with any option given on the command line put over it."""
    mark = Bookmark.load(args.bookmark) if args.bookmark else Bookmark()
    try:
        view = tuple(float(x) for x in args.view.split(",")) if args.view else mark.view
    except ValueError:
        raise CliError(f"--view {args.view!r}: want four numbers X0,Y0,X1,Y1") from None
    if view is not None and len(view) != 4:
        raise CliError(f"--view {args.view!r}: want four numbers X0,Y0,X1,Y1")
    try:
        return Bookmark(
            layout=args.layout or mark.layout,
            method=args.method or mark.method,
            view=view,
            colour_by=args.colour_by or mark.colour_by,
            selection=[os.path.abspath(p) for p in args.select] or mark.selection,
            query=args.query[0] if args.query else mark.query,
            neighbours=mark.neighbours if args.neighbours is None else args.neighbours,
            folder=mark.folder,
        )
    except BookmarkError as exc:
        raise CliError(str(exc).replace("bad bookmark: ", "")) from None


def run_map(args: argparse.Namespace) -> int:
    from ..core.views.embedding_map import CSV_HEADER, build_map, write_csv

    if not (args.csv or args.png or args.save_bookmark):
        raise CliError("say what to write: --csv FILE, --png FILE or --save-bookmark FILE")
    mark = _view(args)
    queries = list(dict.fromkeys([*([mark.query] if mark.query else []), *args.query]))
    with open_library(args.db, args.folder, args.checkpoint) as lib:
        data = build_map(
            lib,
            mark.method,
            queries,
            on_cache=lambda hit: say(f"xmr: map {'from cache' if hit else 'computed'} ({mark.method})"),
            layout=mark.layout,
            vocabulary=args.vocabulary,
        )
        if not mark.folder and mark.selection:
            mark.folder = lib.folder
    if data.clusters is not None:
        say(f"xmr: {len(data.clusters)} clusters, named from {data.clusters.vocabulary}")
    if args.csv == "-":
        import csv as _csv

        w = _csv.writer(sys.stdout)
        w.writerow(CSV_HEADER)
        w.writerows(data.rows())
    elif args.csv:
        write_csv(data.rows(), args.csv)
        say(f"xmr: wrote {len(data)} points to {args.csv}")
    if args.save_bookmark:
        mark.save(args.save_bookmark)
        say(f"xmr: saved the view to {args.save_bookmark}")
    if args.png:
        from ..core.views.map_png import render_png

        render_png(data, mark, args.png)
        say(f"xmr: drew the view to {args.png}")
    return 0
