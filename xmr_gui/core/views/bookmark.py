"""A saved view of the map, for a lesson or a report: which layout, where it is zoomed, how photos are coloured,
which are selected and which query is shown. JSON, written by the window ("Save view") or `xmr map
--save-bookmark`, read back by the window or rendered to PNG by `xmr map --bookmark FILE --png OUT` (map_png.py).

Photo paths are stored as given (absolute, as the map has them); a relative one is read against `folder` when the
bookmark names one, so a bookmark shipped beside a copy of the folder still finds its photos.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import XmrError
from ..base.files import atomic_write_text

VERSION = 1
COLOUR_BY = ("cluster", "label", "none")
METHODS = ("pca", "umap")  # as embedding_map.METHODS (not imported: a bookmark is read without numpy's map code)
# The map's layouts (embedding_map imports these): "spread", the projection through `spread_out` (uses the plot);
# "computed", the projection as computed, only scaled into [-1, 1]². Each one's neighbourhood preservation:
# bench/RESULTS.md "A map worth looking at".
LAYOUTS = ("spread", "computed")
DEFAULT_LAYOUT = "spread"


class BookmarkError(XmrError):
    """A bookmark file that cannot be read (not JSON, not a bookmark, a newer format, a bad field)."""


@dataclass
class Bookmark:
    layout: str = DEFAULT_LAYOUT  # LAYOUTS
    method: str = "umap"  # embedding_map.METHODS
    view: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in map coordinates; None: the whole map
    colour_by: str = "cluster"  # COLOUR_BY
    selection: list[str] = field(default_factory=list)  # photo paths
    query: str = ""  # a text query placed on the map ("" for none)
    neighbours: int = 10  # how many nearest neighbours (full space) of the selection are shown
    folder: str = ""  # the photo folder, for relative selection paths ("" when none)
    version: int = VERSION

    def __post_init__(self) -> None:
        problems = []
        if self.layout not in LAYOUTS:
            problems.append(f"layout {self.layout!r} (use {', '.join(LAYOUTS)})")
        if self.method not in METHODS:
            problems.append(f"method {self.method!r} (use {', '.join(METHODS)})")
        if self.colour_by not in COLOUR_BY:
            problems.append(f"colour_by {self.colour_by!r} (use {', '.join(COLOUR_BY)})")
        if self.view is not None:
            v = tuple(float(x) for x in self.view)
            if len(v) != 4 or not (v[0] < v[2] and v[1] < v[3]):
                problems.append(f"view {list(self.view)!r} (want [x0, y0, x1, y1] with x0 < x1 and y0 < y1)")
            else:
                self.view = (v[0], v[1], v[2], v[3])
        if not isinstance(self.selection, list) or not all(isinstance(p, str) for p in self.selection):
            problems.append("selection (want a list of photo paths)")
        if not isinstance(self.query, str):
            problems.append("query (want text)")
        if not isinstance(self.neighbours, int) or self.neighbours < 0:
            problems.append(f"neighbours {self.neighbours!r} (want a count >= 0)")
        if problems:
            raise BookmarkError("bad bookmark: " + "; ".join(problems))

    def selected_paths(self) -> list[str]:
        """The selection with relative paths read against `folder`."""
        base = Path(self.folder) if self.folder else None
        return [str(base / p) if base is not None and not os.path.isabs(p) else p for p in self.selection]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["view"] = list(self.view) if self.view is not None else None
        return d

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        atomic_write_text(path, text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Bookmark:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BookmarkError(f"no bookmark file {path}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BookmarkError(f"{path} is not a map bookmark (not JSON: {exc})") from None
        if not isinstance(raw, dict) or "version" not in raw:
            raise BookmarkError(f"{path} is not a map bookmark (no format version)")
        if not isinstance(raw["version"], int) or raw["version"] > VERSION:
            raise BookmarkError(f"{path} is a bookmark of a newer xmr (format {raw['version']!r}): update xmr")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise BookmarkError(f"{path}: unknown bookmark field(s) {', '.join(unknown)}")
        view = raw.get("view")
        if view is not None:
            if not isinstance(view, list) or len(view) != 4 or not all(isinstance(x, (int, float)) for x in view):
                raise BookmarkError(f"{path}: bad bookmark: view {view!r} (want [x0, y0, x1, y1])")
            raw["view"] = tuple(float(x) for x in view)
        try:
            return cls(**raw)
        except BookmarkError as exc:
            raise BookmarkError(f"{path}: {exc}") from None
