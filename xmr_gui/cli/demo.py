"""`xmr demo`: write the demo world as a dataset, or build, index and search it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.base import paths
from .common import CliError, Subparsers, db_option, say


def register(sub: Subparsers) -> None:
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
    db_option(p)
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ..core.demo.world import write_demo

    if args.size < 1:
        raise CliError("--size must be at least 1")
    if args.out:
        out = write_demo(args.out, args.size, args.seed)
        print(out)
        return 0
    from ..core.demo_run import run_demo

    results = run_demo(paths.demo_dir(), args.size, args.seed, say=say, db=Path(args.db) if args.db else None)
    for query, hits in results.searches:
        print(f"# {query}")
        for hit in hits:
            print(f"{hit.score:.4f}\t{hit.path}")
    print(f"# describe {results.described.name}")
    for row in results.labels:
        print(f"{row.score:.4f}\t{row.label}")
    return 0
