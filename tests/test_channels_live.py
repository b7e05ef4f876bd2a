"""Telegram and WhatsApp end to end: the running assistant, updates in each platform's documented
format, and the replies captured by fake platform APIs on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

import pytest

from .conftest import TELEGRAM_SECRET, TELEGRAM_TOKEN, WHATSAPP

pytestmark = pytest.mark.server


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- Telegram


def telegram_update(update_id: int, chat_id: int, text: str) -> Dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "nl"},
            "text": text,
        },
    }


def telegram(live, update: Dict[str, Any], secret: Optional[str] = TELEGRAM_SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return post(f"{live.rasa_url}/webhooks/telegram/webhook", json.dumps(update).encode(), headers)[0]


def sent_to(chat_id: int):
    return lambda call: call.path.endswith("/sendMessage") and str(call.body.get("chat_id")) == str(chat_id)


def test_telegram_registered_its_webhook_with_the_secret(live, fake_apis):
    calls = fake_apis.wait_for(lambda call: call.path.endswith("/setWebhook"))
    assert calls[0].path == f"/bot{TELEGRAM_TOKEN}/setWebhook"
    assert calls[0].body["secret_token"] == TELEGRAM_SECRET
    assert calls[0].body["url"].endswith("/webhooks/telegram/webhook")


def test_a_telegram_question_is_answered_in_dutch(live, fake_apis):
    mark = len(fake_apis.calls)
    assert telegram(live, telegram_update(9001, 5551, "is bewegen schadelijk?")) == 200
    replies = fake_apis.wait_for(sent_to(5551), mark)
    text = "\n".join(str(call.body["text"]) for call in replies)
    assert "bewegen" in text.lower()
    assert not [call for call in fake_apis.since(mark) if call.path.endswith("/getMe")]
    # A second update goes through too (Rasa's own connector failed from the second on).
    mark = len(fake_apis.calls)
    assert telegram(live, telegram_update(9002, 5551, "ik kan niet meer plassen en mijn billen zijn doof")) == 200
    escalation = "\n".join(str(call.body["text"]) for call in fake_apis.wait_for(sent_to(5551), mark))
    assert "112" in escalation or "huisarts" in escalation.lower()


def test_a_telegram_choice_comes_as_an_inline_keyboard(live, fake_apis):
    mark = len(fake_apis.calls)
    assert telegram(live, telegram_update(9010, 5552, "wat is het telefoonnummer?")) == 200
    calls = fake_apis.wait_for(lambda call: sent_to(5552)(call) and "reply_markup" in call.body, mark)
    markup = calls[-1].body["reply_markup"]
    keyboard = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
    assert len(keyboard) >= 2 and all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)
    # The patient taps the second button.
    mark = len(fake_apis.calls)
    tap = {
        "update_id": 9011,
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": 5552, "is_bot": False, "first_name": "Test"},
            "chat_instance": "1",
            "data": keyboard[1][0]["callback_data"],
            "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": 5552, "type": "private"}},
        },
    }
    assert telegram(live, tap) == 200
    answer = "\n".join(str(call.body["text"]) for call in fake_apis.wait_for(sent_to(5552), mark))
    assert keyboard[1][0]["text"] in answer


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_telegram_refuses_updates_without_the_secret(live, fake_apis, secret):
    mark = len(fake_apis.calls)
    assert telegram(live, telegram_update(9020, 5553, "is bewegen schadelijk?"), secret) == 403
    time.sleep(1)
    assert [call for call in fake_apis.since(mark) if "5553" in json.dumps(call.body)] == []


# --- WhatsApp Cloud API


def whatsapp_payload(message_id: str, sender: str, message: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "31612345678", "phone_number_id": "1098765"},
                            "contacts": [{"profile": {"name": "Test"}, "wa_id": sender}],
                            "messages": [
                                {"from": sender, "id": message_id, "timestamp": str(int(time.time())), **message}
                            ],
                        },
                    }
                ],
            }
        ],
    }


def whatsapp(live, payload: Dict[str, Any], signature: Optional[str] = "right") -> int:
    body = json.dumps(payload).encode()
    headers = {}
    if signature == "right":
        digest = hmac.new(WHATSAPP["app_secret"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return post(f"{live.rasa_url}/webhooks/whatsapp/webhook", body, headers)[0]


def whatsapp_to(number: str):
    return lambda call: call.path.endswith("/messages") and call.body.get("to") == number


def whatsapp_text(call) -> str:
    body = call.body
    if body.get("type") == "interactive":
        return body["interactive"]["body"]["text"]
    return body.get("text", {}).get("body", "")


def test_whatsapp_verification_handshake(live):
    base = f"{live.rasa_url}/webhooks/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1158201444"
    with urllib.request.urlopen(f"{base}&hub.verify_token={WHATSAPP['verify_token']}", timeout=10) as response:
        assert response.read() == b"1158201444"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}&hub.verify_token=wrong", timeout=10)
    assert refused.value.code == 403


def test_a_whatsapp_question_is_answered_in_dutch_with_numbered_choices(live, fake_apis):
    mark = len(fake_apis.calls)
    payload = whatsapp_payload(
        "wamid.live1", "31611111111", {"type": "text", "text": {"body": "is bewegen schadelijk?"}}
    )
    assert whatsapp(live, payload) == 200
    calls = fake_apis.wait_for(whatsapp_to("31611111111"), mark)
    assert calls[0].headers["Authorization"] == f"Bearer {WHATSAPP['access_token']}"
    assert calls[0].path.endswith(f"/{WHATSAPP['phone_number_id']}/messages")
    assert "bewegen" in "\n".join(whatsapp_text(call) for call in calls).lower()
    # The same delivery again is not answered twice.
    time.sleep(1.5)
    mark = len(fake_apis.calls)
    assert whatsapp(live, payload) == 200
    time.sleep(1.5)
    assert [call for call in fake_apis.since(mark) if whatsapp_to("31611111111")(call)] == []


def test_a_whatsapp_choice_can_be_answered_with_its_number(live, fake_apis):
    number = "31622222222"
    mark = len(fake_apis.calls)
    ask = whatsapp_payload("wamid.live2", number, {"type": "text", "text": {"body": "wat is het telefoonnummer?"}})
    assert whatsapp(live, ask) == 200
    time.sleep(1.5)
    calls = [call for call in fake_apis.since(mark) if whatsapp_to(number)(call)]
    last = calls[-1].body
    if last.get("type") == "interactive":
        options = [button["reply"]["title"] for button in last["interactive"]["action"]["buttons"]]
    else:
        options = [
            line.split(". ", 1)[1]
            for line in whatsapp_text(calls[-1]).splitlines()
            if line[:2] in ("1.", "2.", "3.", "4.")
        ]
    assert len(options) >= 2, last
    mark = len(fake_apis.calls)
    choose = whatsapp_payload("wamid.live3", number, {"type": "text", "text": {"body": "2"}})
    assert whatsapp(live, choose) == 200
    answer = "\n".join(whatsapp_text(call) for call in fake_apis.wait_for(whatsapp_to(number), mark))
    assert options[1] in answer, answer


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64])
def test_whatsapp_refuses_unsigned_messages(live, fake_apis, signature):
    mark = len(fake_apis.calls)
    payload = whatsapp_payload("wamid.live4", "31633333333", {"type": "text", "text": {"body": "hallo"}})
    assert whatsapp(live, payload, signature) == 403
    time.sleep(1)
    assert [call for call in fake_apis.since(mark) if whatsapp_to("31633333333")(call)] == []


def test_telegrams_start_command_is_greeted(live, fake_apis):
    mark = len(fake_apis.calls)
    assert telegram(live, telegram_update(9030, 5554, "/start")) == 200
    text = "\n".join(str(call.body["text"]) for call in fake_apis.wait_for(sent_to(5554), mark))
    assert "rugklachten" in text.lower()
