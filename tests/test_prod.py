"""The production profile (`make prod`): two Rasa instances and action servers behind nginx, under supervisord.

Started once per test session (tests/conftest.py `production`) with its own ports, a temporary run
folder and throwaway PostgreSQL and Redis servers (tests/services.py), which the fault tests
restart and stop. Checks that concurrent conversations over the load balancer lose, duplicate or
reorder nothing; that a killed Rasa instance or action server is restarted while the others carry
on; and the faults: action servers killed mid-message or hanging (the patient gets the Dutch
"probeer het zo nog eens", nothing piles up), PostgreSQL restarted (nothing lost), Redis gone (a
clear 503, nothing stored), an instance stopped with messages in flight (each is answered), a
staff reply sent through either instance reaching the widget, and logs as JSON lines without
patient text. Without nginx, PostgreSQL or Redis binaries the tests say why and skip, except
under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import time
import urllib.request
from typing import Dict, List, Tuple

import pytest

pytestmark = pytest.mark.server

QUESTIONS = [
    "is bewegen schadelijk?",
    "moet ik een foto laten maken?",
    "hoe lang duurt rugpijn meestal?",
    "mag ik sporten met rugpijn?",
    "helpt warmte?",
]


def connect(profile, dbname: str):
    """A connection to the profile's PostgreSQL server."""
    import psycopg2

    db = profile.settings.database
    return psycopg2.connect(host=db["BACKBOT_DB_HOST"], port=int(db["BACKBOT_DB_PORT"]), user=db["BACKBOT_DB_USER"],
                            dbname=dbname, connect_timeout=5)  # fmt: skip


def tracker_user_texts(profile, sender: str) -> List[str]:
    url = f"{profile.url}/conversations/{sender}/tracker?token={profile.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [event["text"] for event in events if event["event"] == "user"]


async def converse(url: str, senders: List[str], turns: int) -> Dict[str, List[int]]:
    """Every sender asks `turns` questions one after the other, all senders at once; the HTTP statuses."""
    import aiohttp

    statuses: Dict[str, List[int]] = {sender: [] for sender in senders}

    async def one(session, sender: str) -> None:
        for turn in range(turns):
            body = {"sender": sender, "message": f"{QUESTIONS[turn % len(QUESTIONS)]} ({turn})"}
            async with session.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                answer = await response.json(content_type=None)
                statuses[sender].append(response.status if answer else 0)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(one(session, sender) for sender in senders))
    return statuses


def wait_until_refused(port: int, timeout_s: float = 15.0) -> None:
    """Waits until nothing listens on the port any more (a killed process is gone)."""
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(0.05)
        except ConnectionRefusedError:
            return
    raise AssertionError(f"port {port} still accepts connections after {timeout_s} s")


def expected(turns: int) -> List[str]:
    return [f"{QUESTIONS[turn % len(QUESTIONS)]} ({turn})" for turn in range(turns)]


def test_concurrent_conversations_over_the_load_balancer_lose_nothing(production):
    senders = [f"lb-{i}-{secrets.token_hex(3)}" for i in range(30)]
    statuses = asyncio.run(converse(production.url, senders, turns=5))
    assert all(codes == [200] * 5 for codes in statuses.values()), statuses
    for sender in senders:
        assert tracker_user_texts(production, sender) == expected(5), sender
    log = (production.run_dir / "nginx-access.log").read_text(encoding="utf-8")
    served = set(re.findall(r"127\.0\.0\.1:(54[16]\d)", log))
    assert {"5410", "5411"} <= served and {"5460", "5461"} <= served, served
    assert "bewegen" not in log  # no patient text in the access log


def test_a_killed_rasa_instance_is_restarted_and_the_other_carries_on(production):
    senders = [f"kill-{i}-{secrets.token_hex(3)}" for i in range(6)]
    asyncio.run(converse(production.url, senders, turns=2))
    old = production.pid("rasa-1")
    os.kill(old, signal.SIGKILL)
    began = time.monotonic()
    # Requests that reach a process while the kernel tears it down fail (502) and are the
    # client's or platform's to retry; once its port refuses connections nginx skips it.
    wait_until_refused(production.settings.rasa_ports[0])
    # The conversations go on at once on the other instance (nginx tries the next one).
    statuses = asyncio.run(converse(production.url, senders, turns=1))
    assert all(codes == [200] for codes in statuses.values()), statuses
    production.wait_ready(timeout_s=120, names=["rasa-1"])
    restarted_in = time.monotonic() - began
    assert production.pid("rasa-1") not in (0, old)
    for sender in senders:
        assert tracker_user_texts(production, sender) == expected(2) + [f"{QUESTIONS[0]} (0)"], sender
    print(f"rasa-1 restarted and ready after {restarted_in:.1f} s")


