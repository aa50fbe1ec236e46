"""A working session over one photo folder, as the window uses it (Qt-free, so tests and scripts can too).

It owns the open library, the model choice and the optional checkpoint; every method may be slow (model
loading, encoding) and is meant to run off the GUI thread; none of them touches Qt. Importing it is cheap
(numpy, Pillow and the model code load on first use), so the window can show before any of that.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .base.defaults import BATCH_SIZE
from .base.errors import XmrError
from .base.progress import quiet
from .runtime.spec import Device, ModelSpec, Precision

if TYPE_CHECKING:
    from .indexing.indexer import IndexReport, Progress
    from .learn.checkpoint import Checkpoint
    from .learn.keywords import Labels
    from .learn.label_graph import NamedGraph
    from .models import Decision, ModelWish
    from .runtime.prepare import Prepared
    from .runtime.spec import Encoder
    from .search.duplicates import Group
    from .search.labels import LabelScore
    from .search.photos import Hit
    from .search.review import Finding, Judged, Written
    from .store.library import Library
    from .views.embedding_map import MapData


class SessionError(XmrError):
    """Something the user asked for that cannot be done now (no folder open, ...)."""


@dataclass(frozen=True)
class LibraryStatus:
    """What the open folder's library holds, for the status bar (`Session.status`)."""

    folder: str
    indexed: int  # photos searchable now
    skipped: int  # files that could not be indexed
    model: str  # the backbone, described for people
    precision: str  # fp32 / int8 / ...
    checkpoint: Path | None  # the checkpoint whose heads answer, if any


@dataclass(frozen=True)
class LabelRow:
    label: str
    score: float
    lifted_by: list[tuple[str, float]] = field(default_factory=list)  # neighbour labels that raised it
    threshold: float | None = None  # a checkpoint's calibrated threshold for the label (`search.suggest.cut`)
    per_label: bool = False  # `threshold` is the label's own, not the one for every label


@dataclass(frozen=True)
class SearchAnswer:
    """What the window shows for a search: the hits, the filters' count (None without filters) of `indexed`
    photos, and notes on how the query was read (a photo path that is no file, ...)."""

    hits: list[Hit]
    matching: int | None
    indexed: int | None
    notes: list[str]
    how: str | None = None  # how a checkpoint answered a query naming its labels (`label_query.explain`), as the CLI


@dataclass(frozen=True)
class ModelChoice:
    """What the user picked: a checkpoint (its backbone encodes), a bare backbone spec, or neither: automatic
    (`models.decide` picks per folder: the demo world's checkpoint, the library's model, a cached CLIP model, or the
    offline model); and how to run it."""

    checkpoint: Path | None = None
    spec: ModelSpec | None = None
    device: Device = Device.AUTO
    batch_size: int = BATCH_SIZE
    precision: Precision = Precision.AUTO

    @property
    def automatic(self) -> bool:
        return self.wish.automatic

    @property
    def wish(self) -> ModelWish:
        from .models import ModelWish  # not at import: models reads the demo world's module

        return ModelWish(self.checkpoint, self.spec)

    def with_model(self, checkpoint: Path | None, spec: ModelSpec | None) -> ModelChoice:
        return replace(self, checkpoint=checkpoint, spec=spec)


