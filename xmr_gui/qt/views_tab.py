"""The Label graph and Map tabs. Their views import pyqtgraph, so each is built the first time its tab is shown
(`ensure`); the graph and the map themselves come from the session, off the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.session import Session
from .tasks import TaskRunner

if TYPE_CHECKING:
    from ..core.learn.label_graph import NamedGraph
    from ..core.views.bookmark import Bookmark
    from ..core.views.embedding_map import MapData
    from .graph_view import GraphView
    from .map_view import MapView
    from .thumbs import ThumbnailCache


class GraphTab(QWidget):
    """The label graph of the open checkpoint, of the folder's labels, or of an example."""

    graph_shown = Signal(int)  # edges
    query_requested = Signal(str)  # a label was clicked

    def __init__(self, session: Session, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.view: GraphView | None = None
        self.source: QComboBox | None = None

    def ensure(self) -> None:
        """Build the tab and show the first graph, once."""
        if self.source is not None:
            return
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Graph of"))
        self.source = source = QComboBox()
        source.addItem("the open checkpoint", "checkpoint")
        source.addItem("this folder's labels", "folder")
        source.addItem("example: MIRFlickr-25K (real annotations)", "mirflickr")
        source.currentIndexChanged.connect(lambda _i: self.show_graph(source.currentData()))
        row.addWidget(source)
        row.addStretch()
        layout.addLayout(row)
        self._holder = QVBoxLayout()
        layout.addLayout(self._holder, 1)
        self.show_graph("checkpoint" if self.session.has_checkpoint or self.session.choice.checkpoint else "mirflickr")

    def show_graph(self, source: str) -> None:
        """'checkpoint', 'folder' or an example's name (see Session.label_graph)."""
        self.ensure()
        assert self.source is not None
        index = self.source.findData(source)
        if index >= 0 and index != self.source.currentIndex():
            self.source.setCurrentIndex(index)  # comes back here through the signal
            return
        self.tasks.start(self.session.label_graph, source, on_result=self._on_graph)

    def _on_graph(self, graph: NamedGraph) -> None:
        from .graph_view import GraphView

        if self.view is not None:
            self._holder.removeWidget(self.view)
            self.view.deleteLater()
        self.view = GraphView(graph)
        self.view.query_requested.connect(self.query_requested)
        self.view.graph_changed.connect(self.graph_shown)
        self._holder.addWidget(self.view)
        self.graph_shown.emit(graph.graph.n_edges)


class MapTab(QWidget):
    """The 2-D map of the library's space: PCA at once, then UMAP in the background (unless PCA is asked for); a
    view saved as a bookmark and opened again (map_bookmarks)."""

    map_shown = Signal(str)  # "pca" / "umap"
    photos_selected = Signal(list)  # absolute paths
    label_selected = Signal(str, list)  # a label marker was clicked: the label and its photos
    query_wanted = Signal(str)  # a bookmark opened with this query: the search box should show it
    bookmark_shown = Signal()  # an opened bookmark's view is on the map

    def __init__(
        self, session: Session, tasks: TaskRunner, thumbs: ThumbnailCache | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.thumbs = thumbs
        self.view: MapView | None = None
        self.projection: QComboBox | None = None
        self._key: tuple[int | None, str, str] | None = None  # (photos indexed, query, projection) shown or coming
        self._query = ""
        self._asked = 0  # maps asked for: a result of an older request is dropped
        self._pending: Bookmark | None = None  # opened, shown once its projection arrives
        self.vocabulary: str | None = None  # a vocabulary file the clusters are named from (None: the model's own)
        self.names_from: QPushButton | None = None

    def ensure(self) -> None:
        if self.view is not None:
            return
        from .map_view import MapView

        self.view = view = MapView(self.thumbs)
        view.photos_selected.connect(self.photos_selected)
        view.label_selected.connect(self.label_selected)
        view.data_shown.connect(self.map_shown)
        self.projection = QComboBox()
        self.projection.addItem("UMAP", "umap")
        self.projection.addItem("PCA", "pca")
        self.projection.currentIndexChanged.connect(lambda _i: self.refresh(self._query))
        save, open_ = QPushButton("Save view…"), QPushButton("Open view…")
        save.setToolTip("Save this view (layout, zoom, colouring, selection, query) as a bookmark file")
        open_.setToolTip("Open a bookmark saved with Save view (or xmr map --save-bookmark)")
        save.clicked.connect(self._on_save)
        open_.clicked.connect(self._on_open)
        self.names_from = QPushButton("Names from…")
        self.names_from.setToolTip(
            "Name the clusters from a vocabulary file (one concept per line) instead of what the model knows;"
            " choose no file to go back"
        )
        self.names_from.clicked.connect(self._on_names_from)
        for i, w in enumerate((QLabel("projection"), self.projection)):
            view.tools.insertWidget(i, w)
        view.action_row.insertWidget(view.action_row.count() - 1, save)  # before the stretch
        view.action_row.insertWidget(view.action_row.count() - 1, open_)
        view.action_row.insertWidget(view.action_row.count() - 1, self.names_from)
        QVBoxLayout(self).addWidget(view)

    def set_vocabulary(self, path: str | None) -> None:
        """Name the clusters from `path` (a vocabulary file), or from the model's own concepts when None."""
        self.vocabulary = path
        if self.names_from is not None:
            self.names_from.setText(f"Names from {Path(path).name}" if path else "Names from…")
        self._key = None
        self.refresh(self._query)

    def _on_names_from(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Name the clusters from a vocabulary file", "", "Text (*.txt);;All (*)"
        )
        self.set_vocabulary(path or None)

    def method(self) -> str:
        return str(self.projection.currentData()) if self.projection is not None else "umap"

    def refresh(self, query: str) -> None:
        """The map with `query` placed on it, unless it shows that already (both projections are cached per index
        and space in the core)."""
        if self.session.library is None or self.view is None:
            return
        status = self.session.status()
        key = (status.indexed if status is not None else None, query, self.method())
        if key == self._key:
            if self._pending is not None and self.view.data is not None and self.view.method == self.method():
                self._restore()
            return
        self._key, self._query = key, query
        self._asked += 1
        asked, queries = self._asked, [query] if query else []
        self.view.set_busy("PCA …")
        self.tasks.start(
            self.session.map,
            "pca",
            queries,
            self.vocabulary,
            on_result=lambda d: self._on_map(d, "pca", queries, asked),
        )

    def _on_map(self, data: MapData, method: str, queries: list[str], asked: int) -> None:
        view = self.view
        assert view is not None  # made by ensure() before any map is asked for
        if asked != self._asked:
            return
        if method == "pca" and self.method() == "umap":
            view.set_data(data, method)
            view.set_busy("UMAP computing in the background (PCA shown) …")
            self.tasks.start(
                self.session.map,
                "umap",
                queries,
                self.vocabulary,
                on_result=lambda d: self._on_map(d, "umap", queries, asked),
            )
            return
        view.set_busy("")
        view.set_data(data, method)  # after: its status line ("UMAP: n photos …") stays
        if self._pending is not None:
            self._restore()

    # -- bookmarks ---------------------------------------------------------------------------
    def save_bookmark(self, path: str) -> Bookmark:
        from .map_bookmarks import capture

        assert self.view is not None and self.view.data is not None
        lib = self.session.library
        bookmark = capture(self.view, self._query, lib.folder if lib is not None else "")
        bookmark.save(path)
        return bookmark

    def open_bookmark(self, path: str) -> None:
        """Read the bookmark off the GUI thread, then compute its map (projection, query) and show its view; a bad
        file is one line in the window (BookmarkError)."""
        from ..core.views.bookmark import Bookmark

        self.tasks.start(Bookmark.load, path, on_result=self.show_bookmark)

    def show_bookmark(self, bookmark: Bookmark) -> None:
        self.ensure()
        assert self.projection is not None
        self._pending = bookmark
        self.query_wanted.emit(bookmark.query)
        self.projection.blockSignals(True)
        self.projection.setCurrentIndex(max(0, self.projection.findData(bookmark.method)))
        self.projection.blockSignals(False)
        self.refresh(bookmark.query)

    def _restore(self) -> None:
        from .map_bookmarks import restore

        assert self.view is not None and self._pending is not None
        bookmark, self._pending = self._pending, None
        missing = restore(self.view, bookmark)
        if missing:
            self.view.status.setText(f"{len(missing)} photo(s) of the bookmark's selection are no longer on the map")
        self.bookmark_shown.emit()

    def _on_save(self) -> None:
        if self.view is None or self.view.data is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save view", "map-view.json", "Map bookmark (*.json)")
        if path:
            self.save_bookmark(path)

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open view", "", "Map bookmark (*.json)")
        if path:
            self.open_bookmark(path)