def test_a_killed_action_server_is_restarted_and_answers_go_on(production):
    old = production.pid("actions-1")
    os.kill(old, signal.SIGKILL)
    wait_until_refused(production.settings.actions_ports[0])
    senders = [f"act-{i}-{secrets.token_hex(3)}" for i in range(6)]
    statuses = asyncio.run(converse(production.url, senders, turns=2))
    assert all(codes == [200, 200] for codes in statuses.values()), statuses
    production.wait_ready(timeout_s=60, names=["actions-1"])
    assert production.pid("actions-1") not in (0, old)
    for sender in senders:
        assert tracker_user_texts(production, sender) == expected(2), sender


def test_conversations_are_in_postgresql_not_in_memory(production):
    sender = f"pg-{secrets.token_hex(3)}"
    asyncio.run(converse(production.url, [sender], turns=1))
    with connect(production, production.settings.database["BACKBOT_DB_NAME"]) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events WHERE sender_id = %s AND type_name = 'user'", (sender,))
            assert cursor.fetchone()[0] == 1
    for log in production.run_dir.glob("rasa-*.log"):
        assert "InMemoryTrackerStore" not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_dropped_database_connections_lose_nothing(production):
    """What the instances see when PostgreSQL restarts: every connection is cut."""
    senders = [f"pgcut-{i}-{secrets.token_hex(3)}" for i in range(6)]
    asyncio.run(converse(production.url, senders, turns=1))
    name = production.settings.database["BACKBOT_DB_NAME"]
    with connect(production, "postgres") as admin, admin.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (name,))
        assert cursor.fetchone()[0] >= 1  # the instances' pooled connections were there, and are cut
    statuses = asyncio.run(converse(production.url, senders, turns=2))
    assert all(codes == [200, 200] for codes in statuses.values()), statuses
    with connect(production, name) as connection, connection.cursor() as cursor:
        for sender in senders:
            cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
            texts = [json.loads(row[0])["text"] for row in cursor.fetchall()]
            assert texts == expected(1) + expected(2), (sender, texts)
    for log in production.run_dir.glob("rasa-*.log"):
        assert "InMemoryTrackerStore" not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_health_and_the_staff_console_through_nginx(production):
    with urllib.request.urlopen(f"{production.url}/healthz", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{production.url}/desk/login", timeout=10) as response:
        assert "Inloggen" in response.read().decode("utf-8")
    status = production.ctl("status")
    assert status.count("RUNNING") == 6, status


# --- Faults. The profile runs on throwaway PostgreSQL and Redis servers (tests/services.py) that
# these tests restart and stop; the action timeout is BACKBOT_ACTION_TIMEOUT (PROD_ACTION_TIMEOUT s).
def unavailable_text() -> str:
    from actions.knowledge import load_messages

    from .conftest import KNOWLEDGE_DIR

    return load_messages(KNOWLEDGE_DIR / "messages.yml")["service_unavailable"]


async def ask_many(url: str, questions: Dict[str, str]) -> Dict[str, Tuple[int, List[str], float]]:
    """Sends one message per sender, all at once: the status, the reply texts and the seconds taken."""
    import aiohttp

    async def one(session, sender: str, text: str) -> Tuple[int, List[str], float]:
        began = time.monotonic()
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
            answer = await response.json(content_type=None)
            texts = [message.get("text", "") for message in answer] if isinstance(answer, list) else []
            return response.status, texts, time.monotonic() - began

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        results = await asyncio.gather(*(one(session, sender, text) for sender, text in questions.items()))
    return dict(zip(questions, results, strict=False))


def signal_all(profile, prefix: str, sig: int) -> List[int]:
    """Sends a signal to every program whose name starts with the prefix; their process ids."""
    pids = [profile.pid(f"{prefix}-{i + 1}") for i in range(profile.settings.instances)]
    for pid in pids:
        os.kill(pid, sig)
    return pids


def test_killed_action_servers_the_patient_is_asked_to_try_again_and_the_conversation_goes_on(production):
    sender = f"actkill-{secrets.token_hex(3)}"
    first = asyncio.run(ask_many(production.url, {sender: expected(1)[0]}))[sender]
    assert first[0] == 200 and first[1] and unavailable_text() not in first[1]
    # Both action servers hang, the patient's next message reaches one of them, then both die.
    old = signal_all(production, "actions", signal.SIGSTOP)
    try:
        task = ask_many(production.url, {sender: expected(2)[1]})
        loop = asyncio.new_event_loop()
        pending = loop.create_task(task)
        loop.run_until_complete(asyncio.sleep(1.0))
    finally:
        for pid in old:
            os.kill(pid, signal.SIGKILL)
    status, texts, _ = loop.run_until_complete(pending)[sender]
    loop.close()
    assert status == 200 and texts == [unavailable_text()], texts
    # supervisord starts them again, and the same conversation goes on with real answers.
    production.wait_ready(timeout_s=90, names=[f"actions-{i + 1}" for i in range(production.settings.instances)])
    assert all(production.pid(f"actions-{i + 1}") not in (0, *old) for i in range(production.settings.instances))
    status, texts, _ = asyncio.run(ask_many(production.url, {sender: expected(3)[2]}))[sender]
    assert status == 200 and texts and unavailable_text() not in texts, texts
    assert tracker_user_texts(production, sender) == expected(3)


def test_a_hanging_action_server_is_given_up_after_the_timeout_without_a_pile_up(production):
    senders = {f"slow-{i}-{secrets.token_hex(3)}": QUESTIONS[i % len(QUESTIONS)] for i in range(20)}
    stopped = signal_all(production, "actions", signal.SIGSTOP)
    try:
        results = asyncio.run(ask_many(production.url, senders))
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    timeout = production.settings.action_timeout_s
    for sender, (status, texts, seconds) in results.items():
        assert status == 200 and texts == [unavailable_text()], (sender, texts)
        # Twenty patients at once wait one timeout, not twenty in a row.
        assert seconds < timeout + 5, (sender, seconds)
    # Once the action servers answer again, so does the assistant, at once.
    again = asyncio.run(ask_many(production.url, {sender: f"{text} (2)" for sender, text in senders.items()}))
    for sender, (status, texts, seconds) in again.items():
        assert status == 200 and texts and unavailable_text() not in texts, (sender, texts)
        assert seconds < 10, (sender, seconds)
    for sender, text in senders.items():
        assert tracker_user_texts(production, sender) == [text, f"{text} (2)"]


def test_a_postgresql_restart_loses_no_message(production):
    postgres = production.services["postgres"]
    senders = [f"pgrestart-{i}-{secrets.token_hex(3)}" for i in range(8)]

    async def scenario() -> Dict[str, List[int]]:
        talking = asyncio.ensure_future(converse(production.url, senders, turns=6))
        await asyncio.sleep(1.5)
        began = time.monotonic()
        await asyncio.to_thread(postgres.restart)
        print(f"PostgreSQL restarted in {time.monotonic() - began:.1f} s")
        return await talking

    statuses = asyncio.run(scenario())
    assert all(codes == [200] * 6 for codes in statuses.values()), statuses
    name = production.settings.database["BACKBOT_DB_NAME"]
    with connect(production, name) as connection, connection.cursor() as cursor:
        for sender in senders:
            cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
            assert [json.loads(row[0])["text"] for row in cursor.fetchall()] == expected(6), sender
    for log in production.run_dir.glob("rasa-*.log"):
        assert "InMemoryTrackerStore" not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_without_redis_messages_are_refused_clearly_and_nothing_is_stored(production):
    redis = production.services["redis"]
    sender = f"redis-{secrets.token_hex(3)}"
    asyncio.run(converse(production.url, [sender], turns=1))
    redis.stop()
    try:
        status, texts, seconds = asyncio.run(ask_many(production.url, {sender: "mag ik fietsen?"}))[sender]
    finally:
        redis.start()
    # A clear error: 503 with the Dutch reply, and an operator's log line naming the lock store.
    assert status == 503 and texts == [unavailable_text()], (status, texts)
    assert seconds < 15
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in production.run_dir.glob("rasa-*.log"))
    assert f"A message of conversation {sender} was not handled (LockError" in logs
    assert "mag ik fietsen" not in logs
    # Nothing of the refused message was stored; with Redis back the conversation goes on.
    assert tracker_user_texts(production, sender) == expected(1)
    status, texts, _ = asyncio.run(ask_many(production.url, {sender: expected(2)[1]}))[sender]
    assert status == 200 and texts and unavailable_text() not in texts
    assert tracker_user_texts(production, sender) == expected(2)


