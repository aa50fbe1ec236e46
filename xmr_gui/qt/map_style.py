"""What colours the map's points and what the legend says: by cluster (named from the model's concepts, core
`views.clusters`), by each photo's top label (a checkpoint's or the folder's labels), by one label, or none.

Colours come from core `palette.distinct_colours`: no two clusters (or labels) alike, the most distinct going to
the largest clusters (the labels colouring most photos).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.views.embedding_map import MapData

Rgb = tuple[int, int, int]
NO_COLOUR = (150, 150, 150)
OFF = (200, 200, 200)
PICKED = (220, 50, 50)
QUERY = (255, 215, 0)
MAX_LEGEND = 40  # legend entries shown (the largest clusters, the labels colouring most photos)

CLUSTER, LABEL, NONE = "cluster", "label", "none"  # colourings; "label:NAME" colours the photos carrying NAME


@dataclass
class Style:
    """The colours of one MapData's clusters and labels."""

    label_colours: dict[str, Rgb] = field(default_factory=dict)
    top_counts: dict[str, int] = field(default_factory=dict)  # label -> photos it is the top label of
    cluster_colours: list[Rgb] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: MapData) -> Style:
        from ..core.views.palette import distinct_colours

        names = sorted({x for s in data.labels for x in s.split(";") if x})
        tops = [lab.split(";")[0] for k, lab in zip(data.kinds, data.labels, strict=False) if k == "image" and lab]
        order = sorted(names, key=lambda n: (-tops.count(n), n))
        style = cls(dict(zip(order, distinct_colours(len(order)), strict=True)), {n: tops.count(n) for n in order})
        style.label_names = names
        clusters = data.clusters
        if clusters is not None and len(clusters.names):
            by_size = sorted(range(len(clusters.names)), key=lambda c: -int(clusters.sizes[c]))
            palette = distinct_colours(len(by_size))
            style.cluster_colours = [NO_COLOUR] * len(by_size)
            for rank, c in enumerate(by_size):
                style.cluster_colours[c] = palette[rank]
        return style

    def label_colour(self, label: str) -> Rgb:
        return self.label_colours.get(label, NO_COLOUR)

    def colourings(self, data: MapData) -> list[tuple[str, str]]:
        """(shown text, key) of each colouring this map offers, the default first: clusters without a checkpoint's
        or the folder's labels, the top label with them."""
        has_labels = any(k == "image" and lab for k, lab in zip(data.kinds, data.labels, strict=False))
        out = [("top label", LABEL)] if has_labels else []
        if self.cluster_colours:
            out.insert(len(out) if has_labels else 0, ("cluster", CLUSTER))
        return out + [("none", NONE)] + [(n, f"{LABEL}:{n}") for n in self.label_names]

    def colours(self, data: MapData, key: str) -> list[Rgb]:
        """The colour of every row of `data` under colouring `key`."""
        clusters = data.clusters
        one = key.split(":", 1)[1] if key.startswith(f"{LABEL}:") else None
        out: list[Rgb] = []
        for i, (kind, ref, labels) in enumerate(zip(data.kinds, data.refs, data.labels, strict=False)):
            mine = labels.split(";") if labels else []
            if kind == "text":
                out.append(QUERY)
            elif kind == "label":
                out.append(self.label_colour(ref) if key == LABEL or one == ref else OFF)
            elif one is not None:
                out.append(PICKED if one in mine else OFF)
            elif key == LABEL:
                out.append(self.label_colour(mine[0]) if mine else NO_COLOUR)
            elif key == CLUSTER and clusters is not None and clusters.of_row[i] >= 0:
                out.append(self.cluster_colours[clusters.of_row[i]])
            else:
                out.append(NO_COLOUR)
        return out

    def legend(self, data: MapData, key: str) -> str:
        """The legend's rich text under colouring `key`."""
        marks = "● photo   ▲ label, named   ★ text query     " if "label" in data.kinds else "● photo     "
        clusters = data.clusters
        if key == CLUSTER and self.cluster_colours and clusters is not None:
            order = sorted(range(len(clusters.names)), key=lambda c: -int(clusters.sizes[c]))
            entries = [(clusters.names[c], self.cluster_colours[c], int(clusters.sizes[c])) for c in order]
            head = f"● photo (colour: its cluster, named by the model's nearest concepts; {len(entries)} clusters)   "
        elif key == LABEL:
            tops = [n for n, c in sorted(self.top_counts.items(), key=lambda kv: -kv[1]) if c]
            entries = [(n, self.label_colour(n), self.top_counts[n]) for n in tops]
            head = marks.replace("● photo", "● photo (colour: its top label)")
        elif key.startswith(f"{LABEL}:"):
            entries = [(key.split(":", 1)[1], PICKED, 0)]
            head = marks
        else:
            entries, head = [], marks
        shown = entries[:MAX_LEGEND]
        swatches = [
            f'<span style="color: rgb{rgb}">■</span>&nbsp;{html.escape(name)}' + (f" ({n})" if n else "")
            for name, rgb, n in shown
        ]
        if len(entries) > len(shown):
            swatches.append(f"… {len(entries) - len(shown)} more")
        return head + "  ".join(swatches)
