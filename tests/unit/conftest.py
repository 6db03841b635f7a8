"""Unit tests reach no network, and their uv cache is empty: `stackwise new` cannot lock, so
every project they make takes the warning path (tests/templates/ prove the lock itself)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def offline_uv(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "empty-uv-cache"))