def test_a_stopped_rasa_instance_finishes_the_messages_in_flight(production):
    """SIGTERM (what supervisord sends on stop) while messages wait for their answer: each is answered and stored."""
    port = production.settings.rasa_ports[0]
    senders = {f"graceful-{i}-{secrets.token_hex(3)}": QUESTIONS[i % len(QUESTIONS)] for i in range(6)}
    stopped = signal_all(production, "actions", signal.SIGSTOP)
    old = production.pid("rasa-1")
    try:
        loop = asyncio.new_event_loop()
        pending = loop.create_task(ask_many(f"http://127.0.0.1:{port}", senders))  # straight to rasa-1
        loop.run_until_complete(asyncio.sleep(1.0))  # the messages wait inside rasa-1 for their actions
        os.kill(old, signal.SIGTERM)
        loop.run_until_complete(asyncio.sleep(1.0))
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    results = loop.run_until_complete(pending)
    loop.close()
    for sender, (status, texts, _) in results.items():
        assert status == 200 and texts and unavailable_text() not in texts, (sender, status, texts)
    production.wait_ready(timeout_s=120, names=["rasa-1"])  # supervisord started it again
    assert production.pid("rasa-1") not in (0, old)
    for sender, text in senders.items():
        assert tracker_user_texts(production, sender) == [text]


