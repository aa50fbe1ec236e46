"""`xmr paths` and `xmr doctor`: where xmr keeps things, and how it runs on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.base import paths
from .common import Subparsers, db_option


def register(sub: Subparsers) -> None:
    p = sub.add_parser("paths", help="print where xmr keeps data, caches and settings")
    p.set_defaults(run=run_paths)

    p = sub.add_parser(
        "doctor", help="show this machine's CPU features, runtimes, and which precision each model runs at and why"
    )
    p.add_argument("folder", nargs="?", help="also show the library of this photo folder (default: none)")
    db_option(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(run=run_doctor)


def run_paths(args: argparse.Namespace) -> int:
    for name, value in (
        ("data", paths.data_dir()),
        ("cache", paths.cache_dir()),
        ("config", paths.config_dir()),
        ("libraries", paths.libraries_dir()),
        ("demo", paths.demo_dir()),
    ):
        print(f"{name}\t{value}")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from ..core.doctor import report

    info = report(args.folder, Path(args.db) if args.db else None)
    if args.json:
        print(json.dumps(info.to_json(), indent=1))
        return 0
    print(f"cpu\t{info.cpu_line}")
    for name, version in info.versions.items():
        print(f"{name}\t{version}")
    for export in info.exports:
        print(f"model\t{export.identity}\t{export.int8}")
    if info.library is not None:
        lib = info.library
        print(f"library\t{lib.db}\t{lib.model}")
        print(f"precision\t{lib.precision}\t{lib.reason}")
    return 0
