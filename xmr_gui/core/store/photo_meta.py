"""A photo's facts in the catalog: when it was taken, the camera, where, its pixel size and its keywords.

Two tables beside `files` (created when a catalog opens; an older xmr ignores them, so the schema version stays):
`photo_meta` (one row per indexed photo, with the file's size and mtime and its sidecar's mtime when it was read,
so a changed photo or an edited sidecar is read again by the next `xmr index`) and `photo_keywords`. A trigger
drops both rows when a file leaves the catalog. Search filters (`Filters`) are answered here, exactly, in SQL.

`taken` is the photo's local wall-clock time as ISO text (`2024-07-14T18:03:00`): EXIF DateTimeOriginal (its
offset kept in `utc_offset` when the camera wrote one), else the file's mtime in this machine's local time. Date
filters compare that text, so `after:2024-07` means "taken on or after 1 July 2024, as the clock in the photo
read".
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS photo_meta (
        id INTEGER PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sidecar_mtime_ns INTEGER NOT NULL DEFAULT 0,
        taken TEXT,
        taken_from TEXT,
        utc_offset TEXT,
        camera TEXT,
        lat REAL,
        lon REAL,
        width INTEGER,
        height INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS photo_meta_taken ON photo_meta (taken)",
    "CREATE INDEX IF NOT EXISTS photo_meta_camera ON photo_meta (camera)",
    """CREATE TABLE IF NOT EXISTS photo_keywords (
        id INTEGER NOT NULL,
        keyword TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (id, keyword)
    )""",
    "CREATE INDEX IF NOT EXISTS photo_keywords_keyword ON photo_keywords (keyword)",
    """CREATE TRIGGER IF NOT EXISTS files_forget_meta AFTER DELETE ON files BEGIN
        DELETE FROM photo_meta WHERE id = OLD.id;
        DELETE FROM photo_keywords WHERE id = OLD.id;
    END""",
)


@dataclass(frozen=True)
class PhotoMeta:
    taken: str | None  # local wall-clock ISO time
    taken_from: str  # "exif" or "mtime"
    utc_offset: str | None = None  # "+02:00" when EXIF has OffsetTimeOriginal
    camera: str | None = None  # EXIF Make + Model
    lat: float | None = None
    lon: float | None = None
    width: int | None = None
    height: int | None = None
    keywords: tuple[str, ...] = ()
    sidecar_mtime_ns: int = 0


@dataclass(frozen=True)
class Filters:
    """What a photo must be to match; None: any. after/before are ISO lower bounds (`2024-07-01T00:00:00`);
    camera a case-insensitive substring of Make + Model; folder a substring of the path below the library's folder;
    keyword one of the photo's keywords, exact, case-insensitive."""

    after: str | None = None
    before: str | None = None
    camera: str | None = None
    folder: str | None = None
    keyword: str | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.after, self.before, self.camera, self.folder, self.keyword))


