"""Privacy on the running assistant: what is stored and logged, and deletion at the patient's request.

Uses the shared running servers (tests/conftest.py `live`): the REST channel, the SQLite tracker
store in the test's temporary folder, the servers' log files and the retention command.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_server import say, tracker

pytestmark = pytest.mark.server

PERSONAL = "Ik heet Jan de Vries, mijn nummer is 06-12345678 en mail naar jan.devries@example.nl. Is bewegen goed?"
SECRETS = ("Jan de Vries", "06-12345678", "12345678", "jan.devries@example.nl")


def stored_data(live, sender: str) -> str:
    with sqlite3.connect(live.tracker_db) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ?", (sender,)).fetchall()
    return "\n".join(row[0] for row in rows)


def texts(messages) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def test_personal_details_are_answered_but_stored_and_logged_redacted(live):
    sender = "privacy-stored"
    status, messages = say(live, sender, PERSONAL)
    assert status == 200 and "bewegen" in texts(messages).lower()
    stored = stored_data(live, sender)
    assert "[telefoonnummer]" in stored and "[e-mail]" in stored, stored[:500]
    for secret in SECRETS:
        assert secret not in stored, secret
    events = tracker(live, sender)["events"]
    user_text = next(e["text"] for e in events if e["event"] == "user")
    assert "[naam]" in user_text and "Is bewegen goed?" in user_text, user_text
    for log in Path(live.log_dir).glob("*.log"):
        content = log.read_text(encoding="utf-8", errors="replace")
        for secret in SECRETS + ("Is bewegen goed?",):
            assert secret not in content, f"{secret!r} in {log.name}"


def test_verwijder_mijn_gegevens_deletes_the_conversation_after_confirmation(live):
    sender = "privacy-delete"
    say(live, sender, "Mijn naam is Anna Jansen. Ik heb rugpijn, mag ik sporten?")
    status, messages = say(live, sender, "verwijder mijn gegevens")
    reply = texts(messages)
    assert status == 200 and "verwijder" in reply.lower() and "ongedaan" in reply, reply
    buttons = [b["payload"] for m in messages for b in m.get("buttons", [])]
    assert buttons == ["/affirm", "/deny"], messages
    assert stored_data(live, sender)  # nothing deleted before the confirmation
    status, messages = say(live, sender, "/affirm")
    assert status == 200 and "verwijderd" in texts(messages), messages
    assert stored_data(live, sender) == ""
    assert [e for e in tracker(live, sender)["events"] if e["event"] == "user"] == []
    # The patient can go on; the new conversation starts empty.
    status, messages = say(live, sender, "is bewegen schadelijk?")
    assert status == 200 and "bewegen" in texts(messages).lower()
    users = [e["text"] for e in tracker(live, sender)["events"] if e["event"] == "user"]
    assert users == ["is bewegen schadelijk?"], users


def test_no_means_nothing_is_deleted(live):
    sender = "privacy-keep"
    say(live, sender, "is bewegen schadelijk?")
    say(live, sender, "kunnen jullie mijn gesprek wissen?")
    status, messages = say(live, sender, "nee")
    assert status == 200 and "niets" in texts(messages), messages
    assert "is bewegen schadelijk?" in stored_data(live, sender)


def test_make_purge_deletes_old_conversations_of_the_running_assistant(live):
    sender = "privacy-old"
    say(live, sender, "is bewegen schadelijk?")
    say(live, "privacy-recent", "is bewegen schadelijk?")
    with sqlite3.connect(live.tracker_db) as connection:  # the conversation is 40 days old
        connection.execute("UPDATE events SET timestamp = timestamp - 40 * 86400 WHERE sender_id = ?", (sender,))
    env = {**os.environ, "BACKBOT_TRACKER_DB": str(live.tracker_db),
           "BACKBOT_HANDOFF_DB": str(Path(live.log_dir) / "handoffs.db"),
           "BACKBOT_REVIEW_DB": str(Path(live.log_dir) / "red_flag_review.db"),
           "BACKBOT_ACTION_URL": "http://localhost:1/webhook", "BACKBOT_ACTION_TOKEN": "unused"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "actions.privacy.retention", "purge", "--days", "30"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stored_data(live, sender) == ""
    assert stored_data(live, "privacy-recent")  # a recent conversation stays
    assert json.dumps(result.stdout)  # one summary line
