"""Rasa's SQL tracker store, storing only redacted patient texts and deleting a conversation on request.

Use it in endpoints.yml with the same settings as Rasa's own SQL store:

    tracker_store:
      type: actions.privacy.tracker_store.PrivateTrackerStore
      dialect: sqlite
      db: ${BACKBOT_TRACKER_DB}

Rasa constructs it as `PrivateTrackerStore(host=url, domain=..., event_broker=..., **settings)`. When
the import fails, Rasa silently keeps the conversations in memory instead (unredacted, and lost on
restart): the start-up script should call `check_importable()` first.

What differs from `SQLTrackerStore`:
- the `data` column (and anything sent to an event broker) holds the event with the patient's
  words redacted (`redact_event`); the `intent_name`, `action_name` and `timestamp` columns are
  those of the original event;
- when the events being saved include `SlotSet("answer_id", DELETED_ANSWER_ID)` (the patient
  confirmed "verwijder mijn gegevens"), every stored event of that conversation is deleted instead,
  in the same transaction, and nothing is stored: the next message starts a fresh conversation;
- `delete_conversation` and `purge_older_than` for the retention job and the staff console.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any, Awaitable, Callable, Iterable, Iterator, List, Optional, Tuple, Type, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from actions.privacy import DELETED_ANSWER_ID
from actions.privacy.redact import redact_event

logger = logging.getLogger(__name__)

# The `type:` of the tracker store in endpoints.yml.
TYPE_PATH = "actions.privacy.tracker_store.PrivateTrackerStore"
# The slot whose value DELETED_ANSWER_ID asks for the deletion of the conversation.
ANSWER_ID_SLOT = "answer_id"
# How long a read or write waits for an unreachable database (a PostgreSQL restart takes a few
# seconds) before it gives up; `retry_seconds` in endpoints.yml overrides it.
RETRY_SECONDS = 15.0
# Errors of a database that is (re)starting or cut off: connection refused, "terminating
# connection due to administrator command", "server closed the connection unexpectedly".
TRANSIENT_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)

T = TypeVar("T")


def asks_deletion(events: Iterable[Event]) -> bool:
    """Whether the events include the patient's confirmed request to delete the conversation."""
    return any(
        isinstance(event, SlotSet) and event.key == ANSWER_ID_SLOT and event.value == DELETED_ANSWER_ID
        for event in events
    )


