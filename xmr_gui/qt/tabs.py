"""The window's three tabs (Photos, Label graph, Map) and what passes between them: a label clicked in the graph
is searched for, photos picked on the map are shown (and described, when one) in the Photos tab."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from ..core.session import Session
from .search_tab import SearchTab
from .tasks import TaskRunner
from .thumbs import ThumbnailCache
from .views_tab import GraphTab, MapTab

PHOTOS, GRAPH, MAP = range(3)


class MainTabs(QTabWidget):
    def __init__(
        self, session: Session, tasks: TaskRunner, thumbs: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.search = SearchTab(session, tasks, thumbs)
        self.graph_tab = GraphTab(session, tasks)
        self.map_tab = MapTab(session, tasks, thumbs)
        self.addTab(self.search, "Photos")
        self.addTab(self.graph_tab, "Label graph")
        self.addTab(self.map_tab, "Map")
        self.currentChanged.connect(self._on_tab_changed)
        self.graph_tab.query_requested.connect(self.search.search_for)
        self.map_tab.photos_selected.connect(self._on_map_selection)
        self.map_tab.label_selected.connect(self._on_map_label)
        self.map_tab.query_wanted.connect(self._on_map_query)

    def _on_tab_changed(self, index: int) -> None:
        """The graph and the map are built the first time they are shown; the map places the current query."""
        if index == GRAPH:
            self.graph_tab.ensure()
        elif index == MAP:
            self.map_tab.ensure()
            self.map_tab.refresh(self.search.query())

    def _on_map_selection(self, paths: list[str]) -> None:
        self.search.show_paths(paths, "selected on the map")
        if len(paths) == 1:
            self.search.describe(paths[0])
        else:
            self.setCurrentIndex(PHOTOS)

    def _on_map_query(self, query: str) -> None:
        """A bookmark opened on the map brings its query: in the search box, searched (the grid shows its photos)."""
        if query != self.search.query():
            if query:
                self.search.search_for(query)
            else:
                self.search.search_box.setText("")

    def _on_map_label(self, label: str, paths: list[str]) -> None:
        """A label marker clicked on the map: its photos in the grid, shown (as a box selection is)."""
        self.search.show_paths(paths, f"with the label {label} (map)")
        self.setCurrentIndex(PHOTOS)
