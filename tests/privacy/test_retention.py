"""Retention: the tracker store from endpoints.yml, purge and deletion across the three stores, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import pytest
from rasa.shared.core.events import UserUttered

from actions import config
from actions.handoff import Handoff, HandoffStore
from actions.privacy import retention
from actions.privacy.retention import (
    DeletionReport,
    PurgeReport,
    RetentionConfigError,
    days_from_setting,
    delete_conversation,
    purge,
    tracker_store_from_endpoints,
)
from actions.privacy.tracker_store import TYPE_PATH, PrivateTrackerStore
from actions.redflags import review
from actions.redflags.review import ReviewStore
from tests.privacy.test_tracker_store import conversation

ROOT = Path(__file__).resolve().parent.parent.parent
DAY = 86400.0
NOW = 1_750_000_000.0


def endpoints_file(tmp_path: Path, tracker_store: str) -> Path:
    """An endpoints file like the project's, with the given tracker_store section."""
    path = tmp_path / "endpoints.yml"
    path.write_text("action_endpoint:\n  url: ${TEST_ACTION_URL}\n\ntracker_store:\n" + tracker_store, encoding="utf-8")
    return path


def section_for(store: PrivateTrackerStore, type_name: str = TYPE_PATH) -> tuple[str, Dict[str, str]]:
    """The tracker_store section (with ${VARIABLES}) for the store's database, and the variables' values."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        section = f"  type: {type_name}\n  dialect: sqlite\n  db: ${{TEST_TRACKER_DB}}\n"
        return section, {"TEST_TRACKER_DB": url.database}
    section = (
        f"  type: {type_name}\n  dialect: postgresql\n  url: ${{TEST_DB_HOST}}\n  port: ${{TEST_DB_PORT}}\n"
        "  db: ${TEST_DB_NAME}\n  username: ${TEST_DB_USER}\n"
    )
    return section, {
        "TEST_DB_HOST": url.host,
        "TEST_DB_PORT": str(url.port),
        "TEST_DB_NAME": url.database,
        "TEST_DB_USER": url.username,
    }


@pytest.fixture
def handoffs(tmp_path: Path) -> HandoffStore:
    return HandoffStore(tmp_path / "handoffs.db")


@pytest.fixture
def reviews(tmp_path: Path) -> ReviewStore:
    return ReviewStore(tmp_path / "review.db")


def add_handoff(store: HandoffStore, conversation_id: str, at: float) -> None:
    store.add(Handoff(conversation_id, "red_flag", "urgent", "Ik verlies mijn plas", at))


def add_review(store: ReviewStore, conversation_id: str, at: float, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(review.time, "time", lambda: at)
        store.add(conversation_id, "tintelingen in beide benen", None, "patterns: none, learned: 0.7")


def conversation_ids(store: HandoffStore | ReviewStore) -> list[str]:
    if isinstance(store, HandoffStore):
        return sorted(row["conversation_id"] for row in store.recent())
    return sorted(row[0] for row in store.latest())


# --- tracker_store_from_endpoints ---------------------------------------------------------------


@pytest.mark.parametrize("type_name", [TYPE_PATH, "SQL"])
async def test_store_from_endpoints_with_environment_variables(
    store: PrivateTrackerStore, type_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section, variables = section_for(store, type_name)
    for name, value in {**variables, "TEST_ACTION_URL": "http://localhost:5055/webhook"}.items():
        monkeypatch.setenv(name, value)
    await store.save(conversation("patient-1", store.domain))

    opened = tracker_store_from_endpoints(endpoints_file(tmp_path, section))
    try:
        assert isinstance(opened, PrivateTrackerStore)
        assert await opened.keys() == ["patient-1"]  # the same database
    finally:
        opened.engine.dispose()


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (None, "has no tracker_store section"),
        ("  type: redis\n  url: localhost\n", "type 'redis' is not supported"),
        ("  type: actions.privacy.nowhere.Store\n  db: x.db\n", "is not supported"),
        ("  type: SQL\n  dialect: sqlite\n  db: ${TEST_UNSET_VARIABLE}\n", "TEST_UNSET_VARIABLE"),
        ("  type: SQL\n  dialect: sqlite\n  db: {missing}\n", "does not exist"),
        ("  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 1\n  db: x\n", "cannot connect"),
    ],
)
def test_store_from_endpoints_errors_name_the_file(
    section: Optional[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ACTION_URL", "http://localhost:5055/webhook")
    monkeypatch.delenv("TEST_UNSET_VARIABLE", raising=False)
    if section is None:
        path = tmp_path / "endpoints.yml"
        path.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n", encoding="utf-8")
    else:
        path = endpoints_file(tmp_path, section.replace("{missing}", str(tmp_path / "missing.db")))
    started = time.monotonic()
    with pytest.raises(RetentionConfigError, match=expected) as raised:
        tracker_store_from_endpoints(path)
    assert str(path) in str(raised.value)
    assert time.monotonic() - started < 30  # no endless retries as Rasa's own start-up does
    assert not (tmp_path / "missing.db").exists()


def test_store_from_a_missing_endpoints_file(tmp_path: Path) -> None:
    with pytest.raises(RetentionConfigError, match="nowhere.yml"):
        tracker_store_from_endpoints(tmp_path / "nowhere.yml")


# --- purge and delete_conversation across the three stores -----------------------------------------


async def test_purge_clears_old_conversations_in_every_store(
    store: PrivateTrackerStore,
    handoffs: HandoffStore,
    reviews: ReviewStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = conversation("old", store.domain, at=NOW - 45 * DAY)
    await store.save(old)
    ongoing = conversation("ongoing", store.domain, at=NOW - 45 * DAY)
    await store.save(ongoing)
    ongoing.update(UserUttered("Ik heb weer pijn", timestamp=NOW - DAY))
    await store.save(ongoing)
    await store.save(conversation("recent", store.domain, at=NOW - 2 * DAY))
    add_handoff(handoffs, "old", NOW - 45 * DAY)
    add_handoff(handoffs, "recent", NOW - 2 * DAY)
    add_review(reviews, "old", NOW - 45 * DAY, monkeypatch)
    add_review(reviews, "ongoing", NOW - 44 * DAY, monkeypatch)
    add_review(reviews, "recent", NOW - 2 * DAY, monkeypatch)

    report = purge(30, now=NOW, tracker_store=store, handoffs=handoffs, reviews=reviews)

    assert report == PurgeReport(
        days=30, cutoff=NOW - 30 * DAY, conversations=1, events=len(old.events), handoffs=1, reviews=2
    )
    assert sorted(await store.keys()) == ["ongoing", "recent"]
    assert await store.retrieve_full_tracker("old") is None
    assert conversation_ids(handoffs) == ["recent"]
    assert conversation_ids(reviews) == ["recent"]
    assert "1 conversations" in report.summary() and "30 days" in report.summary()


@pytest.mark.parametrize("days", [0, -1, True, 1.5, "30"])
def test_purge_needs_a_positive_number_of_days(
    days: object, sqlite_store: PrivateTrackerStore, handoffs: HandoffStore, reviews: ReviewStore
) -> None:
    with pytest.raises(ValueError, match="positive whole number"):
        purge(days, now=NOW, tracker_store=sqlite_store, handoffs=handoffs, reviews=reviews)  # type: ignore[arg-type]


async def test_delete_conversation_in_every_store(
    store: PrivateTrackerStore,
    handoffs: HandoffStore,
    reviews: ReviewStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = conversation("patient-1", store.domain)
    await store.save(mine)
    await store.save(conversation("patient-2", store.domain))
    add_handoff(handoffs, "patient-1", NOW)
    add_handoff(handoffs, "patient-1", NOW + 1)
    add_handoff(handoffs, "patient-2", NOW)
    add_review(reviews, "patient-1", NOW, monkeypatch)
    add_review(reviews, "patient-2", NOW, monkeypatch)

    report = delete_conversation("patient-1", tracker_store=store, handoffs=handoffs, reviews=reviews)

    assert report == DeletionReport("patient-1", events=len(mine.events), handoffs=2, reviews=1)
    assert await store.keys() == ["patient-2"]
    assert conversation_ids(handoffs) == ["patient-2"]
    assert conversation_ids(reviews) == ["patient-2"]
    again = delete_conversation("patient-1", tracker_store=store, handoffs=handoffs, reviews=reviews)
    assert again == DeletionReport("patient-1", 0, 0, 0)
    assert again.summary() == "Nothing stored for conversation patient-1."


# --- the nightly setting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("0", None), ("  ", None), (None, None), ("30", 30), (" 7 ", 7), ("365", 365)],
)
def test_days_from_setting(value: Optional[str], expected: Optional[int]) -> None:
    assert days_from_setting(value) == expected


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "30d", "3 0", "+5", "٣"])
def test_days_from_setting_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="BACKBOT_RETENTION_DAYS"):
        days_from_setting(value)


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def installation(sqlite_store: PrivateTrackerStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An endpoints file on the SQLite store (the stores of actions.config are under tmp_path: conftest)."""
    section, variables = section_for(sqlite_store)
    for name, value in {**variables, "TEST_ACTION_URL": "http://localhost:5055/webhook"}.items():
        monkeypatch.setenv(name, value)
    return endpoints_file(tmp_path, section)


