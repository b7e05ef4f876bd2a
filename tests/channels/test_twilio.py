"""The signed Twilio channel against a fake Twilio API on 127.0.0.1 (no internet)."""

from __future__ import annotations

import base64
import logging
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from rasa.shared.exceptions import RasaException
from twilio.request_validator import RequestValidator

from channels.texts import unsupported_message, with_numbered_choices
from channels.twilio import SignedTwilioInput, TwilioSender
from tests.channels.servers import FakeApi, Recorder, StubTrackerStore, serve_channel

ACCOUNT = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
NUMBER = "whatsapp:+14155238886"
PATIENT = "whatsapp:+31612345678"
WEBHOOK = "/webhooks/twilio/webhook"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
PUBLIC_URL = "https://bot.example.org/webhooks/twilio/webhook"


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    monkeypatch.setattr(TwilioSender, "retry_delay_seconds", 0)


@pytest.fixture
async def twilio_api():
    async with FakeApi(default=(201, {"sid": "SM" + "1" * 32, "status": "queued"})) as fake:
        yield fake


def make_channel(api: FakeApi, webhook_url: Optional[str] = None) -> SignedTwilioInput:
    return SignedTwilioInput(ACCOUNT, AUTH_TOKEN, NUMBER, webhook_url=webhook_url, api_url=api.url)


def form(body: str = "Ik heb rugpijn", sid: str = "SM" + "a" * 32, **extra: str) -> Dict[str, str]:
    fields = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": PATIENT,
        "To": NUMBER,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Patiënt",
    }
    fields.update(extra)
    return fields


async def post(url: str, fields: Dict[str, str], signature: Optional[str] = "right", signed_url: str = ""):
    headers = {}
    if signature == "right":
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(signed_url or url, fields)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=fields, headers=headers) as answer:
            return answer.status, await answer.text()


def sent(api: FakeApi) -> List[Dict[str, Any]]:
    return [{key: values[0] for key, values in request.form().items()} for request in api.requests]


