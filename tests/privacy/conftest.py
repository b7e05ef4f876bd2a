"""Fixtures: the private tracker store on a SQLite file and on a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Iterator

import pytest
from rasa.shared.core.domain import Domain

from actions.privacy.tracker_store import PrivateTrackerStore

ROOT = Path(__file__).resolve().parent.parent.parent
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


@pytest.fixture(autouse=True)
def handoff_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The installation's handoff store (actions.config) is a fresh database under the test's temporary folder."""
    from actions import config

    monkeypatch.setattr(config, "HANDOFF_DB", tmp_path / "config-handoffs.db")
    config.get_handoff_service.cache_clear()
    yield
    config.get_handoff_service.cache_clear()


@pytest.fixture(scope="session")
def domain() -> Domain:
    """The project's domain (its slots, among them `answer_id`)."""
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def sqlite_store(tmp_path: Path, domain: Domain) -> Iterator[PrivateTrackerStore]:
    """The private tracker store on a new SQLite file under the test's temporary folder."""
    store = PrivateTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    yield store
    store.engine.dispose()


def _admin_connection():
    """An autocommit connection to the server's `postgres` database; skips (fails under CI) when unreachable."""
    import psycopg2

    try:
        connection = psycopg2.connect(connect_timeout=3, **POSTGRES)
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL not reachable on {POSTGRES['host']}:{POSTGRES['port']} as {POSTGRES['user']}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    connection.autocommit = True
    return connection


@pytest.fixture
def postgres_store(domain: Domain) -> Iterator[PrivateTrackerStore]:
    """The private tracker store on a throwaway PostgreSQL database, dropped afterwards."""
    name = f"backbot_test_{secrets.token_hex(6)}"
    admin = _admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        store = PrivateTrackerStore(
            domain=domain,
            dialect="postgresql",
            host=POSTGRES["host"],
            port=POSTGRES["port"],
            db=name,
            username=POSTGRES["user"],
        )
        try:
            yield store
        finally:
            store.engine.dispose()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> PrivateTrackerStore:
    """The private tracker store, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_store")
