"""Reading a photo's facts at index time: date taken, camera, GPS, pixel size, XMP/IPTC keywords (issue #26).

Pillow reads EXIF (`Image.getexif`, header only: the pixels are not decoded) and `learn.keywords.read_labels` the
keywords (sidecars, embedded XMP, IPTC). `refresh` reads only what is missing or stale, so re-indexing an existing
library reads its photos' facts once without re-encoding any photo, and an edited sidecar is read again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime

from PIL import Image

from ..learn.keywords import read_labels, sidecars
from ..store import photo_meta
from ..store.library import Library
from ..store.photo_meta import PhotoMeta

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL = 271, 272
DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 36867, 36881
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4


def _exif_time(value: object) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' as ISO 'YYYY-MM-DDTHH:MM:SS' (None when it is not a real date)."""
    try:
        return datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _degrees(dms: Sequence[float], ref: object) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)  # Pillow gives IFDRational values
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if str(ref).upper().startswith(("S", "W")) else value


def _camera(make: object, model: object) -> str | None:
    make_s, model_s = (str(x).strip("\x00 ") if x else "" for x in (make, model))
    if model_s.lower().startswith(make_s.lower()):  # "Canon" + "Canon EOS 5D": said once
        make_s = ""
    return " ".join(x for x in (make_s, model_s) if x) or None


def _exif(im: Image.Image) -> Image.Exif:
    """The photo's EXIF without decoding its pixels: Pillow's PNG reader decodes the whole image to look for an
    eXIf chunk after the pixel data (10x the cost of the rest here), so a PNG gives only what its header holds."""
    if im.format != "PNG":
        return im.getexif()
    exif = Image.Exif()
    raw = im.info.get("exif")
    if isinstance(raw, bytes):
        exif.load(raw)
    return exif


def sidecar_mtime(path: str | os.PathLike[str]) -> int:
    """The newest mtime of the photo's sidecars (0: none), so an edited sidecar is noticed."""
    return max((car.stat().st_mtime_ns for car in sidecars(path)), default=0)


def read_metadata(path: str | os.PathLike[str]) -> PhotoMeta:
    """The photo's facts; what cannot be read is None (a photo is never refused for its metadata)."""
    taken = offset = camera = None
    lat = lon = None
    width = height = None
    keywords: tuple[str, ...] = ()
    try:
        with Image.open(path) as im:  # opened once: EXIF, size and embedded keywords from the same read
            width, height = im.size
            exif = _exif(im)
            inner = exif.get_ifd(EXIF_IFD)
            taken = _exif_time(inner.get(DATE_TIME_ORIGINAL)) if inner.get(DATE_TIME_ORIGINAL) else None
            raw_offset = inner.get(OFFSET_TIME_ORIGINAL)
            offset = str(raw_offset).strip("\x00 ") or None if raw_offset else None
            camera = _camera(exif.get(MAKE), exif.get(MODEL))
            gps = exif.get_ifd(GPS_IFD)
            if GPS_LAT in gps and GPS_LON in gps:
                lat = _degrees(gps[GPS_LAT], gps.get(GPS_LAT_REF, "N"))
                lon = _degrees(gps[GPS_LON], gps.get(GPS_LON_REF, "E"))
            keywords = tuple(read_labels(path, im).labels)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        keywords = tuple(read_labels(path).labels)  # a sidecar still counts for a photo Pillow cannot read
    taken_from = "exif"
    if taken is None:
        taken_from, offset = "mtime", None
        taken = datetime.fromtimestamp(os.stat(path).st_mtime).replace(microsecond=0).isoformat()
    return PhotoMeta(taken, taken_from, offset, camera, lat, lon, width, height, keywords, sidecar_mtime(path))


def refresh(lib: Library, cancel: threading.Event | None = None, batch: int = 256) -> int:
    """Read the facts of every indexed photo that has none yet, was changed, or whose sidecar was edited; returns
    how many were read. Committed in batches, so a cancelled run keeps what it read."""
    db = lib.catalog.connection
    items = photo_meta.to_read(db, sidecar_mtime)
    done = 0
    for start in range(0, len(items), batch):
        if cancel is not None and cancel.is_set():
            break
        read = []
        for photo_id, path, size, mtime_ns in items[start : start + batch]:
            try:
                read.append((photo_id, size, mtime_ns, read_metadata(path)))
            except OSError:  # gone since the scan: the next index forgets it
                continue
        with lib.catalog.transaction():
            for photo_id, size, mtime_ns, meta in read:
                photo_meta.put(db, photo_id, size, mtime_ns, meta)
        done += len(read)
    return done
