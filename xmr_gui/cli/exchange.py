"""`xmr export` and `xmr import`: move a library's vectors between machines as Parquet."""

from __future__ import annotations

import argparse
import json

from .common import Subparsers, db_option, open_library, say


def register(sub: Subparsers) -> None:
    p = sub.add_parser("export", help="write an index's vectors as Parquet (path, vector, model)")
    db_option(p)
    p.add_argument("--folder", metavar="DIR", help="which indexed folder (as for search)")
    p.add_argument("--parquet", required=True, metavar="FILE")
    p.set_defaults(run=run_export)

    p = sub.add_parser("import", help="make a searchable index from a Parquet export (built elsewhere)")
    p.add_argument("--parquet", required=True, metavar="FILE")
    p.add_argument("--folder", metavar="DIR", help="where the photos are on this machine (default: as exported)")
    db_option(p)
    p.add_argument("--json", action="store_true", help='print {"imported": N, "db": DIR}')
    p.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    from ..core.store.exchange import export_parquet

    with open_library(args.db, args.folder) as lib:
        n = export_parquet(lib, args.parquet)
    say(f"xmr: wrote {n} vectors to {args.parquet}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from ..core.store.exchange import import_parquet

    with import_parquet(args.parquet, args.db, args.folder) as lib:
        n, db = lib.catalog.count(), lib.db_dir
    print(json.dumps({"imported": n, "db": str(db)}) if args.json else db)
    return 0
