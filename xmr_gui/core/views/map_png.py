"""A map view (a `Bookmark`) drawn to PNG with Pillow, for `xmr map --bookmark FILE --png OUT` (no Qt).

What the window shows, still: photos as dots coloured by cluster (or by top label, or grey), each cluster's name
on its photos and a legend, the selection ringed with its nearest neighbours in the full space (lines from the
selected photo to each: where they fall far apart, the 2-D picture and the space disagree), the query's place,
and, once the view is zoomed in to at most `THUMBS_MAX` photos, their thumbnails instead of dots.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .bookmark import Bookmark
from .embedding_map import MapData
from .neighbourhoods import neighbours
from .palette import distinct_colours

THUMBS_MAX = 120  # thumbnails are drawn when the view holds at most this many photos
GREY = (150, 150, 150)
SELECTED = (20, 20, 20)
NEIGHBOUR = (230, 120, 0)
QUERY = (200, 0, 60)
LEGEND_W = 480  # at most


Colour = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def point_colours(data: MapData, colour_by: str) -> tuple[list[Colour], list[tuple[str, Colour]]]:
    """Each row's colour and the legend (name, colour) for `colour_by` ("cluster", "label", "none")."""
    n = len(data)
    if colour_by == "cluster" and data.clusters is not None and len(data.clusters):
        pal = distinct_colours(len(data.clusters))
        cols = [pal[c] if c >= 0 else GREY for c in data.clusters.of_row]
        order = sorted(range(len(data.clusters)), key=lambda c: -data.clusters.sizes[c])  # type: ignore[union-attr]
        return cols, [(f"{data.clusters.names[c]} ({data.clusters.sizes[c]})", pal[c]) for c in order]
    if colour_by == "label":
        top = [lab.split(";")[0] if lab else "" for lab in data.labels]
        names = sorted({t for t, k in zip(top, data.kinds, strict=False) if t and k == "image"})
        by_name = dict(zip(names, distinct_colours(len(names)), strict=False))
        return [by_name.get(t, GREY) for t in top], [(name, by_name[name]) for name in names]
    return [GREY] * n, []


def render_png(
    data: MapData, bookmark: Bookmark, out: str | os.PathLike[str], size: tuple[int, int] = (1000, 1000)
) -> Path:
    """Draw `bookmark`'s view of `data` (built with its method and query) to the PNG `out`."""
    xy = data.layouts.get(bookmark.layout, data.xy)
    assert xy is not None
    xy = np.asarray(xy, np.float64)
    is_image = np.array([k == "image" for k in data.kinds], bool)
    if bookmark.view is not None:
        x0, y0, x1, y1 = bookmark.view
    elif len(xy):
        (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
        mx, my = 0.05 * max(x1 - x0, 1e-6), 0.05 * max(y1 - y0, 1e-6)
        x0, y0, x1, y1 = x0 - mx, y0 - my, x1 + mx, y1 + my
    else:
        x0, y0, x1, y1 = -1.0, -1.0, 1.0, 1.0
    w, h = size
    cols, legend = point_colours(data, bookmark.colour_by)
    legend_font = _font(16)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    legend_w = min(LEGEND_W, 60 + int(max((measure.textlength(t, font=legend_font) for t, _ in legend), default=0)))
    img = Image.new("RGB", (w + (legend_w if legend else 0), h), "white")
    draw = ImageDraw.Draw(img)

    def px(p: np.ndarray) -> tuple[float, float]:
        return (float((p[0] - x0) / (x1 - x0) * w), float((y1 - p[1]) / (y1 - y0) * h))  # y up on the map

    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    shown = [int(i) for i in np.flatnonzero(inside & is_image)]
    thumbs = 0 < len(shown) <= THUMBS_MAX
    r = 4 if len(shown) > 2000 else 6
    side = int(min(w, h) / max(6.0, np.sqrt(len(shown)) * 1.6)) if thumbs else 0
    for i in shown:
        cx, cy = px(xy[i])
        if thumbs and _thumb(img, data.refs[i], cx, cy, side, cols[i]):
            continue
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=cols[i])

    for i in selected_rows(data, bookmark.selected_paths()):
        near = neighbours(data.vectors, i, bookmark.neighbours, among=is_image)
        for j in near:
            draw.line((*px(xy[i]), *px(xy[j])), fill=NEIGHBOUR, width=2)
            cx, cy = px(xy[j])
            draw.ellipse((cx - r - 4, cy - r - 4, cx + r + 4, cy + r + 4), outline=NEIGHBOUR, width=3)
        cx, cy = px(xy[i])
        if thumbs:  # the selected photo on top of its neighbours, framed in black
            _thumb(img, data.refs[i], cx, cy, int(side * 1.3), SELECTED)
        draw.ellipse((cx - r - 6, cy - r - 6, cx + r + 6, cy + r + 6), outline=SELECTED, width=4)

    font = _font(18)
    if bookmark.colour_by == "cluster" and data.clusters is not None:
        pal = distinct_colours(len(data.clusters))
        placed: list[tuple[float, float, float, float]] = []
        for c, centre in enumerate(data.clusters.centres_in(xy)):  # largest first: they keep their places
            cx, cy = px(centre)
            if 0 <= cx <= w and 0 <= cy <= h:
                _label(draw, cx, cy, data.clusters.names[c], pal[c], font, placed)
    if bookmark.query:
        for i, (kind, ref) in enumerate(zip(data.kinds, data.refs, strict=False)):
            if kind == "text" and ref == bookmark.query:
                cx, cy = px(xy[i])
                draw.regular_polygon((cx, cy, 14), 5, fill=QUERY, outline="white")
                _label(draw, cx, cy - 26, f"“{ref}”", QUERY, font)
    if legend:
        _legend(draw, w, legend, legend_font)
    out = Path(out)
    img.save(out, format="PNG")
    return out


