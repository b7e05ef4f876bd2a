"""Retention: deletes conversations older than N days, and one conversation on request.

Three stores hold something of a conversation: Rasa's tracker store (the conversation itself,
configured in endpoints.yml), the handoff records of the front desk and the red-flag detector
disagreements kept for review. `purge` and `delete_conversation` clear all three.

    python -m actions.privacy.retention purge --days 30 [--endpoints endpoints.yml]
    python -m actions.privacy.retention delete <conversation_id> [--endpoints endpoints.yml]

The nightly purge reads its number of days from BACKBOT_RETENTION_DAYS (`days_from_setting`).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Protocol, Union

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from actions.privacy.tracker_store import PrivateTrackerStore

SECONDS_PER_DAY = 86400
RETENTION_SETTING = "BACKBOT_RETENTION_DAYS"
# Seconds to wait for the database server before giving up (Rasa itself would retry forever).
CONNECT_TIMEOUT_S = 10


class RetentionConfigError(ValueError):
    """The tracker store cannot be opened from the endpoints file (the message says why)."""


class ConversationRecords(Protocol):
    """A store with rows per conversation: the handoff store and the review store."""

    def delete_before(self, cutoff: float) -> int:
        """Deletes the rows created before `cutoff` (a UNIX time); returns how many."""

    def delete_conversation(self, conversation_id: str) -> int:
        """Deletes the rows of one conversation; returns how many."""


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted."""

    days: int
    cutoff: float  # UNIX time: conversations whose newest event is older were deleted
    conversations: int
    events: int
    handoffs: int
    reviews: int

    def summary(self) -> str:
        """One line for the log of the nightly job."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.cutoff))
        return (
            f"Purged data older than {self.days} days (before {when}): {self.conversations} conversations "
            f"({self.events} events), {self.handoffs} handoffs, {self.reviews} red-flag reviews."
        )


@dataclass(frozen=True)
class DeletionReport:
    """What the deletion of one conversation deleted."""

    conversation_id: str
    events: int
    handoffs: int
    reviews: int

    def summary(self) -> str:
        """One line for the administrator."""
        if not (self.events or self.handoffs or self.reviews):
            return f"Nothing stored for conversation {self.conversation_id}."
        return (
            f"Deleted conversation {self.conversation_id}: {self.events} events, "
            f"{self.handoffs} handoffs, {self.reviews} red-flag reviews."
        )


def days_from_setting(value: Optional[str]) -> Optional[int]:
    """The number of days of the BACKBOT_RETENTION_DAYS setting; None when the purge is off ("" or "0").

    Raises:
        ValueError: The value is not a whole number of days.
    """
    text = (value or "").strip()
    if not re.fullmatch(r"[0-9]*", text):
        raise ValueError(
            f"{RETENTION_SETTING} must be a whole number of days (empty or 0: no automatic purge), not {value!r}."
        )
    days = int(text) if text else 0
    return days or None


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"The number of days must be a positive whole number, not {days!r}.")
    return days


def _is_ours(type_name: str) -> bool:
    """Whether an endpoints `type:` names Rasa's SQL store or ours (or a subclass of ours)."""
    from actions.privacy.tracker_store import TYPE_PATH, PrivateTrackerStore, check_importable

    if type_name.lower() == "sql" or type_name == TYPE_PATH:
        return True
    if "." not in type_name:
        return False
    try:
        found = check_importable(type_name)
    except RuntimeError:
        return False
    return issubclass(found, PrivateTrackerStore)


