"""Fixtures for the desk: Rasa's real SQL tracker store on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterable, Iterator

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from tests.conftest import POSTGRES


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLTrackerStore]:
    """Rasa's SQLTrackerStore on a new SQLite file, and on a new PostgreSQL database."""
    if request.param == "sqlite":
        store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "rasa.db"))
    else:
        name = request.getfixturevalue("postgres_database")
        store = SQLTrackerStore(
            dialect="postgresql", host=POSTGRES["host"], port=POSTGRES["port"], db=name, username=POSTGRES["user"]
        )
    try:
        yield store
    finally:
        store.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLTrackerStore]:
    """Rasa's SQLTrackerStore on a new SQLite file only."""
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "rasa.db"))
    try:
        yield store
    finally:
        store.engine.dispose()


def save_trackers(store: SQLTrackerStore, trackers: Iterable[DialogueStateTracker]) -> None:
    """Saves trackers the way Rasa does (every event a row of `events`)."""

    async def save_all() -> None:
        for tracker in trackers:
            await store.save(tracker)

    asyncio.run(save_all())
