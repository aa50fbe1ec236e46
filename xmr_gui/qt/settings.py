"""What the window remembers between runs, as one typed record: loaded from and saved to the settings file (an
.ini read through QSettings). Every settings key is spelled here and nowhere else.

    remembered = WindowSettings.load(store)
    remembered.add_recent_folder(folder)   # and written back to `store` at once
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings

from ..core.base import defaults, paths
from ..core.base.errors import XmrError
from ..core.runtime.spec import Device, ModelSpec
from ..core.session import ModelChoice

MAX_RECENT = 8  # folders under File → Open recent
MAX_CHECKPOINTS = 8  # checkpoints opened, offered in the Model menu

# The keys of the settings file (kept as they were: a file written by an older xmr still reads).
RECENT_FOLDERS = "recent_folders"
CHECKPOINTS = "checkpoints"
CHECKPOINT = "checkpoint"
MODEL = "model"
DEVICE = "device"
BATCH_SIZE = "batch_size"


@dataclass
class WindowSettings:
    """The window's remembered choices. `device` and `batch_size` are None until the user sets them, so a new
    measured default reaches everyone who never chose. Loaded from a store, every change is written back to it."""

    recent_folders: list[str] = field(default_factory=list)  # newest first
    checkpoints: list[Path] = field(default_factory=list)  # opened, newest first
    checkpoint: Path | None = None  # the checkpoint chosen last (it wins over `model`)
    model: ModelSpec | None = None  # the model chosen last in the Model menu
    device: Device | None = None
    batch_size: int | None = None
    store: QSettings | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, store: QSettings) -> WindowSettings:
        """What `store` holds; a value that does not read (another version's, edited by hand) counts as unset."""
        checkpoint = str(store.value(CHECKPOINT, "") or "")
        device = str(store.value(DEVICE, ""))
        return cls(
            recent_folders=_strings(store.value(RECENT_FOLDERS)),
            checkpoints=[Path(p) for p in _strings(store.value(CHECKPOINTS))],
            checkpoint=Path(checkpoint) if checkpoint else None,
            model=_spec(store.value(MODEL)),
            device=Device(device) if device in tuple(Device) else None,
            batch_size=_positive_int(store.value(BATCH_SIZE)),
            store=store,
        )

    def save(self, store: QSettings | None = None) -> None:
        """Write every setting to `store` (default: the one loaded from); an unset one is removed."""
        store = store or self.store
        if store is None:
            return
        values: dict[str, object] = {
            RECENT_FOLDERS: self.recent_folders,
            CHECKPOINTS: [str(p) for p in self.checkpoints],
            CHECKPOINT: str(self.checkpoint) if self.checkpoint is not None else None,
            MODEL: self.model.to_json() if self.model is not None else None,
            DEVICE: str(self.device) if self.device is not None else None,
            BATCH_SIZE: self.batch_size,
        }
        for key, value in values.items():
            if value is None:
                store.remove(key)
            else:
                store.setValue(key, value)

    def add_recent_folder(self, folder: str) -> None:
        self.recent_folders = ([folder] + [f for f in self.recent_folders if f != folder])[:MAX_RECENT]
        self.save()

    def add_checkpoint(self, path: Path) -> None:
        """`path` opened: first among the checkpoints offered, and the chosen model."""
        self.checkpoints = ([path] + [p for p in self.checkpoints if str(p) != str(path)])[:MAX_CHECKPOINTS]
        self.choose_model(path, None)

    def choose_model(self, checkpoint: Path | None, spec: ModelSpec | None) -> None:
        """A checkpoint, else a model, else neither (automatic)."""
        self.checkpoint, self.model = checkpoint, (spec if checkpoint is None else None)
        self.save()

    def choose_device(self, device: Device, batch_size: int) -> None:
        self.device, self.batch_size = device, batch_size
        self.save()

    def existing_checkpoints(self) -> list[Path]:
        """The checkpoints opened that are still there."""
        return [p for p in self.checkpoints if p.is_file()]

    def choice(self, checkpoint: str | None = None) -> ModelChoice:
        """The session's model choice at start-up: `checkpoint` (--checkpoint), else the checkpoint chosen last, else
        the model chosen last, else automatic; a checkpoint no longer there is passed over."""
        device = self.device or Device.AUTO
        batch = self.batch_size or defaults.BATCH_SIZE
        for candidate in (checkpoint, self.checkpoint):
            if candidate and Path(candidate).is_file():
                return ModelChoice(Path(candidate), None, device, batch)
        return ModelChoice(None, self.model, device, batch)


def open_store() -> QSettings:
    """The settings file, in the config dir (XMR_HOME for tests)."""
    return QSettings(str(paths.config_dir() / "xmr-gui.ini"), QSettings.Format.IniFormat)


def _strings(value: object) -> list[str]:
    """A list of strings as QSettings gives it back: a str for one item, a list, or None, by platform."""
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value] if isinstance(value, list) else []


def _spec(value: object) -> ModelSpec | None:
    if not value:
        return None
    try:
        return ModelSpec.from_json(str(value))
    except (ValueError, KeyError, TypeError, XmrError):  # a settings file from another version: automatic
        return None


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number > 0 else None