def _check_database(path: Path, config: EndpointConfig) -> None:
    """Connects once, so that a wrong setting fails at once instead of Rasa's endless retries."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore, validate_port
    from rasa.shared.exceptions import RasaException

    settings = dict(config.kwargs)
    dialect = str(settings.get("dialect", "sqlite"))
    host = config.url
    try:
        url = sa.engine.make_url(
            SQLTrackerStore.get_db_url(
                dialect,
                host,
                validate_port(settings.get("port")),
                settings.get("db", "rasa.db"),
                settings.get("username"),
                settings.get("password"),
                settings.get("login_db"),
                settings.get("query"),
            )
        )
    except (RasaException, ValueError, sa.exc.ArgumentError) as error:
        raise RetentionConfigError(f"{path}: invalid tracker_store settings: {error}") from error
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not Path(database).is_file():
            raise RetentionConfigError(
                f"{path}: the tracker store database {Path(database).resolve()} does not exist "
                "(check BACKBOT_TRACKER_DB and the folder the command runs in)."
            )
        connect_args = {}
    else:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise RetentionConfigError(f"{path}: cannot connect to the tracker store database {shown}: {reason}") from error
    finally:
        engine.dispose()


def tracker_store_from_endpoints(
    path: Union[str, Path] = "endpoints.yml", domain: Optional[Domain] = None
) -> PrivateTrackerStore:
    """Our tracker store on the database of the `tracker_store` section of an endpoints file.

    The file is read as Rasa reads it (${VARIABLES} are replaced by environment variables). Its
    type must be `SQL` or our store: both keep the conversations in the same table.

    Raises:
        RetentionConfigError: The file, the section or a variable is missing, the type is another
            store, or the database cannot be reached.
    """
    from rasa.shared.core.domain import Domain
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import read_endpoint_config

    from actions.privacy.tracker_store import TYPE_PATH, PrivateTrackerStore

    path = Path(path)
    if not path.is_file():
        raise RetentionConfigError(f"Endpoints file {path} not found.")
    try:
        config = read_endpoint_config(str(path), "tracker_store")
    except RasaException as error:  # e.g. an environment variable that is not set
        raise RetentionConfigError(f"{path}: {error}") from error
    if config is None:
        raise RetentionConfigError(f"{path} has no tracker_store section.")
    if not config.type or not _is_ours(str(config.type)):
        raise RetentionConfigError(
            f"{path}: tracker_store type {config.type!r} is not supported; use SQL or {TYPE_PATH}."
        )
    _check_database(path, config)
    return PrivateTrackerStore(domain=domain or Domain.empty(), host=config.url, **config.kwargs)


def _default_records() -> List[ConversationRecords]:
    """The handoff store and the review store of this installation (actions.config)."""
    from actions.config import get_handoff_service, get_review_store

    return [get_handoff_service().store, get_review_store()]


def purge(
    days: int,
    now: Optional[float] = None,
    endpoints: Union[str, Path] = "endpoints.yml",
    *,
    tracker_store: Optional[PrivateTrackerStore] = None,
    handoffs: Optional[ConversationRecords] = None,
    reviews: Optional[ConversationRecords] = None,
) -> PurgeReport:
    """Deletes conversations whose newest event is older than `days` days, and older handoffs and reviews.

    Stores not passed are those of the installation: the tracker store of `endpoints`, the
    handoff store and the review store of actions.config.

    Raises:
        ValueError: `days` is not a positive whole number.
        RetentionConfigError: The tracker store cannot be opened.
    """
    _check_days(days)
    cutoff = (time.time() if now is None else now) - days * SECONDS_PER_DAY
    store = tracker_store or tracker_store_from_endpoints(endpoints)  # first: a wrong setting stops here
    if handoffs is None or reviews is None:
        default_handoffs, default_reviews = _default_records()
        handoffs = default_handoffs if handoffs is None else handoffs
        reviews = default_reviews if reviews is None else reviews
    conversations, events = store.purge_older_than(cutoff)
    return PurgeReport(
        days=days,
        cutoff=cutoff,
        conversations=conversations,
        events=events,
        handoffs=handoffs.delete_before(cutoff),
        reviews=reviews.delete_before(cutoff),
    )


def delete_conversation(
    conversation_id: str,
    endpoints: Union[str, Path] = "endpoints.yml",
    *,
    tracker_store: Optional[PrivateTrackerStore] = None,
    handoffs: Optional[ConversationRecords] = None,
    reviews: Optional[ConversationRecords] = None,
) -> DeletionReport:
    """Deletes everything stored of one conversation, in the three stores (see `purge` for the arguments)."""
    if not conversation_id.strip():
        raise ValueError("The conversation id is empty.")
    store = tracker_store or tracker_store_from_endpoints(endpoints)  # first: a wrong setting stops here
    if handoffs is None or reviews is None:
        default_handoffs, default_reviews = _default_records()
        handoffs = default_handoffs if handoffs is None else handoffs
        reviews = default_reviews if reviews is None else reviews
    return DeletionReport(
        conversation_id=conversation_id,
        events=store.delete_conversation(conversation_id),
        handoffs=handoffs.delete_conversation(conversation_id),
        reviews=reviews.delete_conversation(conversation_id),
    )


def _positive_days(value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value.strip()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number of days, not {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m actions.privacy.retention",
        description="Deletes stored conversations: older than N days (purge) or one of them (delete).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    purge_command = commands.add_parser("purge", help="delete conversations whose last message is older than N days")
    purge_command.add_argument("--days", type=_positive_days, required=True, help="retention period in days (> 0)")
    delete_command = commands.add_parser("delete", help="delete one conversation everywhere it is stored")
    delete_command.add_argument("conversation_id", help="the conversation (sender) id")
    for command in (purge_command, delete_command):
        command.add_argument("--endpoints", default="endpoints.yml", help="Rasa endpoints file (default: %(default)s)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line; returns the exit code (0 done, 1 the stores cannot be opened, 2 bad arguments)."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "purge":
            report: Union[PurgeReport, DeletionReport] = purge(arguments.days, endpoints=arguments.endpoints)
        else:
            report = delete_conversation(arguments.conversation_id, endpoints=arguments.endpoints)
    except (RetentionConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
