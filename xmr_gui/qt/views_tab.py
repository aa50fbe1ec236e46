"""The Label graph and Map tabs. Their views import pyqtgraph, so each is built the first time its tab is shown
(`ensure`); the graph and the map themselves come from the session, off the GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..core.session import Session
from .tasks import TaskRunner

if TYPE_CHECKING:
    from ..core.learn.label_graph import NamedGraph
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
    """The 2-D map of the library's space: PCA at once, then UMAP in the background."""

    map_shown = Signal(str)  # "pca" / "umap"
    photos_selected = Signal(list)  # absolute paths
    label_selected = Signal(str, list)  # a label marker was clicked: the label and its photos

    def __init__(
        self, session: Session, tasks: TaskRunner, thumbs: ThumbnailCache | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tasks = tasks
        self.thumbs = thumbs
        self.view: MapView | None = None
        self._key: tuple[int | None, str] | None = None

    def ensure(self) -> None:
        if self.view is not None:
            return
        from .map_view import MapView

        self.view = MapView(self.thumbs)
        self.view.photos_selected.connect(self.photos_selected)
        self.view.label_selected.connect(self.label_selected)
        self.view.data_shown.connect(self.map_shown)
        QVBoxLayout(self).addWidget(self.view)

    def refresh(self, query: str) -> None:
        """The map with `query` placed on it, unless it shows that already (both projections are cached per index
        and space in the core)."""
        if self.session.library is None or self.view is None:
            return
        status = self.session.status()
        key = (status.indexed if status is not None else None, query)
        if key == self._key:
            return
        self._key = key
        queries = [query] if query else []
        self.view.set_busy("PCA …")
        self.tasks.start(self.session.map, "pca", queries, on_result=lambda data: self._on_map(data, "pca", queries))

    def _on_map(self, data: MapData, method: str, queries: list[str]) -> None:
        view = self.view
        assert view is not None  # made by ensure() before any map is asked for
        if method == "pca":
            view.set_data(data, method)
            view.set_busy("UMAP computing in the background (PCA shown) …")
            self.tasks.start(self.session.map, "umap", queries, on_result=lambda d: self._on_map(d, "umap", queries))
        else:
            view.set_busy("")
            view.set_data(data, method)  # after: its status line ("UMAP: n photos …") stays
