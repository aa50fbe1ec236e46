"""core/session.py: the window's service, without the window."""

from __future__ import annotations

import dataclasses

import pytest


def test_status_is_none_without_a_folder_then_a_typed_record_of_the_library(photos, tiny_spec):
    from xmr_gui.core.session import LibraryStatus, ModelChoice, Session

    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    session = Session(ModelChoice(None, tiny_spec, "cpu", 16, "fp32"))  # auto: int8 where this CPU's check passed
    try:
        assert session.status() is None
        session.open_folder(photos)
        session.index()
        status = session.status()
        assert status == LibraryStatus(
            folder=str(photos),
            indexed=24,
            skipped=1,
            model=tiny_spec.describe(),
            precision="fp32",
            checkpoint=None,
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            status.indexed = 0  # type: ignore[misc]
    finally:
        session.close()
