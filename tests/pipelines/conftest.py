"""Fixtures for the reader tests: the real logs in tests/data and a throw-away PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresUnavailable, throwaway_postgres

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data (real logs, see tests/data/NOTICE)."""
    return DATA


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """URI of an empty database in a throw-away PostgreSQL cluster (tests marked `postgres`)."""
    try:
        with throwaway_postgres() as uri:
            yield uri
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
