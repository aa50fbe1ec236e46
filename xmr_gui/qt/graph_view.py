"""The label-graph view: nodes sized by frequency, edges by re-weighted adjacency, live τ / p sliders,
P(j | i) of the selected label, and its nearest labels before and after the GCN.

A hierarchical graph (labels from folders or hierarchical keywords: core.views.graph_layout.is_hierarchical) is
laid out in layers, parents above children, and its one-way edges carry an arrowhead i → j where P(j | i) ≥ τ but
not the reverse (cats → mammals: every cat is a mammal); an implication that follows through another label
(cats → animals) is drawn faint. A graph of labels side by side (the demo's) keeps its spring layout."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ..core.learn.label_graph import NamedGraph


class GraphView(QWidget):
    """Shows a core NamedGraph; τ/p sliders rebuild it from the stored counts (nothing is recounted)."""

    # The node layout, (n, 2). The attribute shadows QWidget.pos() on instances (nothing here calls pos()).
    pos: np.ndarray  # type: ignore[assignment]
    query_requested = Signal(str)  # a label was clicked: run it as a text query
    graph_changed = Signal(int)  # edge count after a redraw

    def __init__(self, graph: NamedGraph, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ..core.views.graph_layout import direct_parents, layout, parents

        self.graph = graph
        self.selected = 0
        # One layout per graph source, from the τ/p it came with: it stays put while the sliders move.
        g0 = graph.graph
        A = g0.reweighted
        self.pos, self.layered = layout(g0.probabilities, g0.frequencies, A + A.T, graph.labels)
        H = parents(g0.probabilities, g0.frequencies)
        self.implied = H & ~direct_parents(H)  # i → j only through another label: drawn faint
        self.arrows: list[pg.ArrowItem] = []
        self.plot = pg.PlotWidget()
        self.plot.setBackground(self.palette().color(self.backgroundRole()).lighter(108))  # follows the theme
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.edges = pg.GraphItem()
        self.nodes = pg.ScatterPlotItem(hoverable=True, tip=None)
        self.nodes.sigClicked.connect(self._on_node_clicked)
        self.nodes.sigHovered.connect(self._on_node_hovered)
        self.plot.addItem(self.edges)
        self.plot.addItem(self.nodes)
        self.texts = []
        offset = 0.022 if self.layered else 0.045  # clear of the dot (a layered graph is drawn smaller)
        for name, (x, y) in zip(graph.labels, self.pos, strict=False):
            t = pg.TextItem(name, anchor=(0, 0.5), color=(30, 30, 30) if self._light() else (230, 230, 230))
            t.setPos(x + offset, y)
            self.plot.addItem(t)
            self.texts.append(t)

        self.tau = self._slider(0, 100, int(round(graph.graph.tau * 100)))
        self.p = self._slider(0, 100, int(round(graph.graph.p * 100)))
        self.tau_label, self.p_label, self.edge_label = QLabel(), QLabel(), QLabel()
        self.source_label = QLabel(graph.source)
        self.source_label.setWordWrap(True)
        self.source_label.setToolTip(graph.attribution)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["j", "P(j | i)"])
        self.table.verticalHeader().setVisible(False)
        self.before = QRadioButton("label names (before GCN)")
        self.after = QRadioButton("GCN output (after)")
        self.after.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.before)
        group.addButton(self.after)
        self.before.toggled.connect(self._update_neighbours)
        self.neighbours = QLabel()
        self.neighbours.setWordWrap(True)
        has_embeddings = graph.label_outputs is not None
        for b in (self.before, self.after):
            b.setEnabled(has_embeddings)

        side = QWidget()
        form = QFormLayout(side)
        form.addRow(self.source_label)
        form.addRow(self.tau_label, self.tau)
        form.addRow(self.p_label, self.p)
        form.addRow(self.edge_label)
        self.selected_label = QLabel()
        form.addRow(self.selected_label)
        form.addRow(self.table)
        form.addRow(QLabel("Nearest labels of the selected one:"))
        form.addRow(self.before)
        form.addRow(self.after)
        form.addRow(self.neighbours)
        side.setMaximumWidth(340)
        row = QHBoxLayout(self)
        row.addWidget(self.plot, 1)
        box = QVBoxLayout()
        box.addWidget(side)
        row.addLayout(box)
        self._redraw()
        self._select(int(np.argmax(graph.graph.frequencies)))

    @staticmethod
    def _light() -> bool:
        from PySide6.QtGui import QGuiApplication

        return QGuiApplication.palette().window().color().lightness() > 128

    def _slider(self, lo: int, hi: int, value: int) -> QSlider:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(lo, hi)
        s.setValue(value)
        s.valueChanged.connect(self._redraw)
        return s

    # -- drawing -----------------------------------------------------------------------------
    def _redraw(self) -> None:
        g = self.graph.graph = self.graph.graph.with_params(self.tau.value() / 100, self.p.value() / 100)
        self.tau_label.setText(f"τ = {g.tau:.2f}")
        self.p_label.setText(f"p = {g.p:.2f}")
        B, A = g.binary, g.reweighted
        src, dst = np.nonzero(B)
        if self.layered:  # one line per pair, the faint implied ones last drawn least
            widths = 1 + 4 * np.maximum(A[src, dst], A[dst, src])
            alpha = np.where(self.implied[src, dst] | self.implied[dst, src], 45, 190)
        else:
            widths, alpha = 1 + 10 * A[src, dst], np.full(len(src), 170)
        pens = np.array(
            [(90, 120, 200, a, w) for w, a in zip(widths, alpha, strict=True)],
            dtype=[("red", np.ubyte), ("green", np.ubyte), ("blue", np.ubyte), ("alpha", np.ubyte), ("width", float)],
        )
        self.edges.setData(
            pos=self.pos,
            adj=np.stack([src, dst], 1) if len(src) else np.zeros((0, 2), int),
            pen=pens if len(src) else None,
            size=0,
            symbolPen=None,
            symbolBrush=None,
        )
        self._draw_arrows(B)
        freq = g.frequencies.astype(float)
        sizes = (
            (8 + 16 * np.sqrt(freq / max(freq.max(), 1)))
            if self.layered
            else 10 + 30 * np.sqrt(freq / max(freq.max(), 1))
        )
        brushes = [
            pg.mkBrush(250, 120, 40) if i == self.selected else pg.mkBrush(250, 185, 70) for i in range(len(freq))
        ]
        self.nodes.setData(
            pos=self.pos, size=sizes, brush=brushes, pen=pg.mkPen(90, 60, 20), data=list(range(len(freq)))
        )
        self.edge_label.setText(f"{g.n_edges} edges (P(j|i) ≥ τ)")
        self._update_table()
        self.graph_changed.emit(g.n_edges)

    def _draw_arrows(self, B: np.ndarray) -> None:
        """Layered graphs: an arrowhead half way along every one-way edge i → j (P(j|i) ≥ τ > P(i|j)), except
        the faint implied ones."""
        for a in self.arrows:
            self.plot.removeItem(a)
        self.arrows = []
        if not self.layered:
            return
        Bb = B > 0
        for i, j in zip(*np.nonzero(Bb & ~Bb.T & ~self.implied), strict=False):
            (x0, y0), (x1, y1) = self.pos[i], self.pos[j]
            # ArrowItem points left at angle 0 and turns clockwise on screen, where y grows downwards
            a = pg.ArrowItem(
                pos=((x0 + x1) / 2, (y0 + y1) / 2),
                angle=float(np.degrees(np.arctan2(y1 - y0, -(x1 - x0)))),
                headLen=11,
                tipAngle=32,
                brush=pg.mkBrush(70, 100, 190, 220),
                pen=None,
            )
            self.plot.addItem(a)
            self.arrows.append(a)

    def _select(self, i: int) -> None:
        self.selected = i
        self.selected_label.setText(
            f"selected: <b>{self.graph.labels[i]}</b> ({int(self.graph.graph.frequencies[i])} items)"
        )
        self._redraw()
        self._update_neighbours()

    def _update_table(self) -> None:
        P = self.graph.graph.probabilities[self.selected]
        order = [j for j in np.argsort(-P) if j != self.selected and P[j] > 0]
        self.table.setRowCount(len(order))
        for r, j in enumerate(order):
            self.table.setItem(r, 0, QTableWidgetItem(self.graph.labels[j]))
            item = QTableWidgetItem(f"{P[j]:.3f}" + ("  ●" if P[j] >= self.graph.graph.tau else ""))
            self.table.setItem(r, 1, item)

    def _update_neighbours(self) -> None:
        which = "before" if self.before.isChecked() else "after"
        near = self.graph.neighbours(self.selected, which)
        self.neighbours.setText(
            ", ".join(f"{n} ({s:.2f})" for n, s in near) if near else "(open a checkpoint to compare embeddings)"
        )

    # -- interaction -------------------------------------------------------------------------
    def _on_node_clicked(self, _item, points, _ev=None) -> None:  # type: ignore[no-untyped-def]
        if len(points):
            i = int(points[0].data())
            self._select(i)
            self.query_requested.emit(self.graph.labels[i])

    def _on_node_hovered(self, _item, points, _ev=None) -> None:  # type: ignore[no-untyped-def]
        if len(points):
            i = int(points[0].data())
            P = self.graph.graph.probabilities[i]
            top = [f"{self.graph.labels[j]} {P[j]:.2f}" for j in np.argsort(-P)[:4] if P[j] > 0]
            self.nodes.setToolTip(
                f"{self.graph.labels[i]}: {int(self.graph.graph.frequencies[i])} items\n"
                f"top neighbours: {', '.join(top)}"
            )