def ensure_tables(db: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        db.execute(statement)


def to_read(db: sqlite3.Connection, sidecar_mtime: Callable[[str], int]) -> list[tuple[int, str, int, int]]:
    """(id, path, size, mtime_ns) of the indexed photos whose facts were never read, were read from another version
    of the file, or whose sidecar changed since (`sidecar_mtime(path)`: its newest mtime now, 0 for none)."""
    rows = db.execute(
        """SELECT f.id, f.path, f.size, f.mtime_ns, m.size, m.mtime_ns, m.sidecar_mtime_ns
           FROM files f LEFT JOIN photo_meta m ON m.id = f.id WHERE f.status = 'indexed'"""
    ).fetchall()
    out = []
    for i, p, size, mtime, read_size, read_mtime, read_car in rows:
        path = os.fsdecode(p)
        if (read_size, read_mtime) != (size, mtime) or sidecar_mtime(path) != read_car:
            out.append((int(i), path, int(size), int(mtime)))
    return out


def put(db: sqlite3.Connection, photo_id: int, size: int, mtime_ns: int, meta: PhotoMeta) -> None:
    db.execute(
        """INSERT OR REPLACE INTO photo_meta
           (id, size, mtime_ns, sidecar_mtime_ns, taken, taken_from, utc_offset, camera, lat, lon, width, height)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            photo_id,
            size,
            mtime_ns,
            meta.sidecar_mtime_ns,
            meta.taken,
            meta.taken_from,
            meta.utc_offset,
            meta.camera,
            meta.lat,
            meta.lon,
            meta.width,
            meta.height,
        ),
    )
    db.execute("DELETE FROM photo_keywords WHERE id = ?", (photo_id,))
    db.executemany(
        "INSERT OR IGNORE INTO photo_keywords (id, keyword) VALUES (?, ?)", ((photo_id, k) for k in meta.keywords)
    )


def get(db: sqlite3.Connection, photo_id: int) -> PhotoMeta | None:
    row = db.execute(
        """SELECT taken, taken_from, utc_offset, camera, lat, lon, width, height, sidecar_mtime_ns
           FROM photo_meta WHERE id = ?""",
        (photo_id,),
    ).fetchone()
    if row is None:
        return None
    keywords = tuple(
        r[0] for r in db.execute("SELECT keyword FROM photo_keywords WHERE id = ? ORDER BY keyword", (photo_id,))
    )
    taken, taken_from, offset, camera, lat, lon, width, height, car = row
    return PhotoMeta(taken, taken_from, offset, camera, lat, lon, width, height, keywords, car)


def matching(db: sqlite3.Connection, filters: Filters, root: str) -> list[tuple[int, str, str | None]]:
    """(id, path, taken) of the indexed photos that match `filters`, newest first (undated last). `root`: the
    library's folder, which `folder:` matches below."""
    where, args = ["f.status = 'indexed'"], []
    if filters.after is not None:
        where.append("m.taken >= ?")
        args.append(filters.after)
    if filters.before is not None:
        where.append("m.taken < ?")
        args.append(filters.before)
    if filters.camera is not None:
        # the few distinct cameras matched first, so the rows are found through the camera index, not a scan
        needle = filters.camera.lower()
        cameras = [c for c in values(db, "camera") if needle in c.lower()]
        where.append(f"m.camera IN ({','.join('?' * len(cameras))})" if cameras else "0")
        args.extend(cameras)
    if filters.keyword is not None:
        where.append("f.id IN (SELECT k.id FROM photo_keywords k WHERE k.keyword = ?)")
        args.append(filters.keyword)
    # a date, camera or keyword needs the photo's facts: drive the query from them (their indexes); a folder
    # alone lists photos whether or not their facts were read
    needs_facts = any(v is not None for v in (filters.after, filters.before, filters.camera, filters.keyword))
    join = (
        "photo_meta m JOIN files f ON f.id = m.id" if needs_facts else "files f LEFT JOIN photo_meta m ON m.id = f.id"
    )
    rows = db.execute(
        f"""SELECT f.id, f.path, m.taken FROM {join}
            WHERE {" AND ".join(where)} ORDER BY m.taken IS NULL, m.taken DESC, f.id""",
        args,
    ).fetchall()
    out = [(int(i), os.fsdecode(p), t) for i, p, t in rows]
    if filters.folder is not None:
        prefix = root.rstrip(os.sep) + os.sep
        out = [r for r in out if filters.folder in os.path.dirname(r[1].removeprefix(prefix))]
    return out


def with_keyword(db: sqlite3.Connection, keyword: str) -> list[int]:
    """Ids of the indexed photos carrying `keyword` (case-insensitive)."""
    rows = db.execute(
        """SELECT k.id FROM photo_keywords k JOIN files f ON f.id = k.id
           WHERE k.keyword = ? AND f.status = 'indexed' ORDER BY k.id""",
        (keyword,),
    )
    return [int(r[0]) for r in rows]


def values(db: sqlite3.Connection, what: str) -> list[str]:
    """Every distinct camera or keyword in the library (what the window completes filter values from)."""
    sql = {
        "camera": "SELECT DISTINCT camera FROM photo_meta WHERE camera IS NOT NULL ORDER BY camera",
        "keyword": "SELECT DISTINCT keyword FROM photo_keywords ORDER BY keyword COLLATE NOCASE",
    }[what]
    return [str(r[0]) for r in db.execute(sql)]


def folders(db: sqlite3.Connection, root: str) -> list[str]:
    """Every folder below `root` that holds an indexed photo (what `folder:` completes from)."""
    prefix = root.rstrip(os.sep) + os.sep
    found = set()
    for (path,) in db.execute("SELECT path FROM files WHERE status = 'indexed'"):
        rel = os.path.dirname(os.fsdecode(path).removeprefix(prefix))
        if rel:
            found.add(rel)
    return sorted(found)
