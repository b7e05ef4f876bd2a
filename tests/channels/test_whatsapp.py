"""The WhatsApp Cloud API channel against a fake Graph API on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from rasa.shared.exceptions import RasaException

from channels.choices import button_id
from channels.texts import unsupported_message, with_numbered_choices
from channels.whatsapp import GraphApi, WhatsAppInput
from tests.channels.servers import FakeApi, Recorder, StubTrackerStore, serve_channel

TOKEN = "test-access-token"
PHONE_ID = "1234567890"
SECRET = "test-app-secret"
VERIFY = "test-verify-token"
PATIENT = "31612345678"
WEBHOOK = "/webhooks/whatsapp/webhook"
MESSAGES_PATH = f"/v21.0/{PHONE_ID}/messages"


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    monkeypatch.setattr(GraphApi, "retry_delay_seconds", 0)


@pytest.fixture
async def graph():
    async with FakeApi(default=(200, {"messages": [{"id": "wamid.out"}]})) as fake:
        yield fake


def make_channel(graph: FakeApi) -> WhatsAppInput:
    return WhatsAppInput(TOKEN, PHONE_ID, SECRET, VERIFY, api_url=graph.url)


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(*messages: Dict[str, Any], statuses: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "31201234567", "phone_number_id": PHONE_ID},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Patient"}, "wa_id": PATIENT}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA_ID", "changes": [{"value": value, "field": "messages"}]}],
    }


def text_message(text: str, message_id: str = "wamid.1") -> Dict[str, Any]:
    return {"from": PATIENT, "id": message_id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}


async def post(base: str, payload: Any, *, sign: Optional[str] = "right", raw: Optional[bytes] = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if sign == "right":
        headers["X-Hub-Signature-256"] = signature(body)
    elif sign is not None:
        headers["X-Hub-Signature-256"] = sign
    async with aiohttp.ClientSession() as session:
        async with session.post(base + WEBHOOK, data=body, headers=headers) as answer:
            return answer.status, await answer.text()


def sent(graph: FakeApi) -> List[Dict[str, Any]]:
    return [request.json() for request in graph.requests]


# --- Verification handshake ---


async def test_verification_with_the_right_token_answers_the_challenge(graph):
    async with serve_channel(make_channel(graph), Recorder()) as base:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
        async with aiohttp.ClientSession() as session:
            async with session.get(base + WEBHOOK, params=query) as answer:
                assert answer.status == 200
                assert await answer.text() == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
    ],
)
async def test_verification_with_a_wrong_token_or_mode_is_refused(graph, query):
    async with serve_channel(make_channel(graph), Recorder()) as base:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + WEBHOOK, params=query) as answer:
                assert answer.status == 403
                assert "1" not in await answer.text()


# --- Signed messages ---


async def test_signed_text_message_reaches_rasa_and_the_reply_reaches_the_graph_api(graph):
    recorder = Recorder([{"text": "Dag! Dit is **belangrijk**."}])
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(text_message("Ik heb rugpijn", "wamid.abc")))
    assert status == 200
    assert [(m.text, m.sender_id, m.message_id, m.input_channel) for m in recorder.messages] == [
        ("Ik heb rugpijn", PATIENT, "wamid.abc", "whatsapp")
    ]
    assert len(graph.requests) == 1
    request = graph.requests[0]
    assert request.method == "POST"
    assert request.path == MESSAGES_PATH
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PATIENT,
        "type": "text",
        "text": {"preview_url": False, "body": "Dag! Dit is *belangrijk*."},
    }


@pytest.mark.parametrize("sign", [None, "sha256=" + "0" * 64, "wrong", signature(b"another body")])
async def test_missing_or_wrong_signature_is_refused_and_nothing_is_processed(graph, sign):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(text_message("Ik heb rugpijn")), sign=sign)
    assert status == 403
    assert recorder.messages == []
    assert graph.requests == []


async def test_signature_with_another_secret_is_refused(graph):
    recorder = Recorder([{"text": "antwoord"}])
    body = json.dumps(webhook_body(text_message("hallo"))).encode()
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, None, raw=body, sign=signature(body, "other-secret"))
    assert status == 403
    assert recorder.messages == [] and graph.requests == []


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        json.dumps({"object": "page", "entry": []}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": "x"}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": 3}]}]}).encode(),
        json.dumps(webhook_body({"type": "text", "text": {"body": "no id, no sender"}})).encode(),
    ],
)
async def test_signed_but_malformed_body_is_a_400(graph, raw):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, None, raw=raw)
    assert status == 400
    assert recorder.messages == [] and graph.requests == []


async def test_status_callback_is_accepted_and_ignored(graph):
    recorder = Recorder([{"text": "antwoord"}])
    statuses = [{"id": "wamid.out", "status": "delivered", "timestamp": "1700000001", "recipient_id": PATIENT}]
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(statuses=statuses))
    assert status == 200
    assert recorder.messages == [] and graph.requests == []


async def test_the_same_message_delivered_twice_is_processed_once(graph):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(graph), recorder) as base:
        first = await post(base, webhook_body(text_message("hallo", "wamid.same")))
        second = await post(base, webhook_body(text_message("hallo", "wamid.same")))
        third = await post(base, webhook_body(text_message("hallo", "wamid.other")))
    assert (first[0], second[0], third[0]) == (200, 200, 200)
    assert [m.message_id for m in recorder.messages] == ["wamid.same", "wamid.other"]
    assert len(graph.requests) == 2


async def test_message_to_another_phone_number_is_skipped(graph):
    recorder = Recorder([{"text": "antwoord"}])
    body = webhook_body(text_message("hallo"))
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, body)
    assert status == 200
    assert recorder.messages == [] and graph.requests == []


@pytest.mark.parametrize(
    "message",
    [
        {"type": "image", "image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "x"}},
        {"type": "audio", "audio": {"id": "media-2", "mime_type": "audio/ogg"}},
        {"type": "sticker", "sticker": {"id": "media-3"}},
        {"type": "location", "location": {"latitude": 52.1, "longitude": 5.1}},
        {"type": "text", "text": {"body": "   "}},
    ],
)
async def test_anything_but_text_gets_the_unsupported_reply(graph, message):
    recorder = Recorder([{"text": "antwoord"}])
    message = {"from": PATIENT, "id": "wamid.media", "timestamp": "1700000000", **message}
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(message))
    assert status == 200
    assert recorder.messages == []
    assert [(r["to"], r["type"], r["text"]["body"]) for r in sent(graph)] == [(PATIENT, "text", unsupported_message())]


async def test_a_reaction_is_ignored_without_a_reply(graph):
    recorder = Recorder([{"text": "antwoord"}])
    message = {"from": PATIENT, "id": "wamid.r", "type": "reaction", "reaction": {"message_id": "x", "emoji": "👍"}}
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(message))
    assert status == 200
    assert recorder.messages == [] and graph.requests == []


# --- Replies with buttons, and the patient's choice ---

LONG_PAYLOAD = '/choose{"answer_id": "' + "x" * 300 + '"}'


async def test_two_short_buttons_become_an_interactive_message_with_ids(graph):
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee, dank u", "payload": LONG_PAYLOAD}]
    recorder = Recorder([{"text": "Wilt u de **check** doen?", "buttons": buttons}])
    async with serve_channel(make_channel(graph), recorder) as base:
        await post(base, webhook_body(text_message("hallo")))
    assert sent(graph) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": PATIENT,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Wilt u de *check* doen?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "/affirm", "title": "Ja"}},
                        {"type": "reply", "reply": {"id": button_id(LONG_PAYLOAD, 256), "title": "Nee, dank u"}},
                    ]
                },
            },
        }
    ]
    assert button_id(LONG_PAYLOAD, 256).startswith("b:")


@pytest.mark.parametrize(
    "buttons",
    [
        [{"title": f"Keuze {n}", "payload": f"/choice{n}"} for n in range(1, 5)],
        [{"title": "Ja", "payload": "/affirm"}, {"title": "Een titel die te lang is", "payload": "/long"}],
    ],
    ids=["four buttons", "long title"],
)
async def test_more_buttons_or_a_long_title_become_a_numbered_list(graph, buttons):
    recorder = Recorder([{"text": "Waar gaat het over?", "buttons": buttons}])
    async with serve_channel(make_channel(graph), recorder) as base:
        await post(base, webhook_body(text_message("hallo")))
    bodies = sent(graph)
    assert [body["type"] for body in bodies] == ["text"]
    text = bodies[0]["text"]["body"]
    assert text == with_numbered_choices("Waar gaat het over?", buttons)
    assert f"2. {buttons[1]['title']}" in text


async def test_a_typed_number_is_resolved_to_the_payload_of_that_choice(graph):
    buttons = [{"title": f"Keuze {n}", "payload": f"/choice{n}"} for n in range(1, 5)]
    agent = SimpleNamespace(tracker_store=StubTrackerStore(buttons))
    recorder = Recorder()
    async with serve_channel(make_channel(graph), recorder, agent=agent) as base:
        await post(base, webhook_body(text_message("2", "wamid.n")))
        await post(base, webhook_body(text_message("7", "wamid.out-of-range")))
    assert [m.text for m in recorder.messages] == ["/choice2", "7"]


async def test_a_reply_button_with_a_hashed_id_is_resolved_to_its_payload(graph):
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": LONG_PAYLOAD}]
    agent = SimpleNamespace(tracker_store=StubTrackerStore(buttons))
    recorder = Recorder()
    reply = {
        "from": PATIENT,
        "id": "wamid.button",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id(LONG_PAYLOAD, 256), "title": "Nee"}},
    }
    listed = {
        "from": PATIENT,
        "id": "wamid.list",
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "/affirm", "title": "Ja"}},
    }
    template = {"from": PATIENT, "id": "wamid.tpl", "type": "button", "button": {"payload": "/stop", "text": "Stop"}}
    async with serve_channel(make_channel(graph), recorder, agent=agent) as base:
        status, _ = await post(base, webhook_body(reply, listed, template))
    assert status == 200
    assert [m.text for m in recorder.messages] == [LONG_PAYLOAD, "/affirm", "/stop"]


# --- Long texts ---


def long_text(characters: int) -> str:
    sentence = "Bewegen helpt bij de meeste rugpijn, ook als het in het begin wat pijn doet. "
    return (sentence * (characters // len(sentence) + 1))[:characters].strip()


async def test_a_9000_character_text_is_sent_in_parts_under_4096(graph):
    text = long_text(9000)
    recorder = Recorder([{"text": text}])
    async with serve_channel(make_channel(graph), recorder) as base:
        await post(base, webhook_body(text_message("vertel")))
    parts = [body["text"]["body"] for body in sent(graph)]
    assert len(parts) >= 3
    assert all(0 < len(part) < 4096 for part in parts)
    assert " ".join(parts).split() == text.split()


async def test_a_long_text_with_buttons_sends_the_lead_as_text_and_a_short_button_body(graph):
    text = long_text(2500)
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
    recorder = Recorder([{"text": text, "buttons": buttons}])
    async with serve_channel(make_channel(graph), recorder) as base:
        await post(base, webhook_body(text_message("vertel")))
    bodies = sent(graph)
    assert [body["type"] for body in bodies] == ["text", "interactive"]
    lead, body = bodies[0]["text"]["body"], bodies[1]["interactive"]["body"]["text"]
    assert len(body) <= 1024 and len(lead) < 4096
    assert (lead + " " + body).split() == text.split()


# --- Graph API errors ---


async def test_a_server_error_is_retried_once(graph, caplog):
    graph.responses = [(500, {"error": {"message": "Service unavailable", "code": 2}})]
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(graph), recorder) as base:
        status, _ = await post(base, webhook_body(text_message("hallo")))
    assert status == 200
    assert len(graph.requests) == 2
    assert graph.requests[0].json() == graph.requests[1].json()
    assert "HTTP 500, error 2: Service unavailable" in caplog.text


async def test_a_refused_message_is_logged_not_retried_and_the_webhook_still_answers_200(graph, caplog):
    graph.default = (400, {"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100}})
    recorder = Recorder([{"text": "geheime tekst van de patiënt"}])
    with caplog.at_level(logging.INFO):
        async with serve_channel(make_channel(graph), recorder) as base:
            status, _ = await post(base, webhook_body(text_message("mijn klacht", "wamid.err")))
    assert status == 200
    assert len(graph.requests) == 1
    assert "HTTP 400, error 100: Invalid parameter" in caplog.text
    assert "wamid.err" in caplog.text
    assert "mijn klacht" not in caplog.text and "geheime tekst" not in caplog.text
    assert TOKEN not in caplog.text


async def test_a_failing_handler_is_logged_with_the_message_id_and_answers_200(graph, caplog):
    async def broken(message):
        raise RuntimeError("agent down")

    async with serve_channel(make_channel(graph), broken) as base:
        status, _ = await post(base, webhook_body(text_message("hallo", "wamid.broken")))
    assert status == 200
    assert any("wamid.broken" in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)


async def test_rate_limit_twice_gives_up_after_one_retry(graph):
    graph.default = (429, {"error": {"message": "Too many", "code": 130429}})
    output = make_channel(graph).get_output_channel()
    await output.send_text_message(PATIENT, "hallo")
    await output.graph.close()
    assert len(graph.requests) == 2


async def test_an_unreachable_graph_api_does_not_raise(graph):
    channel = WhatsAppInput(TOKEN, PHONE_ID, SECRET, VERIFY, api_url="http://127.0.0.1:9")
    assert await channel.graph.send({"type": "text"}) is False
    await channel.graph.close()


async def test_the_session_is_closed_when_the_server_stops(graph):
    channel = make_channel(graph)
    async with serve_channel(channel, Recorder([{"text": "antwoord"}])) as base:
        await post(base, webhook_body(text_message("hallo")))
        session = channel.graph._session
        assert session is not None and not session.closed
    assert session.closed


# --- Credentials ---


def test_from_credentials_reads_all_settings():
    channel = WhatsAppInput.from_credentials(
        {
            "access_token": TOKEN,
            "phone_number_id": PHONE_ID,
            "app_secret": SECRET,
            "verify_token": VERIFY,
            "api_version": "v22.0",
        }
    )
    assert channel.graph.messages_url == f"https://graph.facebook.com/v22.0/{PHONE_ID}/messages"


@pytest.mark.parametrize(
    "key,variable", [("app_secret", "WHATSAPP_APP_SECRET"), ("access_token", "WHATSAPP_ACCESS_TOKEN")]
)
def test_a_missing_credential_names_its_environment_variable(key, variable):
    credentials = {"access_token": TOKEN, "phone_number_id": PHONE_ID, "app_secret": SECRET, "verify_token": VERIFY}
    credentials[key] = ""
    with pytest.raises(RasaException, match=variable):
        WhatsAppInput.from_credentials(credentials)
    with pytest.raises(RasaException):
        WhatsAppInput.from_credentials(None)
