"""The main window's menu bar: File (folders, demo, checkpoint, skipped photos, near-duplicates, labels to review)
and Model (device and batch size, then the models on offer), and the window-wide shortcuts (Find, Escape)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from . import dialogs
from .model_menu import ModelEntries

if TYPE_CHECKING:
    from .main_window import MainWindow


def add_action(menu: QMenu, text: str, slot: Callable[[], Any], shortcut: Any = None) -> QAction:
    action = menu.addAction(text)
    action.triggered.connect(slot)
    if shortcut is not None:
        action.setShortcut(shortcut)
    return action


class WindowMenus:
    """The menus of `window`, wired to its slots; `recent` and `skipped` change as folders open and index."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        menu = window.menuBar().addMenu("&File")
        add_action(menu, "&Open folder…", window.open_folder_dialog, QKeySequence.StandardKey.Open)
        self.recent = menu.addMenu("Open &recent")
        add_action(menu, "Open &demo", window.open_demo)
        add_action(menu, "Open &checkpoint…", window.open_checkpoint_dialog)
        self.skipped = add_action(menu, "Skipped (0)…", window.show_skipped)
        add_action(menu, "Find &near-duplicates…", lambda: dialogs.find_duplicates(window))
        add_action(menu, "Review &labels…", lambda: dialogs.review_labels(window))
        menu.addSeparator()
        add_action(menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
        self.model = window.menuBar().addMenu("&Model")
        add_action(self.model, "Device and batch size…", window.model_settings)
        self.model.addSeparator()
        self.model_entries = ModelEntries(self.model)
        self.model_entries.chosen.connect(window.choose_model)
        self.model.aboutToShow.connect(window.refresh_model_menu)
        for key, slot in (
            (QKeySequence(QKeySequence.StandardKey.Find), window.search.focus_search),
            (QKeySequence(Qt.Key.Key_Escape), window.cancel_indexing),
        ):
            shortcut = QAction(window)
            shortcut.setShortcut(key)
            shortcut.triggered.connect(slot)
            window.addAction(shortcut)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.recent.clear()
        folders = self.window.remembered.recent_folders
        for folder in folders:
            self.recent.addAction(folder, lambda f=folder: self.window.open_folder(f))  # type: ignore[misc]
        self.recent.setEnabled(bool(folders))
