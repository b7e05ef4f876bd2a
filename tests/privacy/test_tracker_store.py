"""The private tracker store: redacted storage, no duplicates, deletion on request, purge by age."""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from actions.privacy import CONFIRM_DELETE_ANSWER_ID, DELETED_ANSWER_ID
from actions.privacy.tracker_store import TYPE_PATH, PrivateTrackerStore, check_importable

ADDRESS = "jan.jansen@example.nl"
PATIENT_TEXT = f"Mijn e-mailadres is {ADDRESS}, ik heb al twee weken rugpijn"
BOT_TEXT = "Dank u. Hoe lang heeft u de pijn al?"
DAY = 86400.0


def user(text: str, intent: str = "inform", timestamp: Optional[float] = None) -> UserUttered:
    """A patient's message as Rasa logs it (the parse data repeats the text)."""
    return UserUttered(text, intent={"name": intent, "confidence": 0.93}, timestamp=timestamp)


def conversation(
    sender: str, domain: Domain, text: str = PATIENT_TEXT, at: Optional[float] = None
) -> DialogueStateTracker:
    """A tracker with one exchange: session start, the patient's message, the assistant's answer."""
    at = time.time() if at is None else at
    events: List[Event] = [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
        user(text, timestamp=at + 1),
        ActionExecuted("action_answer", timestamp=at + 2),
        BotUttered(BOT_TEXT, timestamp=at + 2),
        SlotSet("answer_id", "pain/duration", timestamp=at + 2),
        ActionExecuted("action_listen", timestamp=at + 3),
    ]
    return DialogueStateTracker.from_events(sender, events, slots=domain.slots)


def rows(store: PrivateTrackerStore, sender: Optional[str] = None) -> List[Dict[str, Any]]:
    """The stored events as the database holds them (raw columns), in storage order."""
    query = "SELECT sender_id, type_name, intent_name, action_name, data FROM events"
    with store.engine.connect() as connection:
        if sender is None:
            result = connection.execute(sa.text(query + " ORDER BY id"))
        else:
            result = connection.execute(sa.text(query + " WHERE sender_id = :s ORDER BY id"), {"s": sender})
        return [dict(row._mapping) for row in result]


def texts(tracker: Optional[DialogueStateTracker], kind: type) -> List[str]:
    assert tracker is not None
    return [event.text for event in tracker.events if isinstance(event, kind)]


async def test_patient_text_is_stored_redacted(store: PrivateTrackerStore) -> None:
    await store.save(conversation("patient-1", store.domain))

    retrieved = await store.retrieve("patient-1")
    [patient] = texts(retrieved, UserUttered)
    assert ADDRESS not in patient
    assert "rugpijn" in patient  # redacted, not emptied
    assert texts(retrieved, BotUttered) == [BOT_TEXT]
    assert retrieved.latest_message.intent["name"] == "inform"

    stored = rows(store, "patient-1")
    assert stored, "nothing stored"
    assert all(ADDRESS not in row["data"] for row in stored)  # not in text, parse data or anywhere
    assert [row["intent_name"] for row in stored if row["type_name"] == "user"] == ["inform"]
    assert [row["action_name"] for row in stored if row["type_name"] == "action"] == [
        "action_session_start",
        "action_listen",
        "action_answer",
        "action_listen",
    ]
    assert any(BOT_TEXT in row["data"] for row in stored if row["type_name"] == "bot")


async def test_saving_again_adds_only_new_events(store: PrivateTrackerStore) -> None:
    tracker = conversation("patient-1", store.domain)
    await store.save(tracker)
    await store.save(tracker)
    assert len(rows(store, "patient-1")) == len(tracker.events)

    # The next turn as Rasa runs it: retrieve (redacted), add the new message, save.
    retrieved = await store.retrieve("patient-1")
    retrieved.update(user("En het straalt uit naar mijn been"))
    await store.save(retrieved)
    await store.save(retrieved)

    assert len(rows(store, "patient-1")) == len(tracker.events) + 1
    again = await store.retrieve("patient-1")
    assert len(texts(again, UserUttered)) == 2
    assert texts(again, UserUttered)[-1] == "En het straalt uit naar mijn been"


