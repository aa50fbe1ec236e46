"""Completion for the search box's filters: the word being typed is completed from `after:`, `before:`, and the
library's cameras, folders and keywords (`camera:Google Pixel 7`, `folder:2024/summer`, `keyword:grandma`), the
rest of the query kept as it is."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget


def entries(values: dict[str, list[str]]) -> list[str]:
    """The completions: each key with each of its values (quoted when it has a space)."""
    out = ["after:", "before:"]
    for key in ("camera", "folder", "keyword"):
        out += [f'{key}:"{v}"' if " " in v else f"{key}:{v}" for v in values.get(key, [])]
    return out


class FilterCompleter(QCompleter):
    """A QCompleter over the last word of a line edit (Qt completes the whole text by default)."""

    def __init__(self, line: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._line = line
        self._cursor_after = 0
        self._model = QStringListModel(entries({}), self)
        self.setModel(self._model)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.setWidget(line)
        self.activated.connect(self._insert)  # (str): pathFromIndex of the completion chosen
        line.textEdited.connect(self._on_edited)

    def set_values(self, values: dict[str, list[str]]) -> None:
        self._model.setStringList(entries(values))

    def _on_edited(self, text: str) -> None:
        word = text[: self._line.cursorPosition()].rsplit(" ", 1)[-1]
        if ":" not in word and len(word) < 2:  # only once a filter is being typed
            self._hide()
            return
        self.setCompletionPrefix(word)
        if self.completionCount():
            self.complete()
        else:
            self._hide()

    def _hide(self) -> None:
        popup = self.popup()
        if popup is not None:
            popup.hide()

    def _insert(self, text: str) -> None:
        """Put the chosen completion in (`text` is the whole new line, from `pathFromIndex`)."""
        self._line.setText(text)
        self._line.setCursorPosition(self._cursor_after)

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:  # noqa: N802 - Qt's name
        """The line with the word being typed replaced by the completion at `index` (a value ends with a space)."""
        completion = str(index.data())
        text, cursor = self._line.text(), self._line.cursorPosition()
        head, tail = text[:cursor], text[cursor:]
        start = head.rfind(" ") + 1
        inserted = head[:start] + completion + ("" if completion.endswith(":") else " ")
        self._cursor_after = len(inserted)
        return inserted + tail.lstrip()