def selected_rows(data: MapData, paths: list[str]) -> list[int]:
    """The map rows of `paths` (as the map has them, else the same file through symlinks); unknown ones left out."""
    rows = {ref: i for i, ref in enumerate(data.refs) if data.kinds[i] == "image"}
    missing = [p for p in paths if p not in rows]
    if missing:
        resolved = {os.path.realpath(ref): i for ref, i in rows.items()}
        rows.update({p: resolved[os.path.realpath(p)] for p in missing if os.path.realpath(p) in resolved})
    return [rows[p] for p in paths if p in rows]


def _thumb(img: Image.Image, path: str, cx: float, cy: float, side: int, colour: Colour) -> bool:
    """Paste the photo's thumbnail centred at (cx, cy) with a border of `colour`; False if it cannot be read."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (side, side))
            rgba = im.convert("RGBA")  # cut-outs (transparent PNGs) go on white, not on their hidden pixels
    except OSError:
        return False
    rgba.thumbnail((side, side))
    t = Image.new("RGB", rgba.size, "white")
    t.paste(rgba, mask=rgba.getchannel("A"))
    framed = Image.new("RGB", (t.width + 6, t.height + 6), colour)
    framed.paste(t, (3, 3))
    img.paste(framed, (int(cx - framed.width / 2), int(cy - framed.height / 2)))
    return True


def _label(
    draw: ImageDraw.ImageDraw,
    cx: float,
    cy: float,
    text: str,
    colour: Colour,
    font: Font,
    placed: list[tuple[float, float, float, float]] | None = None,
) -> None:
    """`text` centred at (cx, cy) on a white box edged in `colour`, readable over the dots; moved down or up a line
    at a time while it would cover a box already in `placed` (then added to it)."""
    x0, y0, x1, y1 = draw.textbbox((cx, cy), text, font=font, anchor="mm")
    if placed is not None:
        step = (y1 - y0) + 12
        for shift in (0, 1, -1, 2, -2, 3, -3):
            dy = shift * step
            if not any(x0 < b[2] and b[0] < x1 and y0 + dy - 4 < b[3] and b[1] < y1 + dy + 4 for b in placed):
                break
        cy, y0, y1 = cy + dy, y0 + dy, y1 + dy
        placed.append((x0 - 6, y0 - 4, x1 + 6, y1 + 4))
    draw.rounded_rectangle((x0 - 6, y0 - 4, x1 + 6, y1 + 4), 6, fill=(255, 255, 255), outline=colour, width=3)
    draw.text((cx, cy), text, fill=(20, 20, 20), font=font, anchor="mm")


def _legend(draw: ImageDraw.ImageDraw, x: int, items: list[tuple[str, Colour]], font: Font) -> None:
    draw.line((x, 0, x, draw.im.size[1]), fill=(200, 200, 200), width=1)
    y = 16
    for name, colour in items[:40]:
        draw.ellipse((x + 14, y + 2, x + 30, y + 18), fill=colour)
        draw.text((x + 40, y), name, fill=(20, 20, 20), font=font)
        y += 26