async def test_confirmed_deletion_removes_the_whole_conversation(
    store: PrivateTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    other = conversation("patient-2", store.domain, text="Ik heb last van mijn onderrug")
    await store.save(other)
    tracker = conversation("patient-1", store.domain)
    await store.save(tracker)
    tracker.update(user("Verwijder mijn gegevens", intent="delete_data"))
    await store.save(tracker)

    tracker.update(user("ja", intent="affirm"))
    tracker.update(SlotSet("answer_id", DELETED_ANSWER_ID))
    tracker.update(BotUttered("Uw gesprek is verwijderd."))
    tracker.update(ActionExecuted("action_listen"))
    with caplog.at_level(logging.INFO, logger="actions.privacy.tracker_store"):
        await store.save(tracker)

    assert await store.retrieve("patient-1") is None
    assert rows(store, "patient-1") == []
    logged = [record.getMessage() for record in caplog.records if record.name == "actions.privacy.tracker_store"]
    assert logged == ["Conversation patient-1 deleted at the patient's request"]  # the id, never the text

    # Other conversations are untouched.
    assert len(rows(store, "patient-2")) == len(other.events)
    assert texts(await store.retrieve("patient-2"), UserUttered) == ["Ik heb last van mijn onderrug"]

    # The next message starts a fresh conversation, as Rasa starts one for an unknown sender.
    fresh = await store.get_or_create_tracker("patient-1")
    fresh.update(user("Hallo, ik heb een nieuwe vraag", intent="greet"))
    await store.save(fresh)
    assert texts(await store.retrieve_full_tracker("patient-1"), UserUttered) == ["Hallo, ik heb een nieuwe vraag"]
    assert fresh.get_slot("answer_id") is None


async def test_deletion_in_the_first_save_stores_nothing(store: PrivateTrackerStore) -> None:
    tracker = conversation("patient-1", store.domain)
    tracker.update(SlotSet("answer_id", DELETED_ANSWER_ID))
    await store.save(tracker)
    assert rows(store) == []


async def test_awaiting_confirmation_deletes_nothing(store: PrivateTrackerStore) -> None:
    tracker = conversation("patient-1", store.domain)
    tracker.update(user("Verwijder mijn gegevens", intent="delete_data"))
    tracker.update(SlotSet("answer_id", CONFIRM_DELETE_ANSWER_ID))
    await store.save(tracker)
    assert len(rows(store, "patient-1")) == len(tracker.events)
    # Another slot holding the same value is no deletion request either.
    tracker.update(SlotSet("topic", DELETED_ANSWER_ID))
    await store.save(tracker)
    assert len(rows(store, "patient-1")) == len(tracker.events)


async def test_delete_conversation_counts_and_spares_others(store: PrivateTrackerStore) -> None:
    first = conversation("patient-1", store.domain)
    await store.save(first)
    await store.save(conversation("patient-2", store.domain))

    assert store.delete_conversation("patient-1") == len(first.events)
    assert await store.retrieve("patient-1") is None
    assert await store.keys() == ["patient-2"]
    assert store.delete_conversation("patient-1") == 0
    assert store.delete_conversation("nobody") == 0
    assert store.conversation_count() == 1


async def test_purge_deletes_conversations_whose_last_event_is_old(store: PrivateTrackerStore) -> None:
    now = float(int(time.time()))  # whole seconds: the boundary below is exact
    cutoff = now - 30 * DAY
    old = conversation("old", store.domain, at=now - 40 * DAY)
    await store.save(old)
    # Started long ago, but the patient wrote again yesterday: kept whole.
    ongoing = conversation("ongoing", store.domain, at=now - 60 * DAY)
    await store.save(ongoing)
    ongoing.update(user("Het gaat al wat beter", timestamp=now - DAY))
    await store.save(ongoing)
    recent = conversation("recent", store.domain, at=now - DAY)
    await store.save(recent)
    # The newest event exactly at the cutoff is not older than it.
    boundary = conversation("boundary", store.domain, at=cutoff - 3)
    await store.save(boundary)

    assert store.purge_older_than(cutoff) == (1, len(old.events))

    assert await store.retrieve_full_tracker("old") is None
    assert sorted(await store.keys()) == ["boundary", "ongoing", "recent"]
    assert len(rows(store, "ongoing")) == len(ongoing.events)
    assert len(rows(store, "recent")) == len(recent.events)
    assert store.purge_older_than(cutoff) == (0, 0)
    assert store.purge_older_than(now + DAY) == (3, len(ongoing.events) + len(recent.events) + len(boundary.events))
    assert store.conversation_count() == 0


class CollectingBroker(EventBroker):
    """An event broker that keeps what it is sent."""

    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


async def test_events_sent_to_an_event_broker_are_redacted(sqlite_store: PrivateTrackerStore) -> None:
    broker = CollectingBroker()
    sqlite_store.event_broker = broker
    await sqlite_store.save(conversation("patient-1", sqlite_store.domain))
    assert any(event.get("event") == "user" for event in broker.published)
    assert all(event["sender_id"] == "patient-1" for event in broker.published)
    assert ADDRESS not in repr(broker.published)


async def test_rasa_builds_the_store_from_its_endpoint_settings(tmp_path, domain: Domain) -> None:
    config = EndpointConfig(type=TYPE_PATH, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    created = TrackerStore.create(config, domain=domain)
    assert isinstance(created, PrivateTrackerStore)  # not Rasa's in-memory fallback
    await created.save(conversation("patient-1", domain))
    assert created.conversation_count() == 1
    created.engine.dispose()


def test_check_importable() -> None:
    assert check_importable() is PrivateTrackerStore
    with pytest.raises(RuntimeError, match="in memory"):
        check_importable("actions.privacy.no_such_module.PrivateTrackerStore")
    with pytest.raises(RuntimeError, match="not a tracker store"):
        check_importable("actions.privacy.tracker_store.asks_deletion")


async def test_reads_and_counts_follow_conversation_sessions_as_rasas_store_does(store: PrivateTrackerStore) -> None:
    """The lean read and count (only the JSON column, one count) give Rasa's results across sessions."""
    from rasa.core.tracker_store import SQLTrackerStore

    first = conversation("patient-s", store.domain, at=time.time() - 7200)
    await store.save(first)
    later = time.time()
    retrieved = await store.retrieve("patient-s")
    for event in [
        ActionExecuted("action_session_start", timestamp=later),
        SessionStarted(timestamp=later),
        ActionExecuted("action_listen", timestamp=later),
        user("Weer last van mijn rug", timestamp=later + 1),
    ]:
        retrieved.update(event)  # fmt: skip
    rasa_store = SQLTrackerStore.__new__(SQLTrackerStore)
    rasa_store.__dict__.update(store.__dict__)  # Rasa's own methods on the same database
    for tracker in (first, retrieved):
        with store.session_scope() as session:
            ours = list(store._additional_events(session, tracker))
            assert ours == list(SQLTrackerStore._additional_events(rasa_store, session, tracker))
    await store.save(retrieved)

    assert len(rows(store, "patient-s")) == len(first.events) + 4
    latest = await store.retrieve("patient-s")
    assert texts(latest, UserUttered) == ["Weer last van mijn rug"]  # the latest session only
    assert len(texts(await store.retrieve_full_tracker("patient-s"), UserUttered)) == 2
    rasa_latest = await SQLTrackerStore._retrieve(rasa_store, "patient-s", fetch_events_from_all_sessions=False)
    assert [e.as_dict() for e in rasa_latest.events] == [e.as_dict() for e in latest.events]
    assert await store.retrieve("nobody") is None
