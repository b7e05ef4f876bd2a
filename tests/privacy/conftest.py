"""Fixtures: the private tracker store on a SQLite file and on a throwaway PostgreSQL database."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from rasa.shared.core.domain import Domain

from actions.privacy.tracker_store import PrivateTrackerStore
from tests.conftest import POSTGRES

ROOT = Path(__file__).resolve().parent.parent.parent


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


@pytest.fixture
def postgres_store(domain: Domain, postgres_database: str) -> Iterator[PrivateTrackerStore]:
    """The private tracker store on a throwaway PostgreSQL database (tests/conftest.py), dropped afterwards."""
    store = PrivateTrackerStore(
        domain=domain,
        dialect="postgresql",
        host=POSTGRES["host"],
        port=POSTGRES["port"],
        db=postgres_database,
        username=POSTGRES["user"],
    )
    try:
        yield store
    finally:
        store.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> PrivateTrackerStore:
    """The private tracker store, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_store")
