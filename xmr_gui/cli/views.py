"""`xmr graph` and `xmr map`: the label graph (edges, PNG) and the 2-D map of the shared space (CSV)."""

from __future__ import annotations

import argparse
import json
import sys

from .common import Subparsers, db_option, open_library, say


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
        help="2-D map of the shared space (images, labels, queries) as CSV",
        description="Project every indexed image, the label embeddings and optional text queries "
        "to 2-D (PCA, or UMAP), cached per index + checkpoint. CSV columns: kind, path_or_text, "
        "labels, x, y.",
    )
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--checkpoint", metavar="FILE", help="map this checkpoint's space")
    p.add_argument("--method", choices=("umap", "pca"), default="umap", help="projection (default umap)")
    p.add_argument("--query", action="append", default=[], metavar="TEXT", help="also place this text query")
    p.add_argument("--csv", required=True, metavar="FILE", help="write the points here ('-' for stdout)")
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


def run_map(args: argparse.Namespace) -> int:
    from ..core.views.embedding_map import build_map, write_csv

    with open_library(args.db, args.folder, args.checkpoint) as lib:
        data = build_map(
            lib,
            args.method,
            args.query,
            on_cache=lambda hit: say(f"xmr: map {'from cache' if hit else 'computed'} ({args.method})"),
        )
    if args.csv == "-":
        import csv as _csv

        w = _csv.writer(sys.stdout)
        w.writerow(("kind", "path_or_text", "labels", "x", "y"))
        w.writerows(data.rows())
    else:
        write_csv(data.rows(), args.csv)
        say(f"xmr: wrote {len(data)} points to {args.csv}")
    return 0
