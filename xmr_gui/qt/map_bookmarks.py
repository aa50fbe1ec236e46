"""A view of the map as a bookmark (core `views.bookmark.Bookmark`) and back: layout, zoom, colouring, selection.

The projection and the query are the Map tab's (it computes the map for them); what is drawn is the view's. A
bookmark stores the view rectangle in map coordinates of its layout, so it comes back the same on any window size
(the aspect may differ: the whole rectangle is shown). Colouring by one label is saved as "label" (the bookmark
format names the three colourings, not a label).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .map_style import CLUSTER, LABEL, NONE

if TYPE_CHECKING:
    from ..core.views.bookmark import Bookmark
    from .map_view import MapView


def capture(view: MapView, query: str, folder: str = "") -> Bookmark:
    """The view as shown now, with `query` (the one placed on the map)."""
    from ..core.views.bookmark import Bookmark

    assert view.data is not None
    (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
    key = view.colour_key()
    colour_by = LABEL if key.startswith(LABEL) else key if key in (CLUSTER, NONE) else NONE
    return Bookmark(
        layout=str(view.layout_choice.currentData() or "spread"),
        method=view.method or "umap",
        view=(float(x0), float(y0), float(x1), float(y1)),
        colour_by=colour_by,
        selection=[view.data.refs[i] for i in view.selection],
        query=query,
        neighbours=len(view.neighbours),
        folder=folder,
    )


def restore(view: MapView, bookmark: Bookmark) -> list[str]:
    """Show `bookmark` on the view's data (already computed with its projection and query); returns the selected
    photos the map no longer has (moved or removed since), so the caller can say so."""
    assert view.data is not None
    view.choose(view.layout_choice, bookmark.layout)
    if not view.choose(view.colour_by, bookmark.colour_by):
        view.choose(view.colour_by, NONE)
    rows = {
        ref: i for i, (kind, ref) in enumerate(zip(view.data.kinds, view.data.refs, strict=False)) if kind == "image"
    }
    wanted = bookmark.selected_paths()
    found = [rows[p] for p in wanted if p in rows]
    if len(found) == 1 and bookmark.neighbours:
        view.select_photo(found[0], emit=False)
    else:
        view.select_rows(found)
    if bookmark.view is not None:
        x0, y0, x1, y1 = bookmark.view
        view.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    else:
        view.plot.autoRange()
    return [p for p in wanted if p not in rows]
