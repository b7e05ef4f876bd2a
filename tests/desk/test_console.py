"""The staff console with the Flask test client: login, CSRF, roles, queue, replies, audit.

Rasa's HTTP API is replaced by a recording fake; the handoff store and the accounts are real
SQLite files under the test's temporary folder.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from actions.handoff import HandoffStore, new_handoff
from channels.settings import ServerSettings, load_desk
from web.desk.accounts import ADMIN, DESK, Accounts
from web.desk.app import DeskServices
from web.desk.conversations import RasaUnavailable
from web.server import build_app

PASSWORD = "correct-horse-battery"


class FakeRasa:
    """Rasa's HTTP API as the console uses it, recording what was added."""

    def __init__(self) -> None:
        self.trackers: Dict[str, Dict[str, Any]] = {}
        self.added: List[tuple] = []
        self.down = False

    def tracker(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        if self.down:
            raise RasaUnavailable("down")
        return self.trackers.get(conversation_id)

    def add_events(self, conversation_id: str, events: List[Dict[str, Any]], send: bool = False) -> Dict[str, Any]:
        if self.down:
            raise RasaUnavailable("down")
        self.added.append((conversation_id, events, send))
        tracker = self.trackers.setdefault(conversation_id, {"sender_id": conversation_id, "events": []})
        for event in events:
            if event["event"] == "pause":
                tracker["paused"] = True
            elif event["event"] == "resume":
                tracker["paused"] = False
            tracker["events"].append(event)
        return tracker


def web_tracker(conversation_id: str, *texts: str) -> Dict[str, Any]:
    events: List[Dict[str, Any]] = []
    for text in texts:
        events.append({"event": "user", "text": text, "input_channel": "socketio", "timestamp": time.time()})
        events.append({"event": "bot", "text": "Bel meteen uw huisarts.", "timestamp": time.time()})
    return {"sender_id": conversation_id, "paused": False, "events": events}


@pytest.fixture
def desk(tmp_path: Path):
    """The web app with the console, an admin and a desk account, a fake Rasa and a real handoff store."""
    env = {"BACKBOT_DESK_DB": str(tmp_path / "desk.db"), "BACKBOT_DESK_SECRET": "s" * 40}
    desk_settings = load_desk(env, run_dir=tmp_path)
    accounts = Accounts(desk_settings.db)
    accounts.create("beheer", PASSWORD, ADMIN)
    accounts.create("balie", PASSWORD, DESK)
    rasa = FakeRasa()
    handoffs = HandoffStore(tmp_path / "handoffs.db")
    asked: List[str] = []

    def ask(question: str) -> Dict[str, Any]:
        asked.append(question)
        return {"kind": "faq", "topic": "movement_harmful", "answer": "Bewegen is goed voor uw rug.",
                "intent": "ask_movement_harmful", "confidence": 0.97,
                "entry": {"id": "x", "question": "Is bewegen schadelijk?"},
                "sources": ["KNGF-richtlijn"], "buttons": [], "passages": []}  # fmt: skip

    services = DeskServices(accounts=accounts, rasa=rasa, handoffs=handoffs, ask=ask, extra={"settings": desk_settings})
    settings = ServerSettings(
        "127.0.0.1", 5005, 5055, 8080, ["http://localhost:8080"], "http://localhost:5005", "t", "a"
    )
    app = build_app(settings, services)
    app.config["TESTING"] = True
    return {
        "app": app,
        "client": app.test_client(),
        "rasa": rasa,
        "handoffs": handoffs,
        "accounts": accounts,
        "asked": asked,
    }


def csrf(client, path: str = "/desk/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, name: str = "beheer", password: str = PASSWORD):
    return client.post("/desk/login", data={"name": name, "password": password, "csrf_token": csrf(client)})


def test_every_console_page_needs_a_login(desk):
    client = desk["client"]
    for path in (
        "/desk/",
        "/desk/api/queue",
        "/desk/conversations/abc",
        "/desk/insight",
        "/desk/audit",
        "/desk/accounts",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/desk/login" in response.headers["Location"], path


def test_login_with_the_right_password_opens_the_console_and_is_audited(desk):
    client = desk["client"]
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/desk/")
    page = client.get("/desk/").get_data(as_text=True)
    assert "Wachtrij" in page and "Uitloggen (beheer)" in page
    assert [e["action"] for e in desk["accounts"].audit_log()][:1] == ["login"]


def test_a_wrong_password_or_unknown_name_is_refused_and_audited(desk):
    client = desk["client"]
    assert login(client, password="wrong-password!").status_code == 401
    assert login(client, name="niemand").status_code == 401
    assert client.get("/desk/").status_code == 302
    assert [e["action"] for e in desk["accounts"].audit_log()] == ["login_failed", "login_failed"]


def test_login_is_rate_limited(desk):
    client = desk["client"]
    codes = [login(client, password=f"wrong-{n}-password").status_code for n in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert login(client).status_code == 429  # even the right password waits


def test_a_form_without_its_csrf_token_is_refused(desk):
    client = desk["client"]
    assert client.post("/desk/login", data={"name": "beheer", "password": PASSWORD}).status_code == 400
    login(client)
    desk["rasa"].trackers["c1"] = web_tracker("c1", "help")
    assert client.post("/desk/conversations/c1/reply", data={"text": "Hallo"}).status_code == 400
    assert desk["rasa"].added == []


def test_a_login_redirect_never_leaves_the_console(desk):
    client = desk["client"]
    token = csrf(client)
    data = {"name": "beheer", "password": PASSWORD, "csrf_token": token}
    response = client.post("/desk/login?next=https://evil.example/", data=data)
    assert response.headers["Location"].endswith("/desk/")


def test_desk_staff_cannot_open_admin_pages(desk):
    client = desk["client"]
    login(client, "balie")
    for path in ("/desk/insight", "/desk/insight.csv", "/desk/audit", "/desk/accounts"):
        assert client.get(path).status_code == 403, path
    assert client.get("/desk/").status_code == 200


def test_the_queue_is_most_urgent_first_then_newest(desk):
    store, rasa = desk["handoffs"], desk["rasa"]
    now = time.time()
    rows = [("human-new", "human", None, now), ("same-day", "red_flag", "same_day", now - 60),
            ("emergency-old", "red_flag", "emergency_112", now - 3600),
            ("emergency-new", "red_flag", "emergency_112", now - 10)]  # fmt: skip
    for conversation_id, reason, tier, at in rows:
        handoff = new_handoff(conversation_id, reason, tier, f"bericht van {conversation_id}")
        store.add(handoff.__class__(**{**handoff.__dict__, "created_at": at}))
        rasa.trackers[conversation_id] = web_tracker(conversation_id, "hallo")
    client = desk["client"]
    login(client, "balie")
    items = client.get("/desk/api/queue").get_json()["items"]
    assert [i["conversation_id"] for i in items] == ["emergency-new", "emergency-old", "same-day", "human-new"]
    assert items[0]["channel"] == "Website" and items[0]["tier_label"] == "Direct 112"
    assert items[-1]["tier_label"] == "Wil een medewerker spreken"


def test_the_queue_still_shows_when_rasa_is_down(desk):
    desk["handoffs"].add(new_handoff("c1", "red_flag", "emergency", "ik kan niet plassen"))
    desk["rasa"].down = True
    client = desk["client"]
    login(client, "balie")
    items = client.get("/desk/api/queue").get_json()["items"]
    assert [i["conversation_id"] for i in items] == ["c1"] and items[0]["channel"] == "Onbekend"


def test_the_flagged_text_is_stored_redacted(desk):
    desk["handoffs"].add(new_handoff("c1", "red_flag", "emergency", "ik kan niet plassen, mail me op jan@example.nl"))
    client = desk["client"]
    login(client, "balie")
    assert "jan@example.nl" not in client.get("/desk/api/queue").get_data(as_text=True)


def test_a_staff_reply_pauses_the_assistant_and_goes_out_on_the_patients_channel(desk):
    desk["rasa"].trackers["c1"] = web_tracker("c1", "ik kan niet plassen")
    client = desk["client"]
    login(client, "balie")
    token = csrf(client, "/desk/conversations/c1")
    response = client.post("/desk/conversations/c1/reply", data={"text": "Wij bellen u nu.", "csrf_token": token})
    assert response.status_code == 302
    ((conversation_id, events, send),) = desk["rasa"].added
    assert conversation_id == "c1" and send is True
    assert [e["event"] for e in events] == ["pause", "bot"]
    assert events[1]["text"] == "Wij bellen u nu." and events[1]["metadata"] == {"staff": "balie"}
    page = client.get("/desk/conversations/c1").get_data(as_text=True)
    assert "Medewerker balie" in page and "de assistent wacht" in page
    entry = desk["accounts"].audit_log()[1]
    assert (entry["action"], entry["conversation_id"]) == ("reply", "c1") and "Wij bellen" not in entry["detail"]


def test_an_empty_or_too_long_reply_is_not_sent(desk):
    desk["rasa"].trackers["c1"] = web_tracker("c1", "hallo")
    client = desk["client"]
    login(client, "balie")
    token = csrf(client, "/desk/conversations/c1")
    client.post("/desk/conversations/c1/reply", data={"text": "  ", "csrf_token": token})
    client.post("/desk/conversations/c1/reply", data={"text": "x" * 2001, "csrf_token": token})
    assert desk["rasa"].added == []


def test_give_back_resumes_and_handled_closes_the_item_and_resumes(desk):
    store, rasa = desk["handoffs"], desk["rasa"]
    store.add(new_handoff("c1", "red_flag", "emergency", "niet plassen"))
    store.add(new_handoff("c1", "human", None, "mens"))
    rasa.trackers["c1"] = {**web_tracker("c1", "niet plassen"), "paused": True}
    client = desk["client"]
    login(client, "balie")
    token = csrf(client, "/desk/conversations/c1")
    client.post("/desk/conversations/c1/resume", data={"csrf_token": token})
    assert rasa.trackers["c1"]["paused"] is False
    rasa.trackers["c1"]["paused"] = True
    client.post("/desk/conversations/c1/handled", data={"csrf_token": token})
    assert rasa.trackers["c1"]["paused"] is False
    assert store.open_handoffs() == []
    assert {row["handled_by"] for row in store.for_conversation("c1")} == {"balie"}
    assert client.get("/desk/api/queue").get_json()["items"] == []
    actions = [e["action"] for e in desk["accounts"].audit_log()]
    assert actions[:3] == ["handled", "give_back", "open_conversation"]


def test_the_question_box_shows_the_answer_topic_and_source(desk):
    client = desk["client"]
    login(client, "balie")
    page = client.get("/desk/?q=is+bewegen+schadelijk%3F").get_data(as_text=True)
    assert desk["asked"] == ["is bewegen schadelijk?"]
    assert "Bewegen is goed voor uw rug." in page and "movement_harmful" in page and "KNGF-richtlijn" in page


def test_a_changed_password_ends_the_open_sessions(desk):
    client = desk["client"]
    login(client, "balie")
    assert client.get("/desk/").status_code == 200
    desk["accounts"].set_password("balie", "another-long-password")
    assert client.get("/desk/").status_code == 302


def test_an_admin_creates_and_switches_off_an_account(desk):
    client = desk["client"]
    login(client)
    token = csrf(client, "/desk/accounts")
    client.post("/desk/accounts", data={"action": "create", "name": "Nieuw", "password": "een-goed-wachtwoord",
                                         "role": "desk", "csrf_token": token})  # fmt: skip
    assert desk["accounts"].authenticate("nieuw", "een-goed-wachtwoord") is not None
    client.post("/desk/accounts", data={"action": "disable", "name": "nieuw", "csrf_token": token})
    assert desk["accounts"].authenticate("nieuw", "een-goed-wachtwoord") is None
    client.post("/desk/accounts", data={"action": "create", "name": "kort", "password": "kort", "role": "desk",
                                         "csrf_token": token})  # fmt: skip
    assert desk["accounts"].by_name("kort") is None
    assert "account_create" in [e["action"] for e in desk["accounts"].audit_log()]


def test_passwords_are_stored_as_argon2_hashes(desk):
    import sqlite3

    with sqlite3.connect(desk["accounts"].path) as connection:
        hashes = [row[0] for row in connection.execute("SELECT password_hash FROM users")]
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_the_console_sends_a_strict_content_security_policy(desk):
    response = desk["client"].get("/desk/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "HttpOnly" in login(desk["client"]).headers.get("Set-Cookie", "")


def test_the_queue_shows_when_a_patient_waits_for_staff(desk):
    desk["handoffs"].add(new_handoff("c1", "human", None, "ik wil iemand spreken"))
    tracker = web_tracker("c1", "ik wil iemand spreken")
    tracker["paused"] = True
    tracker["events"].append({"event": "bot", "text": "Ik bel u zo.", "metadata": {"staff": "balie"}})
    desk["rasa"].trackers["c1"] = tracker
    client = desk["client"]
    login(client, "balie")
    (item,) = client.get("/desk/api/queue").get_json()["items"]
    assert item["paused"] and not item["waiting"]
    tracker["events"].append({"event": "user", "text": "ok, wanneer?", "input_channel": "socketio"})
    (item,) = client.get("/desk/api/queue").get_json()["items"]
    assert item["waiting"]
    assert "patiënt wacht op u" in client.get("/desk/").get_data(as_text=True)


def test_only_an_admin_deletes_a_conversation_and_it_is_audited(desk, tmp_path):
    deleted = []
    desk["app"].extensions["desk_services"].delete_conversation = lambda cid: deleted.append(cid) or {"events": 3}
    desk["rasa"].trackers["c1"] = web_tracker("c1", "hallo")
    client = desk["client"]
    login(client, "balie")
    token = csrf(client, "/desk/conversations/c1")
    assert client.post("/desk/conversations/c1/delete", data={"csrf_token": token}).status_code == 403
    assert deleted == []
    client.post("/desk/logout", data={"csrf_token": token})
    login(client, "beheer")
    token = csrf(client, "/desk/conversations/c1")
    assert client.post("/desk/conversations/c1/delete", data={"csrf_token": token}).status_code == 302
    assert deleted == ["c1"]
    assert desk["accounts"].audit_log()[0]["action"] == "delete_conversation"