async def test_a_signed_message_reaches_rasa_and_the_reply_reaches_twilio(twilio_api):
    recorder = Recorder([{"text": "Dag! Dit is **belangrijk**."}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        status, _ = await post(base + WEBHOOK, form())
    assert status == 204
    assert [(m.text, m.sender_id, m.message_id, m.input_channel) for m in recorder.messages] == [
        ("Ik heb rugpijn", PATIENT, "SM" + "a" * 32, "twilio")
    ]
    assert len(twilio_api.requests) == 1
    request = twilio_api.requests[0]
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
    assert sent(twilio_api) == [{"To": PATIENT, "From": NUMBER, "Body": "Dag! Dit is *belangrijk*."}]


@pytest.mark.parametrize("signature", [None, "", "d3Jvbmcgc2lnbmF0dXJl", "other"])
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_processed(twilio_api, signature):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        if signature == "other":  # signed with another account's token
            signature = RequestValidator("another-token").compute_signature(base + WEBHOOK, form())
        status, _ = await post(base + WEBHOOK, form(), signature=signature)
    assert status == 403
    assert recorder.messages == [] and twilio_api.requests == []


async def test_a_signature_over_other_fields_is_refused(twilio_api):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(base + WEBHOOK, form("iets anders"))
        status, _ = await post(base + WEBHOOK, form("Ik heb rugpijn"), signature=signature)
    assert status == 403
    assert recorder.messages == [] and twilio_api.requests == []


async def test_behind_a_proxy_the_public_webhook_url_is_what_twilio_signed(twilio_api):
    recorder = Recorder()
    async with serve_channel(make_channel(twilio_api, webhook_url=PUBLIC_URL), recorder) as base:
        accepted, _ = await post(base + WEBHOOK, form(sid="SM1"), signed_url=PUBLIC_URL)
        refused, _ = await post(base + WEBHOOK, form(sid="SM2"))  # signed over the internal URL
    assert (accepted, refused) == (204, 403)
    assert [m.message_id for m in recorder.messages] == ["SM1"]


async def test_without_a_sender_the_request_is_a_400(twilio_api):
    recorder = Recorder([{"text": "antwoord"}])
    fields = form()
    del fields["From"]
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        status, _ = await post(base + WEBHOOK, fields)
    assert status == 400
    assert recorder.messages == [] and twilio_api.requests == []


async def test_buttons_are_always_a_numbered_list(twilio_api):
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
    recorder = Recorder([{"text": "Wilt u de check doen?", "buttons": buttons}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        await post(base + WEBHOOK, form())
    bodies = [message["Body"] for message in sent(twilio_api)]
    assert bodies == [with_numbered_choices("Wilt u de check doen?", buttons)]
    assert "2. Nee" in bodies[0]


async def test_a_typed_number_is_resolved_to_the_payload_of_that_choice(twilio_api):
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
    agent = SimpleNamespace(tracker_store=StubTrackerStore(buttons))
    recorder = Recorder()
    async with serve_channel(make_channel(twilio_api), recorder, agent=agent) as base:
        await post(base + WEBHOOK, form("2"))
        await post(base + WEBHOOK, form("hallo"))
    assert [m.text for m in recorder.messages] == ["/deny", "hallo"]


async def test_a_long_text_is_sent_in_parts_of_at_most_1600(twilio_api):
    sentence = "Bewegen helpt bij de meeste rugpijn, ook als het in het begin wat pijn doet. "
    text = (sentence * 60).strip()
    recorder = Recorder([{"text": text}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        await post(base + WEBHOOK, form())
    parts = [message["Body"] for message in sent(twilio_api)]
    assert len(parts) >= 3
    assert all(0 < len(part) <= 1600 for part in parts)
    assert " ".join(parts).split() == text.split()


@pytest.mark.parametrize(
    "extra",
    [
        {"Body": "", "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/1", "MediaContentType0": "image/jpeg"},
        {"Body": "", "Latitude": "52.1", "Longitude": "5.1"},
        {"Body": ""},
    ],
    ids=["photo", "location", "empty"],
)
async def test_anything_but_text_gets_the_unsupported_reply(twilio_api, extra):
    recorder = Recorder([{"text": "antwoord"}])
    async with serve_channel(make_channel(twilio_api), recorder) as base:
        status, _ = await post(base + WEBHOOK, form(**extra))
    assert status == 204
    assert recorder.messages == []
    assert sent(twilio_api) == [{"To": PATIENT, "From": NUMBER, "Body": unsupported_message()}]


async def test_a_twilio_error_is_logged_and_retried_once_on_5xx(twilio_api, caplog):
    twilio_api.responses = [(503, {"code": 20503, "message": "Service unavailable", "status": 503})]
    recorder = Recorder([{"text": "geheime tekst"}])
    with caplog.at_level(logging.INFO):
        async with serve_channel(make_channel(twilio_api), recorder) as base:
            status, _ = await post(base + WEBHOOK, form("mijn klacht"))
    assert status == 204
    assert len(twilio_api.requests) == 2
    assert "HTTP 503, error 20503" in caplog.text and "Service unavailable" in caplog.text
    assert "mijn klacht" not in caplog.text and "geheime tekst" not in caplog.text and AUTH_TOKEN not in caplog.text


async def test_a_refused_message_is_not_retried(twilio_api, caplog):
    twilio_api.default = (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    output = make_channel(twilio_api).get_output_channel()
    await output.send_text_message(PATIENT, "hallo")
    await output.sender.close()
    assert len(twilio_api.requests) == 1
    assert "error 21211" in caplog.text


async def test_a_failing_handler_is_logged_with_the_message_sid(twilio_api, caplog):
    async def broken(message):
        raise RuntimeError("agent down")

    async with serve_channel(make_channel(twilio_api), broken) as base:
        status, _ = await post(base + WEBHOOK, form(sid="SMbroken"))
    assert status == 204
    assert any("SMbroken" in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)


async def test_the_session_is_closed_when_the_server_stops(twilio_api):
    channel = make_channel(twilio_api)
    async with serve_channel(channel, Recorder([{"text": "antwoord"}])) as base:
        await post(base + WEBHOOK, form())
        session = channel.sender._http.session
        assert not session.closed
    assert session.closed


def test_a_missing_credential_names_its_environment_variable():
    with pytest.raises(RasaException, match="TWILIO_AUTH_TOKEN"):
        SignedTwilioInput.from_credentials({"account_sid": ACCOUNT, "auth_token": "", "twilio_number": NUMBER})
    channel = SignedTwilioInput.from_credentials(
        {"account_sid": ACCOUNT, "auth_token": AUTH_TOKEN, "twilio_number": NUMBER, "webhook_url": PUBLIC_URL}
    )
    assert (channel.name(), channel.webhook_url, channel.sender.api_url) == ("twilio", PUBLIC_URL, None)