class PrivateTrackerStore(SQLTrackerStore):
    """An SQL tracker store (SQLite or PostgreSQL) that keeps no personal details of the patient.

    Takes the same arguments as `SQLTrackerStore` (dialect, host, port, db, username, password,
    login_db, query, ...). Like Rasa's store, the SQL runs synchronously inside the async methods.
    On a database server (PostgreSQL) every pooled connection is checked before use, so that a
    restarted server or a cut connection costs a reconnect, not a message: Rasa's own store would
    fail the save and keep the conversation in the instance's memory instead.
    """

    def __init__(self, *args: Any, retry_seconds: Optional[float] = None, **kwargs: Any) -> None:
        """Rasa's SQL store, with a connection pool that checks each connection before use (not SQLite).

        Args:
            *args: as for SQLTrackerStore.
            retry_seconds: how long a read or write keeps trying while the database cannot be
                reached (default RETRY_SECONDS). Rasa would otherwise keep the conversation in the
                instance's memory after the first failure, and lose it.
            **kwargs: as for SQLTrackerStore.
        """
        self.retry_seconds = RETRY_SECONDS if retry_seconds is None else float(retry_seconds)
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Runs a database call again while the database cannot be reached, up to `retry_seconds`."""
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.2
        while True:
            try:
                return await call()
            except TRANSIENT_ERRORS as error:
                if time.monotonic() + delay > deadline:
                    logger.error("The conversation store stayed unreachable for %.0f s (%s)", self.retry_seconds, what)
                    raise
                reason = str(getattr(error, "orig", error)).strip().splitlines()[0][:200]
                logger.warning("The conversation store is unreachable (%s); %s again in %.1f s", reason, what, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Rasa's read, tried again while the database restarts."""
        parent = super()
        return await self._retrying("reading", lambda: parent.retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        """Rasa's read of every session, tried again while the database restarts."""
        parent = super()
        return await self._retrying("reading", lambda: parent.retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores the tracker's new events redacted, or deletes the conversation when the patient asked.

        While the database restarts, the write is tried again (a failed transaction stores
        nothing, so a retry never stores an event twice).
        """
        await self.stream_events(tracker)
        await self._retrying("saving", lambda: self._save_events(tracker))

    async def _save_events(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            events = list(self._additional_events(session, tracker))
            if asks_deletion(events):
                self._delete_events(session, tracker.sender_id)
                session.commit()
                logger.info("Conversation %s deleted at the patient's request", tracker.sender_id)
                return

            for event in events:
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                # noinspection PyArgumentList
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(redact_event(data)),
                    )
                )
            session.commit()

        logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's read, selecting only the stored events' JSON instead of whole ORM objects.

        Building an ORM object per stored event took a third of the time of reading a
        conversation (py-spy on the REST benchmark, 2026-11-30); the query is Rasa's own.
        """
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data)]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The tracker's events not stored yet: Rasa's, counting with one `count(*)` instead of a sub-select."""
        query = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False)
        stored = query.with_entities(sa.func.count(self.SQLEvent.id)).order_by(None).scalar() or 0
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def _stream_new_events(self, event_broker: EventBroker, new_events: List[Event], sender_id: str) -> None:
        """Publishes the new events to the event broker, redacted like the stored ones."""
        for event in new_events:
            event_broker.publish({"sender_id": sender_id, **redact_event(event.as_dict())})

    def _delete_events(self, session: Any, sender_id: str) -> int:
        """Deletes every stored event of one conversation within the session's transaction."""
        return (
            session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete(synchronize_session=False)
        )

    def delete_conversation(self, sender_id: str) -> int:
        """Deletes every stored event of one conversation (all its sessions); returns how many."""
        with self.session_scope() as session:
            deleted = self._delete_events(session, sender_id)
            session.commit()
        if deleted:
            logger.info("Conversation %s deleted (%d events)", sender_id, deleted)
        return deleted

    def purge_older_than(self, cutoff_timestamp: float) -> Tuple[int, int]:
        """Deletes the conversations whose newest event is older than the cutoff (a UNIX time).

        A conversation that started before the cutoff but has an event since is kept whole.

        Returns:
            The number of conversations and of events deleted.
        """
        table = self.SQLEvent
        stale = (
            sa.select(table.sender_id)
            .group_by(table.sender_id)
            .having(sa.func.max(table.timestamp) < cutoff_timestamp)
            .correlate(None)  # a sub-query of its own table, never tied to the outer DELETE
        )
        with self.session_scope() as session:
            conversations = session.execute(sa.select(sa.func.count()).select_from(stale.subquery())).scalar() or 0
            events = (
                session.query(table)
                .filter(table.sender_id.in_(stale.scalar_subquery()))
                .delete(synchronize_session=False)
            )
            session.commit()
        return int(conversations), int(events)

    def conversation_count(self) -> int:
        """The number of stored conversations."""
        with self.session_scope() as session:
            return int(session.query(sa.func.count(sa.distinct(self.SQLEvent.sender_id))).scalar() or 0)


def check_importable(type_path: str = TYPE_PATH) -> Type[TrackerStore]:
    """Imports the tracker store class named in endpoints.yml, as Rasa will.

    Rasa falls back to an in-memory store (unredacted, lost on restart) when the import fails,
    with only a warning; the start-up script calls this first (from the project folder) to stop
    with a clear error instead.

    Raises:
        RuntimeError: The class cannot be imported or is not a tracker store.
    """
    from rasa.shared.exceptions import RasaException
    from rasa.shared.utils.common import class_from_module_path

    try:
        found = class_from_module_path(type_path)
    except RasaException as error:  # the name is not a class
        raise RuntimeError(f"'{type_path}' is not a tracker store class.") from error
    except (ImportError, AttributeError) as error:
        raise RuntimeError(
            f"The tracker store '{type_path}' cannot be imported ({type(error).__name__}: {error}); "
            "Rasa would keep the conversations in memory instead. Start Rasa from the project folder."
        ) from error
    if not (isinstance(found, type) and issubclass(found, TrackerStore)):
        raise RuntimeError(f"'{type_path}' is not a tracker store class.")
    return found
