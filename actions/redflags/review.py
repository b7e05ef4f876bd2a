"""Disagreements between the two red-flag detectors, kept for a clinician's review.

Every message where the learned detector and the patterns disagree is stored with the
conversation id, the message and what each detector said, so that patterns or training data can
be improved. `python -m actions.redflags.review` (make review) lists them, newest first.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import List, Tuple

from actions.privacy.redact import redact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS disagreements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    message TEXT NOT NULL,
    tier TEXT,
    note TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


class ReviewStore:
    """The disagreements in a SQLite file (one connection per call: safe across processes)."""

    def __init__(self, path: Path) -> None:
        """Creates the table when needed."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path, timeout=10) as connection:
            connection.execute(_SCHEMA)

    def add(self, conversation_id: str, message: str, tier: str | None, note: str) -> None:
        """Stores one disagreement (the message redacted: no names, numbers or addresses)."""
        with sqlite3.connect(self.path, timeout=10) as connection:
            connection.execute(
                "INSERT INTO disagreements (conversation_id, message, tier, note, created_at) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, redact(message), tier, note, time.time()),
            )

    def latest(self, limit: int = 50) -> List[Tuple[str, str, str | None, str, float]]:
        """The newest disagreements: (conversation id, message, tier, note, time)."""
        with sqlite3.connect(self.path, timeout=10) as connection:
            return connection.execute(
                "SELECT conversation_id, message, tier, note, created_at FROM disagreements ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()

    def delete_conversation(self, conversation_id: str) -> int:
        """Deletes the disagreements of one conversation (the patient asked); returns how many."""
        with sqlite3.connect(self.path, timeout=10) as connection:
            return connection.execute(
                "DELETE FROM disagreements WHERE conversation_id = ?", (conversation_id,)
            ).rowcount

    def delete_before(self, cutoff: float) -> int:
        """Deletes the disagreements stored before `cutoff`, a UNIX time (retention); returns how many."""
        with sqlite3.connect(self.path, timeout=10) as connection:
            return connection.execute("DELETE FROM disagreements WHERE created_at < ?", (cutoff,)).rowcount


def main() -> int:
    """Prints the newest disagreements."""
    from actions.config import get_review_store

    rows = get_review_store().latest()
    if not rows:
        print("No disagreements between the red-flag detectors.")
    for conversation, message, tier, note, created in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created))
        print(f"{when}  {conversation}  tier={tier or '-'}  {note}\n    {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
