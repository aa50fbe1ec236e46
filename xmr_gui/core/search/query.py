"""Queries of several terms, with weights and negatives: `a bird - chicken`, `2:a dog + 0.5:./pool.jpg`.

The syntax (rclip's, which people already know):

- terms are joined by ` + ` or ` - ` (a space on both sides of the sign, so "t-shirt" and "x - y" differ);
- a term may carry a weight prefix `W:` (`2:a dog`, `0.5:./pool.jpg`); a `-` join negates it;
- a term that is the path of an existing image file, written absolute or starting with `./`, `../` or `~/`, is an
  image term (its vector: the photo's own from the catalog, else encoded now); a path-like term that is no file is
  searched as text, with a note saying so;
- `label:NAME` is a checkpoint's label (its classifier with the name's text, as a query naming it is answered);
- anything else is text, answered as a plain text query is (`photos.text_vector`);
- `after:` / `before:` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`), `camera:`, `folder:` and `keyword:` tokens anywhere are
  filters (`store.photo_meta.Filters`), not terms; a query of filters only lists the matching photos.

The query vector is the normalised weighted sum of the terms' unit vectors. A query of one plain text term is
exactly the plain text query.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from ..base.errors import XmrError
from ..store.photo_meta import Filters

_JOIN = re.compile(r" ([+-]) ")
# a weight prefix: a number, a colon, then no digit ("10:30 at the station" is text, not weight 10)
_WEIGHT = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+):(?![0-9])(.*)$", re.DOTALL)
_PATH_START = ("/", "./", "../", "~/")
FILTER_KEYS = ("after", "before", "camera", "folder", "keyword")
# key:value anywhere in the query (a value with spaces in double quotes: camera:"Pixel 7")
_FILTER = re.compile(r'(?<!\S)(after|before|camera|folder|keyword):(?:"([^"]*)"|(\S+))', re.IGNORECASE)
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)


class QueryError(XmrError):
    """A query that cannot be searched as written (an empty term, a label no checkpoint has, ...)."""


class TermKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    LABEL = "label"


@dataclass(frozen=True)
class Term:
    kind: TermKind
    value: str  # the text, the image's absolute path, or the label as written
    weight: float  # signed: a `-` join makes it negative


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = field(default=())  # what the user should hear (a path that is no file, ...)
    filters: Filters = Filters()

    @property
    def plain_text(self) -> str | None:
        """The text when the query is one plain text term of weight 1 (searched exactly as before), else None."""
        if len(self.terms) == 1 and self.terms[0].kind is TermKind.TEXT and self.terms[0].weight == 1.0:
            return self.terms[0].value
        return None

    @property
    def own_photos(self) -> frozenset[str]:
        """The photos of its positive image terms, left out of its results (as image search leaves out its photo)."""
        return frozenset(t.value for t in self.terms if t.kind is TermKind.IMAGE and t.weight > 0)

    def explain(self) -> list[str]:
        """One line per term (signed weight, kind, value) and per filter (what `xmr search --explain` prints)."""
        lines = [f"{t.weight:+.3g}\t{t.kind}\t{t.value}" for t in self.terms]
        for key in FILTER_KEYS:
            value = getattr(self.filters, key)
            if value is not None:
                lines.append(f"filter\t{key}\t{value}")
        return lines


def date_bound(key: str, value: str) -> str:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD` as the ISO time it starts at (QueryError naming `key:value` otherwise)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip())
    try:
        if m is None:
            raise ValueError
        year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        return datetime(year, month, day).isoformat()
    except ValueError:
        raise QueryError(f"{key}:{value} is not a date") from None


def with_filters(filters: Filters, **given: str | None) -> Filters:
    """`filters` with the given values (None: keep), the dates checked; what the --after ... flags add."""
    changes = {k: v for k, v in given.items() if v is not None}
    for key in ("after", "before"):
        if key in changes:
            changes[key] = date_bound(key, str(changes[key]))
    return replace(filters, **changes)


def _looks_like_path(text: str) -> bool:
    return text.startswith(_PATH_START)


def parse_query(text: str) -> Query:
    """The terms and filters of `text` (no terms for an empty text or filters only; QueryError for an empty term
    or a filter that cannot be read)."""
    found: dict[str, str] = {}

    def take(m: re.Match[str]) -> str:
        found[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
        return " "

    text = re.sub(r"\s+", " ", _FILTER.sub(take, text)).strip()
    filters = with_filters(Filters(), **found)
    if not text:
        return Query((), filters=filters)
    parts = _JOIN.split(text)
    signs = ["+", *parts[1::2]]
    terms: list[Term] = []
    notes: list[str] = []
    for sign, raw in zip(signs, parts[0::2], strict=True):
        raw = raw.strip()
        weight = 1.0
        m = _WEIGHT.match(raw)
        if m is not None:
            weight, raw = float(m.group(1)), m.group(2).strip()
        if not raw:
            raise QueryError(f"an empty term in the query {text!r}: write terms joined by ' + ' or ' - '")
        if sign == "-":
            weight = -weight
        if raw.lower().startswith("label:"):
            name = raw[len("label:") :].strip()
            if not name:
                raise QueryError("label: needs a label's name, e.g. label:dog")
            terms.append(Term(TermKind.LABEL, name, weight))
        elif _looks_like_path(raw):
            path = Path(os.path.expanduser(raw))
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                terms.append(Term(TermKind.IMAGE, str(path.resolve()), weight))
            else:
                why = "is not an image file" if path.is_file() else "is not a file"
                notes.append(f"{raw} {why}: searched as text")
                terms.append(Term(TermKind.TEXT, raw, weight))
        else:
            terms.append(Term(TermKind.TEXT, raw, weight))
    return Query(tuple(terms), tuple(notes), filters)
