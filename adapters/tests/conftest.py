"""Shared fixtures for the adapter tests: one result cache per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.cache import CACHE_ENV


@pytest.fixture(scope="session")
def adapter_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache shared by the session's tests: references are computed once, as in real use."""
    return tmp_path_factory.mktemp("opm-adapter-cache")


@pytest.fixture
def cache_env(adapter_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point `$OPM_ADAPTER_CACHE` (what the CLI uses) at the session cache."""
    monkeypatch.setenv(CACHE_ENV, str(adapter_cache))
    return adapter_cache
