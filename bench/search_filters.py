"""Filtered search and metadata reading, timed (issue #26 item 7); ratios against a baseline in the same run.

    python bench/search_filters.py [--n 100000] [--repeats 20]

1. Filtered search: a library of `--n` vectors (the tiny random model's dimension; the vectors are drawn, since
   timing does not depend on what they mean), every photo with a date, a camera (one of 100) and a keyword (one of
   100), so `camera:` keeps 1 %. Timed in-process: the same text query unfiltered (the HNSW index), with
   `camera:cam07` (exact over the 1 % that match), and with `after:` keeping 50 % (exact over half the library); the
   query's vector is cached after the first run, as in a session, so this is the search itself. Goal: the 1 %
   filtered search <= 50 ms.
2. Metadata: the offline model indexes real photos (scikit-image's samples and, when present, tuxpaint's stamps);
   then the photos' facts are read again from scratch (`indexing.metadata.refresh`), and that time is given as a
   share of the indexing time. Goal: <= 5 %.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def timed(fn, repeats: int) -> float:
    fn()  # warm: caches, the text vector
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def filtered_search(n: int, repeats: int) -> None:
    from xmr_gui.core.runtime.spec import ModelSpec
    from xmr_gui.core.search.photos import search_query
    from xmr_gui.core.search.query import parse_query
    from xmr_gui.core.store import photo_meta
    from xmr_gui.core.store.library import Library
    from xmr_gui.core.store.photo_meta import PhotoMeta

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="xmr-filters-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        lib = Library.create(Path(tmp) / "db", folder, ModelSpec.parse("xmr-tiny", "random"))
        dim = lib.encoder.encode_texts(["x"]).shape[1]
        vectors = rng.standard_normal((n, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # as an encoder gives them
        db = lib.catalog.connection
        t0 = time.perf_counter()
        with lib.catalog.transaction():
            lib.catalog.set_meta("dim", str(dim))
            for i in range(n):
                pid = lib.catalog.put_indexed(str(folder / f"p{i:06d}.jpg"), 1, 1, vectors[i])
                day = f"20{10 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00"
                meta = PhotoMeta(day, "exif", camera=f"cam{i % 100:02d}", keywords=(f"kw{i % 100:02d}",))
                photo_meta.put(db, pid, 1, 1, meta)
        built = time.perf_counter() - t0
        _ = lib.index  # the HNSW index, built from the catalog
        print(f"filtered search: {n:,} vectors of {dim} dims (catalog written in {built:.0f} s)")
        plain = timed(lambda: search_query(lib, parse_query("a red car"), 20), repeats)
        one = timed(lambda: search_query(lib, parse_query("a red car camera:cam07"), 20), repeats)
        half = timed(lambda: search_query(lib, parse_query("a red car after:2015"), 20), repeats)
        only = timed(lambda: search_query(lib, parse_query("camera:cam07"), 20), repeats)
        hits = search_query(lib, parse_query("a red car camera:cam07"), 20)
        assert len(hits) == 20
        print("| search | median ms | x unfiltered |")
        print("|---|---|---|")
        print(f"| unfiltered (HNSW) | {plain:.1f} | 1.00 |")
        print(f"| camera: keeps 1 % (exact) | {one:.1f} | {one / plain:.2f} |")
        print(f"| after: keeps 50 % (exact) | {half:.1f} | {half / plain:.2f} |")
        print(f"| camera: alone (list, newest first) | {only:.1f} | {only / plain:.2f} |")
        lib.close()


def metadata_share() -> None:
    from xmr_gui.core.indexing import metadata
    from xmr_gui.core.indexing.indexer import index_folder
    from xmr_gui.core.models import ModelWish, offline_spec
    from xmr_gui.core.opening import OpenRequest, open_folder
    from xmr_gui.core.runtime.spec import Precision

    sources: list[Path] = []
    try:
        import skimage

        sources += sorted(Path(skimage.__file__).parent.joinpath("data").glob("*.png"))
    except ImportError:
        pass
    try:
        from offline_model import tuxpaint_collection  # fetched with apt-get download when not installed

        sources += list(tuxpaint_collection().paths)[:300]
    except (ImportError, OSError, subprocess.CalledProcessError):
        pass
    with tempfile.TemporaryDirectory(prefix="xmr-meta-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i, src in enumerate(sources):
            (folder / f"{i:04d}{src.suffix}").write_bytes(src.read_bytes())
        request = OpenRequest(folder, ModelWish(spec=offline_spec()), db=Path(tmp) / "db", precision=Precision.FP32)
        with open_folder(request) as opened:
            lib = opened.library
            report = index_folder(lib, folder)
            db = lib.catalog.connection
            db.execute("DELETE FROM photo_meta")
            db.execute("DELETE FROM photo_keywords")
            t0 = time.perf_counter()
            read = metadata.refresh(lib)
            facts = time.perf_counter() - t0
        print(
            f"\nmetadata: {read} real photos; indexing {report.seconds:.1f} s (facts included), reading the facts "
            f"alone {facts:.2f} s = {100 * facts / report.seconds:.1f} % of indexing"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--skip-metadata", action="store_true")
    args = ap.parse_args()
    from duplicates import cpu_name

    print(f"CPU: {cpu_name()}")
    filtered_search(args.n, args.repeats)
    if not args.skip_metadata:
        metadata_share()


if __name__ == "__main__":
    main()
