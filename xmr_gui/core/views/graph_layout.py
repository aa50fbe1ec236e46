"""Label graphs for people: a stable 2-D layout and a PNG rendering (Pillow; no Qt) of a NamedGraph.

Two layouts. Labels that co-occur side by side (the demo world: a beach has sea, sand, boats) get a spring
layout. Labels kept in a hierarchy (folders animals/mammals/cats, Lightroom's animals|mammals|cats) imply their
parents: P(animals | cats) = 1 while P(cats | animals) is small. `parents` finds those implications (P(j | i)
>= IMPLIES and j strictly more frequent than i), and when at least HIERARCHICAL_SHARE of the labels have a
parent, `layout` lays the graph out in layers instead: a label's layer is the longest chain of implications
above it, so parents sit above their children, each family under its parent, the families packed in rows to
fill the view. The demo checkpoint's graph (5 of 24 labels imply another, e.g. moon → night) stays a spring
layout; tuxpaint's folders (53 of 73) and MIRFlickr's annotations (baby → people, lake → water) are layered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from ..learn.label_graph import NamedGraph


def spring_layout(weights: np.ndarray, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """Fruchterman–Reingold positions in [-1, 1]² for a weighted graph; seeded, so redraws are stable."""
    n = len(weights)
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (n, 2))
    W = np.maximum(weights, weights.T)
    np.fill_diagonal(W, 0)
    k = 1.0 / np.sqrt(max(n, 1))
    temperature = 0.1
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (2 * k * k / dist**2)[..., None] * delta - (W * dist / k)[..., None] * delta
        disp = force.sum(axis=1)
        length = np.maximum(np.linalg.norm(disp, axis=1, keepdims=True), 1e-9)
        pos += disp / length * np.minimum(length, temperature)
        temperature *= 0.985
    pos -= pos.mean(axis=0)
    return cast(np.ndarray, pos / np.maximum(np.abs(pos).max(axis=0), 1e-9))  # fill both axes


IMPLIES = 0.95  # P(parent | child) at least this: "every cat is an animal", allowing a few mislabelled photos
HIERARCHICAL_SHARE = 1 / 3  # the share of labels with a parent above which a graph is laid out in layers
LEAF_ROWS = 4  # a parent's childless children stand in columns of this many (their names side by side would collide)
LEAF_STEP = 0.42  # layers between two rows of such a column
COLUMN = 1.5  # room for one name beside its dot, in the width of a layer's height


def parents(probabilities: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """H[i, j]: label j is a parent of label i (P(j | i) >= IMPLIES and j more frequent). Acyclic, since
    frequencies grow strictly along every chain."""
    P = np.asarray(probabilities, np.float64)
    n = np.asarray(frequencies, np.float64)
    H = (P >= IMPLIES) & (n[None, :] > n[:, None]) & (n[:, None] > 0)
    np.fill_diagonal(H, False)
    return H


def is_hierarchical(probabilities: np.ndarray, frequencies: np.ndarray) -> bool:
    H = parents(probabilities, frequencies)
    return len(H) > 0 and bool(H.any(axis=1).mean() >= HIERARCHICAL_SHARE)


def layers(H: np.ndarray) -> np.ndarray:
    """Each label's layer: 0 without a parent, else 1 + the deepest layer among its parents."""
    n = len(H)
    layer = np.full(n, -1, np.int64)

    def depth(i: int) -> int:
        if layer[i] < 0:
            ps = np.nonzero(H[i])[0]
            layer[i] = 0 if len(ps) == 0 else 1 + max(depth(int(j)) for j in ps)
        return int(layer[i])

    for i in range(n):
        depth(i)
    return layer


def direct_parents(H: np.ndarray) -> np.ndarray:
    """H without the implications that follow through another label (cats → animals, given cats → mammals →
    animals): the edges a hierarchy is drawn with."""
    Hb = H.astype(bool)
    through = (Hb.astype(np.int64) @ Hb.astype(np.int64)) > 0  # i → k → j for some k
    return cast(np.ndarray, Hb & ~through)


