"""Fixtures for the desk: Rasa's real SQL tracker store on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Iterable, Iterator

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def _unreachable(reason: str) -> None:
    """Skips the test, or fails it when CI=true (there PostgreSQL must be there)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL on {PG_HOST}:{PG_PORT} is not reachable: {reason}")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The name of a new, empty PostgreSQL database on 127.0.0.1:5432, dropped afterwards."""
    import psycopg2

    try:
        admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        _unreachable(str(error).strip())
    admin.autocommit = True
    name = f"desk_test_{secrets.token_hex(6)}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLTrackerStore]:
    """Rasa's SQLTrackerStore on a new SQLite file, and on a new PostgreSQL database."""
    if request.param == "sqlite":
        store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "rasa.db"))
    else:
        name = request.getfixturevalue("postgres_database")
        store = SQLTrackerStore(dialect="postgresql", host=PG_HOST, port=PG_PORT, db=name, username=PG_USER)
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
