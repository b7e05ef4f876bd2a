"""Handoff to the front desk: a record per escalated conversation and a notification with retries.

The record holds the flagged message redacted (no names, numbers or addresses); the staff console
lists the open records and marks them handled.

`python -m actions.handoff` lists the records (newest first) for the front desk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Set, Tuple

import aiohttp

from actions.privacy.redact import redact

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    tier TEXT,
    flagged_text TEXT NOT NULL,
    created_at REAL NOT NULL,
    notify_status TEXT NOT NULL DEFAULT 'pending',
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    notify_error TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    handled_at REAL,
    handled_by TEXT
)
"""
# Columns added after the first release, with their definitions (added to older databases).
_ADDED_COLUMNS = {
    "status": "TEXT NOT NULL DEFAULT 'open'",
    "handled_at": "REAL",
    "handled_by": "TEXT",
}
OPEN = "open"
HANDLED = "handled"


@dataclass(frozen=True)
class Handoff:
    """A conversation the front desk must look at."""

    conversation_id: str
    reason: str  # "red_flag" or "human"
    tier: Optional[str]
    flagged_text: str
    created_at: float


class HandoffStore:
    """Handoff records in a SQLite file (one connection per call: safe across processes)."""

    def __init__(self, path: Path) -> None:
        """Creates the table when needed."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)
            present = {row[1] for row in connection.execute("PRAGMA table_info(handoffs)")}
            for column, definition in _ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE handoffs ADD COLUMN {column} {definition}")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, handoff: Handoff) -> int:
        """Stores a handoff and returns its id."""
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO handoffs (conversation_id, reason, tier, flagged_text, created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    handoff.conversation_id,
                    handoff.reason,
                    handoff.tier,
                    redact(handoff.flagged_text),
                    handoff.created_at,
                ),
            )
            return int(cursor.lastrowid)

    def set_notified(self, handoff_id: int, status: str, attempts: int, error: Optional[str]) -> None:
        """Records the outcome of the notification."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE handoffs SET notify_status = ?, notify_attempts = ?, notify_error = ? WHERE id = ?",
                (status, attempts, error, handoff_id),
            )

    def recent(self, limit: int = 50) -> List[dict]:
        """Returns the newest handoffs as dictionaries."""
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute("SELECT * FROM handoffs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def open_handoffs(self) -> List[dict]:
        """Every handoff the front desk has not marked handled yet, newest first."""
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute("SELECT * FROM handoffs WHERE status = ? ORDER BY id DESC", (OPEN,)).fetchall()
        return [dict(row) for row in rows]

    def for_conversation(self, conversation_id: str) -> List[dict]:
        """The handoffs of one conversation, newest first."""
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(
                "SELECT * FROM handoffs WHERE conversation_id = ? ORDER BY id DESC", (conversation_id,)
            ).fetchall()
        return [dict(row) for row in rows]

    def mark_handled(self, conversation_id: str, by: str, at: Optional[float] = None) -> int:
        """Marks every open handoff of a conversation handled; returns how many there were."""
        with self._connect() as connection:
            cursor = connection.execute(
                "UPDATE handoffs SET status = ?, handled_at = ?, handled_by = ?"
                " WHERE conversation_id = ? AND status = ?",
                (HANDLED, at if at is not None else time.time(), by, conversation_id, OPEN),
            )
            return cursor.rowcount

    def delete_conversation(self, conversation_id: str) -> int:
        """Deletes the handoffs of one conversation (the patient asked); returns how many."""
        with self._connect() as connection:
            return connection.execute("DELETE FROM handoffs WHERE conversation_id = ?", (conversation_id,)).rowcount

    def delete_before(self, cutoff: float) -> int:
        """Deletes the handoffs created before `cutoff` (retention); returns how many."""
        with self._connect() as connection:
            return connection.execute("DELETE FROM handoffs WHERE created_at < ?", (cutoff,)).rowcount


async def post_with_retries(
    url: str, payload: dict, attempts: int = 3, first_delay_s: float = 0.5, timeout_s: float = 5.0
) -> Tuple[bool, int, Optional[str]]:
    """POSTs JSON to `url`, retrying with doubling delays; returns (ok, attempts used, last error)."""
    error: Optional[str] = None
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
                async with session.post(url, json=payload) as response:
                    if response.status < 300:
                        return True, attempt, None
                    error = f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            await asyncio.sleep(delay)
            delay *= 2
    return False, attempts, error


class HandoffService:
    """Records handoffs and notifies the front desk in the background."""

    def __init__(self, store: HandoffStore, webhook_url: str = "") -> None:
        """Keeps the store and the notification URL (empty: no notification configured)."""
        self.store = store
        self.webhook_url = webhook_url
        self._tasks: Set[asyncio.Task] = set()

    def hand_off(self, handoff: Handoff) -> int:
        """Stores the handoff and starts its notification without delaying the patient's reply."""
        handoff_id = self.store.add(handoff)
        logger.warning(
            "Handoff #%d: conversation %s, reason %s, tier %s",
            handoff_id,
            handoff.conversation_id,
            handoff.reason,
            handoff.tier,
        )
        if not self.webhook_url:
            self.store.set_notified(handoff_id, "not_configured", 0, None)
            return handoff_id
        task = asyncio.get_running_loop().create_task(self._notify(handoff_id, handoff))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return handoff_id

    async def _notify(self, handoff_id: int, handoff: Handoff) -> None:
        ok, attempts, error = await post_with_retries(self.webhook_url, {"id": handoff_id, **asdict(handoff)})
        self.store.set_notified(handoff_id, "sent" if ok else "failed", attempts, error)
        if not ok:
            logger.error("Handoff #%d: notification failed after %d attempts: %s", handoff_id, attempts, error)

    async def drain(self) -> None:
        """Waits for notifications still under way (for tests and shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def new_handoff(conversation_id: str, reason: str, tier: Optional[str], text: str) -> Handoff:
    """Builds a handoff stamped with the current time; the flagged text is redacted (also for the webhook)."""
    return Handoff(
        conversation_id=conversation_id, reason=reason, tier=tier, flagged_text=redact(text), created_at=time.time()
    )


def main() -> int:
    """Prints the newest handoffs as JSON lines."""
    from actions.config import get_handoff_service

    for row in get_handoff_service().store.recent():
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