async def test_cli_purge(
    installation: Path, sqlite_store: PrivateTrackerStore, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    await sqlite_store.save(conversation("old", sqlite_store.domain, at=now - 40 * DAY))
    await sqlite_store.save(conversation("recent", sqlite_store.domain, at=now - DAY))
    add_handoff(config.get_handoff_service().store, "old", now - 40 * DAY)

    assert retention.main(["purge", "--days", "30", "--endpoints", str(installation)]) == 0

    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1
    assert "1 conversations" in output[0] and "1 handoffs" in output[0]
    assert await sqlite_store.keys() == ["recent"]
    assert config.get_handoff_service().store.recent() == []


async def test_cli_delete(
    installation: Path, sqlite_store: PrivateTrackerStore, capsys: pytest.CaptureFixture[str]
) -> None:
    await sqlite_store.save(conversation("patient-1", sqlite_store.domain))
    await sqlite_store.save(conversation("patient-2", sqlite_store.domain))

    assert retention.main(["delete", "patient-1", "--endpoints", str(installation)]) == 0

    assert "Deleted conversation patient-1" in capsys.readouterr().out
    assert await sqlite_store.keys() == ["patient-2"]


@pytest.mark.parametrize("days", ["0", "-3", "abc", "2.5"])
def test_cli_rejects_bad_days(days: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        retention.main(["purge", "--days", days])
    assert exited.value.code == 2
    assert "positive whole number of days" in capsys.readouterr().err


def test_cli_reports_a_broken_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.yml"
    assert retention.main(["purge", "--days", "30", "--endpoints", str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_module_runs_as_a_command(tmp_path: Path) -> None:
    environment = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    finished = subprocess.run(
        [sys.executable, "-m", "actions.privacy.retention", "purge", "--days", "zero"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2
    assert "--days" in finished.stderr and "positive whole number" in finished.stderr