def test_no_patient_text_and_no_secret_in_any_log(production):
    texts = [question.split("?")[0] for question in QUESTIONS] + ["mag ik fietsen"]
    for log in production.run_dir.glob("*.log"):
        content = log.read_text(encoding="utf-8", errors="replace")
        assert not [text for text in texts if text in content], log.name
        assert production.action_token not in content and production.token not in content, log.name


def test_a_staff_reply_reaches_the_widget_whichever_instance_sends_it(production):
    """The widget stays on one instance; messages sent through either instance's HTTP API reach it (Redis rooms)."""
    from types import SimpleNamespace

    from .test_socketio import Widget

    session_id = secrets.token_hex(16)
    site = SimpleNamespace(chat_url=production.url, web_origins=[production.settings.public_url])
    widget = Widget(site, session_id)

    async def scenario() -> List[str]:
        import aiohttp

        await widget.open("polling")
        try:
            assert await widget.say(QUESTIONS[0])
            async with aiohttp.ClientSession() as session:
                for number, port in enumerate(production.settings.rasa_ports, start=1):
                    event = {"event": "bot", "text": f"Bericht van een medewerker via instantie {number}"}
                    url = f"http://127.0.0.1:{port}/conversations/{session_id}/tracker/events"
                    params = {"token": production.token, "output_channel": "latest", "execute_side_effects": "true"}
                    async with session.post(url, params=params, json=[event]) as response:
                        assert response.status == 200, await response.text()
            received = []
            while len(received) < len(production.settings.rasa_ports):
                received.append((await asyncio.wait_for(widget.replies.get(), 10)).get("text", ""))
            return received
        finally:
            await widget.close()

    received = asyncio.run(scenario())
    assert sorted(received) == [f"Bericht van een medewerker via instantie {n}" for n in (1, 2)], received


def test_every_process_logs_json_lines_with_its_name(production):
    names = set()
    for log in production.run_dir.glob("*-[0-9].log"):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                assert {"time", "level", "logger", "message", "process"} <= set(record), line
                names.add(record["process"])
    assert {"rasa-1", "rasa-2", "actions-1", "actions-2"} <= names, names


def test_short_load_test_over_the_load_balancer(production):
    """`make loadtest` in small: 100 conversations of 3 turns at once, every tracker exact in PostgreSQL."""
    from loadtest import check_trackers, percentile, run_load

    prefix = f"short{secrets.token_hex(3)}"
    latencies, failures, wall = asyncio.run(run_load(production.url, 100, 3, prefix=prefix))
    counts = check_trackers(production.settings.database, 100, 3, prefix=prefix)
    print(f"short load test: {len(latencies)} messages, p50 {percentile(latencies, 50):.0f} ms, "
          f"p95 {percentile(latencies, 95):.0f} ms, {len(latencies) / wall:.1f} msg/s, {counts}")  # fmt: skip
    assert failures == 0
    assert counts == {"lost": 0, "duplicated": 0, "reordered": 0, "wrong_conversations": 0}


def test_without_redis_the_website_patient_still_gets_the_dutch_reply(production):
    """socket.io: the lock store refuses the message, and the reply reaches the widget from its own instance."""
    from types import SimpleNamespace

    from .test_socketio import Widget

    redis = production.services["redis"]
    session_id = secrets.token_hex(16)
    widget = Widget(SimpleNamespace(chat_url=production.url, web_origins=[production.settings.public_url]), session_id)

    async def scenario() -> List[List[str]]:
        await widget.open("polling")
        try:
            first = await widget.say(QUESTIONS[0])
            redis.stop()
            try:
                refused = await widget.say("mag ik fietsen?")
            finally:
                redis.start()
            return [first, refused, await widget.say(QUESTIONS[1])]
        finally:
            await widget.close()

    first, refused, after = asyncio.run(scenario())
    assert first and unavailable_text() not in first
    assert refused == [unavailable_text()]
    assert after and unavailable_text() not in after  # Redis back: the conversation goes on
    url = f"{production.url}/conversations/{session_id}/tracker?token={production.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        texts = [e["text"] for e in json.loads(response.read())["events"] if e["event"] == "user"]
    assert texts == [QUESTIONS[0], QUESTIONS[1]]