class Session:
    def __init__(self, choice: ModelChoice) -> None:
        self.choice = choice
        self.library: Library | None = None
        self._raw: Library | None = None  # the same index in the raw backbone space, for "compare"
        self._lock = threading.RLock()  # one slow call at a time on the library
        self.prepared: Prepared | None = None  # how the open library's model was made ready (precision and why)
        self.decision: Decision | None = None  # which model the open folder got, and what to tell the user

    # -- folder + model ---------------------------------------------------------------------
    def open_folder(
        self,
        folder: str | os.PathLike[str],
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_bytes: Callable[[int, int], None] | None = None,
    ) -> Library:
        """Open (or create) the folder's library through the front door (core.opening); the model is prepared first
        (downloaded, exported, checked), each step told to `on_progress`, a download's bytes (done, total) to
        `on_bytes`."""
        from .opening import OpenRequest, open_folder

        with self._lock:
            self.close()
            choice = self.choice
            request = OpenRequest(folder, choice.wish, device=choice.device, precision=choice.precision)
            opened = open_folder(request, on_step=on_progress or quiet, on_bytes=on_bytes, cancel=cancel)
            self.decision, self.prepared, self.library = opened.decision, opened.prepared, opened.library
            return opened.library

    def set_checkpoint(self, path: str | os.PathLike[str]) -> Checkpoint:
        """Validate and adopt a checkpoint (refused with a CheckpointError naming the problem)."""
        from .learn.checkpoint import Checkpoint

        ckpt = Checkpoint.load(path)
        with self._lock:
            self.choice = self.choice.with_model(Path(path), None)
            if self.library is not None:
                self.open_folder(self.library.folder)
        return ckpt

    def set_model(
        self,
        spec: ModelSpec | None,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_bytes: Callable[[int, int], None] | None = None,
        checkpoint: Path | None = None,
    ) -> Library | None:
        """Switch to a backbone or a checkpoint (neither: automatic) and re-open the folder with it (downloading,
        exporting as needed; the caller then indexes, which re-encodes the photos for the new model)."""
        from .runtime.prepare import fetch_weights

        if spec is not None:  # downloaded before the open library is closed: a failed or cancelled download
            fetch_weights(spec, False, on_progress or quiet, on_bytes, cancel)  # leaves the folder on its model
        with self._lock:
            self.choice = self.choice.with_model(checkpoint, spec)
            if self.library is not None:
                return self.open_folder(self.library.folder, on_progress, cancel, on_bytes)
        return None

    def query_hint(self, query: str) -> str | None:
        """One line when `query` is far from everything the active model knows (naming the nearest concepts it
        does know), else None (always None for open-vocabulary CLIP models, and for one of the library's own
        keywords: its photos come first by keyword, as `xmr search` says)."""
        from .search.known import outside
        from .store.photo_meta import with_keyword

        with self._lock:
            lib = self._lib()
            if with_keyword(lib.catalog.connection, query.strip()):
                return None
        # Not under the session's lock: the first hint for a checkpoint prepares MiniLM (the offline model's export,
        # ~30 s once per machine), and searches must not wait for it. The hint reads the model and the space only.
        try:
            hint = outside(lib, query)
        except XmrError:  # the library was switched or closed meanwhile: no hint is the right answer
            return None
        return hint.line() if hint is not None else None

    def model_name(self) -> str:
        """Which model answers, short (for the status bar)."""
        with self._lock:
            return self._lib().model_name()

    def close(self) -> None:
        for lib in (self.library, self._raw):
            if lib is not None:
                lib.close()
        self.library = self._raw = None

    def _lib(self) -> Library:
        if self.library is None:
            raise SessionError("open a folder first")
        return self.library

    # -- work ---------------------------------------------------------------------------------
    def index(
        self, on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None
    ) -> IndexReport:
        from .indexing.indexer import index_folder

        with self._lock:
            lib = self._lib()
            return index_folder(
                lib, lib.folder, batch_size=self.choice.batch_size, on_progress=on_progress, cancel=cancel
            )

    def search_text(self, query: str, k: int = 200, min_score: float = -1.0) -> list[Hit]:
        from .search.photos import search_text

        with self._lock:
            return search_text(self._lib(), query, k, min_score)

    def search(self, query: str, k: int = 200) -> SearchAnswer:
        """The search box's query, parsed once: its hits, how many photos its filters let through (of how many),
        and how it was read (QueryError for a filter that cannot be read)."""
        from .learn.space import LabelSpace
        from .search import label_query
        from .search.photos import answer, clean_query
        from .search.query import parse_query

        parsed = parse_query(clean_query(query))
        with self._lock:
            lib = self._lib()
            found = answer(lib, parsed, k)
            total = lib.indexed_count() if found.matching is not None else None
            plain, space = parsed.plain_text, lib.space
            how = label_query.explain(space, plain) if plain and isinstance(space, LabelSpace) else None
        return SearchAnswer(found.hits, found.matching, total, list(parsed.notes), how)

    def filter_values(self) -> dict[str, list[str]]:
        """What the search box completes filter values from: the library's cameras, folders and keywords."""
        from .store import photo_meta

        with self._lock:
            lib = self._lib()
            db = lib.catalog.connection
            return {
                "camera": photo_meta.values(db, "camera"),
                "folder": photo_meta.folders(db, lib.folder),
                "keyword": photo_meta.values(db, "keyword"),
            }

    def duplicates(self) -> list[Group]:
        """Near-duplicate groups in the open library, the one to keep first (nothing is deleted)."""
        from .search.duplicates import find_duplicates

        with self._lock:
            return find_duplicates(self._lib())

    def review_labels(
        self,
        neighbours: int = 10,
        on_progress: Callable[[Judged], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Finding]:
        """Keywords to look at in the open library (`search.review`, as `xmr review-labels`): missing, doubtful,
        merges; with a checkpoint's classifiers, its opinion too. Nothing is written."""
        from .search.review import review

        with self._lock:
            return review(self._lib(), neighbours, on_progress, cancel)

    def write_missing(self, findings: list[Finding]) -> Written:
        """Add the accepted missing keywords to their photos' XMP sidecars (never the photos), as
        `xmr review-labels --write-sidecars`."""
        from .search.review import write_missing

        return write_missing(findings)

    def search_image(self, path: str | os.PathLike[str], k: int = 200, min_score: float = -1.0) -> list[Hit]:
        from .search.photos import search_image

        with self._lock:
            return search_image(self._lib(), path, k, min_score)

    def describe(self, path: str | os.PathLike[str], k: int = 10) -> list[LabelRow]:
        """Ranked labels; with a checkpoint, its suggestions at any score (each with the graph neighbours that lifted
        it), else the model's vocabulary."""
        from .learn.space import LabelSpace
        from .search.labels import describe

        with self._lock:
            if isinstance(self._lib().space, LabelSpace):
                return self.suggestions(path, k)
            ranked: list[LabelScore] = describe(self._lib(), path, None, k)
            return [LabelRow(r.label, r.score) for r in ranked]

    # -- a photo's keywords and a checkpoint's suggestions (search/suggest.py, as `xmr suggest`) --------------
    @property
    def can_suggest(self) -> bool:
        """Whether the open library's space has label classifiers (a trained checkpoint's) to suggest labels with."""
        from .learn.space import LabelSpace

        lib = self.library
        return lib is not None and isinstance(lib.space, LabelSpace)

    def keywords(self, path: str | os.PathLike[str]) -> Labels:
        """The labels the photo already has (XMP and IPTC keywords, embedded or in a sidecar), with any sidecar or
        packet that could not be read listed in its `problems`."""
        from .learn.keywords import read_labels

        return read_labels(path)

    def suggestions(self, path: str | os.PathLike[str], k: int = 10, min_score: float = -1.0) -> list[LabelRow]:
        """The checkpoint's labels for the photo with probability >= `min_score`, at most `k`, best first, each with
        the graph neighbours that lifted it (SuggestError without a checkpoint's classifiers)."""
        from .search.suggest import suggest

        with self._lock:
            found = suggest(self._lib(), path, k, min_score)
            return [LabelRow(s.label, s.score, s.lifted_by, s.threshold, s.per_label) for s in found]

    def add_labels(self, path: str | os.PathLike[str], labels: list[str]) -> Path:
        """Add `labels` to the photo's XMP sidecar (never to the photo; an existing sidecar keeps its other fields,
        a corrupt one is left alone with a KeywordError); returns the sidecar's path."""
        from .search.suggest import add_to_sidecar

        return add_to_sidecar(path, labels)

    def compare_text(self, query: str, k: int = 200) -> tuple[list[Hit], list[Hit]]:
        """The same query in the raw backbone space (zero-shot) and in the checkpoint's space."""
        from .learn.space import RawSpace
        from .search.photos import search_text
        from .store.library import Library

        with self._lock:
            lib = self._lib()
            if self._raw is None:
                self._raw = Library.open(lib.db_dir)
                self._raw.use_encoder(lib.encoder)
                self._raw.use_space(RawSpace(lib.spec.identity()))
            return search_text(self._raw, query, k), search_text(lib, query, k)

    def map(self, method: str, queries: list[str], vocabulary: str | None = None) -> MapData:
        """The embedding map of the open library, cached per index + space; its clusters named from `vocabulary` (a
        file, one concept per line) if given, else from what the model knows (`clusters.vocabulary_for`)."""
        from .views.embedding_map import build_map

        with self._lock:
            return build_map(self._lib(), method, queries, vocabulary=vocabulary)

    def label_graph(self, source: str) -> NamedGraph:
        """The graph of 'checkpoint' (the open one), 'folder' (its labels.jsonl) or an example's name."""
        from .learn.label_graph import NamedGraph

        if source == "checkpoint":
            lib = self.library
            path = lib.checkpoint.path if lib is not None and lib.checkpoint is not None else self.choice.checkpoint
            if path is None:
                raise SessionError("no checkpoint open: File → Open checkpoint, or pick the MIRFlickr example")
            return NamedGraph.from_checkpoint(path)
        if source == "folder":
            lib = self._lib()
            for root in (Path(lib.folder), Path(lib.folder).parent):
                if (root / "labels.jsonl").is_file():
                    return NamedGraph.from_dataset(root)
            raise SessionError("this folder has no labels.jsonl")
        return NamedGraph.example(source)

    def status(self) -> LibraryStatus | None:
        """The open library's counts and model; None with no folder open."""
        lib = self.library
        if lib is None:
            return None
        ckpt = lib.checkpoint
        return LibraryStatus(
            folder=lib.folder,
            indexed=lib.indexed_count(),
            skipped=lib.catalog.count("skipped"),
            model=lib.spec.describe(),
            precision=lib.spec.precision,
            checkpoint=Path(ckpt.path) if ckpt else None,
        )

    def skipped(self) -> list[tuple[str, str]]:
        return self._lib().catalog.skipped()

    @property
    def has_checkpoint(self) -> bool:
        return self.library is not None and self.library.checkpoint is not None

    def encoder(self) -> Encoder:
        return self._lib().encoder
