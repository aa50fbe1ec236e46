"""Where a photo folder's library lives: the one place that knows (`xmr index`, every reading command, `xmr
doctor`, the window and the demo all ask here, through `core.opening`).

A library is a database folder holding `catalog.sqlite`. It is `--db` when given; else FOLDER/.xmr when the
folder has a portable library (it travels with its drive) or `--portable` asks for one; else a folder under the
user data dir named after the photo folder's absolute path (`base.paths.default_db_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..base import paths

CATALOG_FILE = "catalog.sqlite"  # the source of truth inside a library folder
PORTABLE_DIR = ".xmr"  # `xmr index FOLDER --portable` keeps the database inside the photo folder


def catalog_file(db: str | os.PathLike[str]) -> Path:
    return Path(db) / CATALOG_FILE


def is_library(db: str | os.PathLike[str]) -> bool:
    """Whether `db` holds a catalog (it may still hold no index: `Library.open` says so)."""
    return catalog_file(db).is_file()


def library_dir(
    folder: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, portable: bool = False
) -> Path:
    """The database folder of photo `folder` for writing: `db` when given; FOLDER/.xmr when `portable` or when the
    folder already has a portable library; else one under the user data dir."""
    if db:
        return Path(db)
    if portable or is_library(Path(folder) / PORTABLE_DIR):
        return Path(folder) / PORTABLE_DIR
    return paths.default_db_dir(folder)


def find_library(start: str | os.PathLike[str]) -> Path | None:
    """The database of `start` or of its nearest indexed ancestor folder (portable first)."""
    here = Path(os.path.abspath(os.fspath(start)))
    for folder in (here, *here.parents):
        for db in (folder / PORTABLE_DIR, paths.default_db_dir(folder)):
            if is_library(db):
                return db
    return None


def most_recent_library() -> Path | None:
    """The library under the user data dir whose catalog changed last (None when there is none)."""
    root = paths.libraries_dir()
    if not root.is_dir():
        return None
    dbs = [p for p in root.iterdir() if is_library(p)]
    return max(dbs, key=lambda p: catalog_file(p).stat().st_mtime) if dbs else None