class Families:
    """Labels under their main parents (the deepest of their direct parents, then the rarest), children sorted
    biggest family first, and the positions (n, 2) that `place_block` fills: one layer per unit of height, one
    name's room (COLUMN) per unit of width."""

    def __init__(self, probabilities: np.ndarray, frequencies: np.ndarray, names: list[str]) -> None:
        n = len(frequencies)
        freq = np.asarray(frequencies, np.float64)
        H = parents(probabilities, frequencies)
        layer = layers(H)
        D = direct_parents(H)
        self.main = np.full(n, -1, np.int64)
        for i in range(n):
            ps = np.nonzero(D[i])[0]
            if len(ps):
                self.main[i] = int(sorted(ps, key=lambda j: (-layer[j], freq[j], names[j]))[0])
        self.children: dict[int, list[int]] = {i: [] for i in range(n)}
        for i in range(n):
            if self.main[i] >= 0:
                self.children[int(self.main[i])].append(i)
        for kids in self.children.values():
            kids.sort(key=lambda i: (-len(self.children[i]), names[i]))
        self.roots = sorted((i for i in range(n) if self.main[i] < 0), key=lambda i: (-freq[i], names[i]))
        self.pos = np.zeros((n, 2), np.float64)

    def blocks(self) -> list[list[int]]:
        """What is packed into rows: each family (a root with children) alone, then the labels in no hierarchy
        in blocks of their own, at the end."""
        families = [i for i in self.roots if self.children[i]]
        loners = [i for i in self.roots if not self.children[i]]
        return [[i] for i in families] + [loners[k : k + 2 * LEAF_ROWS] for k in range(0, len(loners), 2 * LEAF_ROWS)]

    def place_block(self, block: list[int], x0: float, y0: float) -> tuple[float, float]:
        """Lay out a block with its left edge at x0 and its top at y0; returns (width, depth below y0)."""
        if len(block) == 1 and self.children[block[0]]:
            return self.place(block[0], x0, y0)
        w, d = self.column_block(block, x0, y0 + 1)
        return w, d - 1

    def place(self, i: int, x0: float, y0: float) -> tuple[float, float]:
        """Lay out i's family with its left edge at x0 and i at height y0; returns (width, depth below y0)."""
        kids = self.children[i]
        inner = [k for k in kids if self.children[k]]
        leaves = [k for k in kids if not self.children[k]]
        x, deepest = x0, 0.0
        for k in inner:
            w, d = self.place(k, x, y0 - 1)
            x, deepest = x + w, max(deepest, 1 + d)
        if len(leaves) <= 2:
            for k in leaves:
                self.pos[k] = (x + COLUMN / 2, y0 - 1)
                x, deepest = x + COLUMN, max(deepest, 1.0)
        else:
            w, d = self.column_block(leaves, x, y0)
            x, deepest = x + w, max(deepest, d)
        width = max(x - x0, 1.0)
        self.pos[i] = (x0 + width / 2, y0)
        return width, deepest

    def column_block(self, leaves: list[int], x0: float, y0: float) -> tuple[float, float]:
        """Childless labels in columns of up to LEAF_ROWS, each name beside its dot; (width, depth below y0)."""
        rows = min(LEAF_ROWS, len(leaves))
        for m, k in enumerate(leaves):
            self.pos[k] = (x0 + COLUMN * (m // rows) + 0.5, y0 - 1 - LEAF_STEP * (m % rows))
        return COLUMN * float(-(-len(leaves) // rows)), 1 + LEAF_STEP * (rows - 1)


ROW_GAP = 1.6  # between two rows of families, in layers: room for the names under the deepest one


def pack_rows(
    sizes: list[tuple[float, float]], capacity: float
) -> tuple[list[list[tuple[int, float, float]]], float, float]:
    """Blocks of (width, depth), in order, into rows at most `capacity` wide (a wider block alone in its row):
    the rows as (block, width, depth), and the total width and height."""
    rows: list[list[tuple[int, float, float]]] = [[]]
    used = 0.0
    for b, (w, d) in enumerate(sizes):
        if rows[-1] and used + w > capacity:
            rows.append([])
            used = 0.0
        rows[-1].append((b, w, d))
        used += w
    width = max(sum(w for _, w, _ in row) for row in rows)
    height = sum(max(d for _, _, d in row) + ROW_GAP for row in rows)
    return rows, width, height


def rows_for_aspect(sizes: list[tuple[float, float]], aspect: float) -> list[list[tuple[int, float, float]]]:
    """The packing (of 40 row widths tried) that fills a view `aspect` times as wide as tall the most."""
    widest = max((w for w, _ in sizes), default=1.0)
    total = sum(w for w, _ in sizes)
    best: tuple[float, float] | None = None
    for capacity in np.linspace(widest, max(total, widest), 40):
        _, w, h = pack_rows(sizes, float(capacity))
        score = max(w / aspect, h)
        if best is None or score < best[0]:
            best = (score, float(capacity))
    assert best is not None
    return pack_rows(sizes, best[1])[0]


def layered_layout(
    probabilities: np.ndarray, frequencies: np.ndarray, names: list[str] | None = None, aspect: float = 1.6
) -> np.ndarray:
    """Positions (n, 2), parents above children: y = -layer; each label under its main parent (the deepest of
    its direct parents, then the rarest), siblings side by side (a parent's childless children, when more than
    two, in short columns, so their names do not run into each other), the families packed in rows for a view about
    `aspect` times as wide as tall. Scaled so the widest coordinate is 1 (for an aspect-locked view)."""
    names = names or [str(i) for i in range(len(frequencies))]
    families = Families(probabilities, frequencies, names)
    blocks = families.blocks()
    # measured by laying each block out at the origin; the rows below lay every label out again
    sizes = [families.place_block(b, 0.0, 0.0) for b in blocks]
    y = 0.0
    for row in rows_for_aspect(sizes, aspect):
        x = 0.0
        for b, w, _ in row:
            families.place_block(blocks[b], x, y)
            x += w
        y -= max(d for _, _, d in row) + ROW_GAP
    pos = families.pos
    pos -= (pos.max(axis=0) + pos.min(axis=0)) / 2
    return cast(np.ndarray, pos / max(float(np.abs(pos).max()), 1e-9))


def layout(
    probabilities: np.ndarray,
    frequencies: np.ndarray,
    weights: np.ndarray,
    names: list[str] | None = None,
    mode: str = "auto",
) -> tuple[np.ndarray, bool]:
    """(positions, layered): `mode` 'auto' (layered when `is_hierarchical`), 'layered' or 'spring'."""
    layered = mode == "layered" or (mode == "auto" and is_hierarchical(probabilities, frequencies))
    if layered:
        return layered_layout(probabilities, frequencies, names), True
    return spring_layout(weights), False


def render_png(g: NamedGraph, path: str | os.PathLike[str], size: int = 1200) -> Path:
    """Nodes sized by label frequency, edges drawn with width ∝ re-weighted adjacency, arrows i → j for P(j|i) ≥ τ."""
    from PIL import Image, ImageDraw, ImageFont

    A = g.graph.reweighted
    pos, _ = layout(g.graph.probabilities, g.graph.frequencies, A + A.T, g.labels)
    xy = np.stack([pos[:, 0] * 0.40 + 0.47, 0.47 - pos[:, 1] * 0.40], axis=1) * size  # y up, as in the window
    freq = g.graph.frequencies.astype(float)
    radius = 8 + 22 * np.sqrt(freq / max(freq.max(), 1))
    im = Image.new("RGB", (size, size + 60), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=18) if hasattr(ImageFont, "load_default") else None
    B = g.graph.binary
    for i, j in zip(*np.nonzero(B), strict=False):
        width = max(1, int(round(1 + 12 * A[i, j])))
        d.line([tuple(xy[i]), tuple(xy[j])], fill=(120, 140, 200), width=width)
    for i, name in enumerate(g.labels):
        x, y = xy[i]
        r = radius[i]
        d.ellipse([x - r, y - r, x + r, y + r], fill=(250, 180, 60), outline=(90, 60, 20))
        d.text((x + r + 3, y - 9), name, fill=(20, 20, 20), font=font)
    d.text(
        (10, size + 10),
        f"{g.source}: tau={g.graph.tau:g}, p={g.graph.p:g}, {g.graph.n_edges} edges",
        fill=(0, 0, 0),
        font=font,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path
