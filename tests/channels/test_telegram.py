"""The Telegram channel against a fake Bot API on 127.0.0.1 (channels/telegram.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from channels import choices
from channels.telegram import SECRET_HEADER, TelegramInput
from channels.texts import unsupported_message
from tests.channels.servers import FakeApi, Received, Recorder, serve_channel

TOKEN = "123456:AAE-test_token"
SECRET = "test-secret_0123456789"
WEBHOOK_URL = "https://bot.example.org/webhooks/telegram/webhook"
CHAT = 4242
LONG_PAYLOAD = '/ask_exercises{"topic": "exercises", "subject": "how often should I do the exercises a day"}'


def method_of(received: Received) -> str:
    return received.path.rsplit("/", 1)[-1]


def form_of(received: Received) -> Dict[str, str]:
    return {key: values[-1] for key, values in received.form().items()}


def answer_like_bot_api(received: Received) -> Optional[Tuple[int, Any]]:
    """Answers as the Bot API does: sendMessage returns the Message, getMe the bot, the rest True."""
    if received.path.split("/")[1] != f"bot{TOKEN}":
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
    method = method_of(received)
    if method == "sendMessage":
        form = form_of(received)
        message = {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": int(form["chat_id"]), "type": "private"},
            "text": form["text"],
        }
        return 200, {"ok": True, "result": message}
    if method == "getMe":
        return 200, {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "Rug", "username": "rugbot"}}
    return 200, {"ok": True, "result": True}


def calls(api: FakeApi, method: str) -> List[Dict[str, str]]:
    """The forms of the calls of one Bot API method, in order."""
    return [form_of(received) for received in api.requests if method_of(received) == method]


@pytest.fixture
async def bot_api():
    async with FakeApi(respond=answer_like_bot_api) as api:
        yield api


def make_channel(api: FakeApi, **credentials: Any) -> TelegramInput:
    settings = {"access_token": TOKEN, "secret_token": SECRET, "webhook_url": WEBHOOK_URL, "api_url": api.url}
    settings.update(credentials)
    return TelegramInput.from_credentials(settings)


def text_update(text: str, update_id: int = 1, chat: int = CHAT) -> Dict[str, Any]:
    """An update in the Bot API's documented format (https://core.telegram.org/bots/api#update)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10 + update_id,
            "from": {"id": chat, "is_bot": False, "first_name": "Jan", "language_code": "nl"},
            "chat": {"id": chat, "first_name": "Jan", "type": "private"},
            "date": 1700000000,
            "text": text,
        },
    }


def button_update(data: str, update_id: int = 2, chat: int = CHAT) -> Dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": chat, "is_bot": False, "first_name": "Jan"},
            "message": {
                "message_id": 11,
                "from": {"id": 123456, "is_bot": True, "first_name": "Rug"},
                "chat": {"id": chat, "type": "private"},
                "date": 1700000000,
                "text": "Kies",
            },
            "chat_instance": "-1234",
            "data": data,
        },
    }


async def post(base: str, body: Any, secret: Optional[str] = SECRET) -> Tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/telegram/webhook", data=data, headers=headers) as reply:
            return reply.status, await reply.text()


class StubTrackerStore:
    """A tracker store holding one conversation in which the bot offered two buttons."""

    def __init__(self, buttons: List[Dict[str, str]], sender_id: str = str(CHAT)) -> None:
        events = [UserUttered("hoi"), BotUttered("Kies", data={"buttons": buttons})]
        self.tracker = DialogueStateTracker.from_events(sender_id, events)
        self.asked: List[str] = []

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self.asked.append(sender_id)
        return self.tracker if sender_id == self.tracker.sender_id else None


OFFERED = [{"title": "Hoe vaak?", "payload": LONG_PAYLOAD}, {"title": "Nee", "payload": "/deny"}]


# --- messages in, replies out -----------------------------------------------------------------


async def test_text_reaches_rasa_and_the_reply_goes_as_html_with_an_inline_keyboard(bot_api):
    reply = {"text": "**Let op**: rust & [beweging](https://example.org/a?b=1&c=2)", "buttons": OFFERED}
    recorder = Recorder([reply])
    channel = make_channel(bot_api)
    async with serve_channel(channel, recorder) as base:
        status, _ = await post(base, text_update("Mag ik sporten?"))
    assert status == 200
    [message] = recorder.messages
    assert (message.text, message.sender_id, message.input_channel) == ("Mag ik sporten?", str(CHAT), "telegram")
    [sent] = calls(bot_api, "sendMessage")
    assert sent["chat_id"] == str(CHAT)
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == '<b>Let op</b>: rust &amp; <a href="https://example.org/a?b=1&amp;c=2">beweging</a>'
    keyboard = json.loads(sent["reply_markup"])["inline_keyboard"]
    assert [[button["text"] for button in row] for row in keyboard] == [["Hoe vaak?"], ["Nee"]]
    long_id, short_id = keyboard[0][0]["callback_data"], keyboard[1][0]["callback_data"]
    assert short_id == "/deny"
    assert long_id == choices.button_id(LONG_PAYLOAD, 64) and long_id.startswith("b:")
    assert len(long_id.encode("utf-8")) <= 64


async def test_two_updates_in_a_row_are_both_handled(bot_api):
    # Rasa 3.6's channel made its bot in another event loop: every update ended in a 500.
    recorder = Recorder([{"text": "Antwoord"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        first = await post(base, text_update("een", update_id=1))
        second = await post(base, text_update("twee", update_id=2))
    assert (first[0], second[0]) == (200, 200)
    assert [m.text for m in recorder.messages] == ["een", "twee"]
    assert [call["text"] for call in calls(bot_api, "sendMessage")] == ["Antwoord", "Antwoord"]


def test_a_channel_serves_in_each_new_event_loop():
    # Rasa builds the channel outside the loop that serves it (and a test or restart serves it in
    # another): the bot and its HTTP session must belong to the loop that uses them.
    channel = make_channel(SimpleNamespace(url="http://127.0.0.1:9"))
    recorder = Recorder([{"text": "Antwoord"}])

    async def one_round(update_id: int) -> int:
        async with FakeApi(respond=answer_like_bot_api) as api:
            channel.api_url = api.url
            async with serve_channel(channel, recorder) as base:
                status, _ = await post(base, text_update("hoi", update_id=update_id))
            return status if len(calls(api, "sendMessage")) == 1 else -1

    assert [asyncio.run(one_round(1)), asyncio.run(one_round(2))] == [200, 200]
    assert len(recorder.messages) == 2


async def test_building_the_blueprint_calls_nothing_and_the_session_closes_when_the_server_stops(bot_api):
    channel = make_channel(bot_api)
    channel.blueprint(Recorder())
    assert bot_api.requests == [] and channel._output is None
    channel = make_channel(bot_api)
    async with serve_channel(channel, Recorder([{"text": "Antwoord"}])) as base:
        assert (await post(base, text_update("hoi")))[0] == 200
        session = channel._output._session
        assert session is not None and not session.closed
    assert session.closed and channel._output is None


async def test_a_long_reply_is_split_under_telegrams_limit_with_the_keyboard_on_the_last_part(bot_api):
    sentence = "Blijf zo veel mogelijk in beweging, ook als het pijn doet. "
    text = (sentence * (9000 // len(sentence) + 1))[:9000]
    recorder = Recorder([{"text": text, "buttons": OFFERED}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        status, _ = await post(base, text_update("vraag"))
    assert status == 200
    sent = calls(bot_api, "sendMessage")
    assert len(sent) == 3
    assert all(len(call["text"]) <= 4096 for call in sent)
    assert " ".join(call["text"] for call in sent).split() == text.split()
    assert ["reply_markup" in call for call in sent] == [False, False, True]


async def test_a_button_press_is_resolved_to_its_payload_and_the_callback_answered(bot_api):
    store = StubTrackerStore(OFFERED)
    recorder = Recorder()
    async with serve_channel(make_channel(bot_api), recorder, agent=SimpleNamespace(tracker_store=store)) as base:
        status, _ = await post(base, button_update(choices.button_id(LONG_PAYLOAD, 64)))
    assert status == 200
    assert [m.text for m in recorder.messages] == [LONG_PAYLOAD]
    assert recorder.messages[0].sender_id == str(CHAT)
    assert store.asked == [str(CHAT)]
    [answered] = calls(bot_api, "answerCallbackQuery")
    assert answered["callback_query_id"] == "4382bfdwdsb323b2d9"


async def test_a_typed_number_picks_that_choice(bot_api):
    store = StubTrackerStore(OFFERED)
    recorder = Recorder()
    async with serve_channel(make_channel(bot_api), recorder, agent=SimpleNamespace(tracker_store=store)) as base:
        assert (await post(base, text_update("2", update_id=5)))[0] == 200
        assert (await post(base, text_update("Nog een vraag", update_id=6)))[0] == 200
    assert [m.text for m in recorder.messages] == ["/deny", "Nog een vraag"]


async def test_a_button_press_without_a_tracker_store_goes_on_as_its_data(bot_api):
    # In unit tests (and before the agent is loaded) app.ctx has no agent.
    recorder = Recorder()
    async with serve_channel(make_channel(bot_api), recorder) as base:
        assert (await post(base, button_update("/deny")))[0] == 200
    assert [m.text for m in recorder.messages] == ["/deny"]
    assert len(calls(bot_api, "answerCallbackQuery")) == 1


async def test_the_same_update_delivered_twice_is_handled_once(bot_api):
    recorder = Recorder([{"text": "Antwoord"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        first = await post(base, text_update("hoi", update_id=77))
        again = await post(base, text_update("hoi", update_id=77))
    assert (first[0], again[0]) == (200, 200)
    assert len(recorder.messages) == 1
    assert len(calls(bot_api, "sendMessage")) == 1


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "w", "duration": 3}},
        {"sticker": {"file_id": "s", "file_unique_id": "t", "width": 1, "height": 1}},
    ],
)
async def test_a_photo_voice_or_sticker_gets_the_text_only_reply(bot_api, content):
    update = text_update("")
    del update["message"]["text"]
    update["message"].update(content)
    recorder = Recorder()
    async with serve_channel(make_channel(bot_api), recorder) as base:
        status, _ = await post(base, update)
    assert status == 200
    assert recorder.messages == []
    [sent] = calls(bot_api, "sendMessage")
    assert sent["chat_id"] == str(CHAT)
    assert sent["text"] == unsupported_message()


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 9, "edited_message": text_update("bewerkt")["message"]},
        {"update_id": 9, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}}},
        {"update_id": 9, "message": {"message_id": 1, "date": 1, "chat": {"id": CHAT}, "pinned_message": {}}},
    ],
)
async def test_other_updates_are_acknowledged_and_ignored(bot_api, update):
    recorder = Recorder([{"text": "Antwoord"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        status, _ = await post(base, update)
    assert status == 200
    assert recorder.messages == []
    assert calls(bot_api, "sendMessage") == []


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET.upper(), SECRET + "x"])
async def test_a_missing_or_wrong_secret_is_refused_and_nothing_processed(bot_api, secret):
    recorder = Recorder([{"text": "Antwoord"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        before = len(bot_api.requests)
        status, _ = await post(base, text_update("hoi"), secret=secret)
        after = len(bot_api.requests)
        # The update id is not remembered either: the real delivery still gets through.
        assert (await post(base, text_update("hoi")))[0] == 200
    assert status == 403
    assert after == before
    assert [m.text for m in recorder.messages] == ["hoi"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"",
        b"[1, 2]",
        b'{"message": {"chat": {"id": 1}, "text": "hoi"}}',
        b'{"update_id": "1", "message": {"chat": {"id": 1}, "text": "hoi"}}',
        b'{"update_id": true, "message": {"chat": {"id": 1}, "text": "hoi"}}',
        b'{"update_id": 1, "message": {"text": "hoi"}}',
        b'{"update_id": 1, "message": {"chat": {"id": "1"}, "text": "hoi"}}',
        b'{"update_id": 1, "message": {"chat": {"id": 1}, "text": 5}}',
        b'{"update_id": 1, "message": "hoi"}',
        b'{"update_id": 1, "callback_query": {"data": "/deny"}}',
        b'{"update_id": 1, "callback_query": {"id": "q", "data": 5, "from": {"id": 1}}}',
        b'{"update_id": 1, "callback_query": {"id": "q", "data": "/deny"}}',
    ],
)
async def test_a_malformed_update_is_a_400_and_nothing_processed(bot_api, body):
    recorder = Recorder([{"text": "Antwoord"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        before = len(bot_api.requests)
        status, _ = await post(base, body)
        after = len(bot_api.requests)
    assert status == 400
    assert after == before
    assert recorder.messages == []


async def test_only_post_is_accepted(bot_api):
    async with serve_channel(make_channel(bot_api), Recorder()) as base:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/webhooks/telegram/webhook", headers={SECRET_HEADER: SECRET}) as reply:
                assert reply.status == 405
            async with session.get(f"{base}/webhooks/telegram/set_webhook") as reply:
                assert reply.status == 404  # Rasa's unauthenticated route is gone
            async with session.get(f"{base}/webhooks/telegram/") as reply:
                assert reply.status == 200


@pytest.mark.parametrize(
    "credentials, named",
    [
        ({"secret_token": None}, "TELEGRAM_SECRET_TOKEN"),
        ({"secret_token": ""}, "TELEGRAM_SECRET_TOKEN"),
        ({"secret_token": "   "}, "TELEGRAM_SECRET_TOKEN"),
        ({"secret_token": "has spaces in it"}, "TELEGRAM_SECRET_TOKEN"),
        ({"secret_token": "punctuation!"}, "TELEGRAM_SECRET_TOKEN"),
        ({"secret_token": "a" * 257}, "TELEGRAM_SECRET_TOKEN"),
        ({"access_token": ""}, "TELEGRAM_TOKEN"),
        ({"access_token": "not-a-token"}, "TELEGRAM_TOKEN"),
        ({"webhook_url": "http://bot.example.org/webhooks/telegram/webhook"}, "TELEGRAM_WEBHOOK_URL"),
        ({"api_url": "ftp://127.0.0.1"}, "api_url"),
    ],
)
def test_bad_credentials_stop_the_start_with_a_clear_error(credentials, named):
    settings = {"access_token": TOKEN, "secret_token": SECRET, "webhook_url": WEBHOOK_URL}
    settings.update(credentials)
    with pytest.raises(RasaException, match=named) as error:
        TelegramInput.from_credentials(settings)
    assert "has spaces" not in str(error.value) and "punctuation" not in str(error.value)


def test_good_credentials_are_accepted():
    channel = TelegramInput.from_credentials(
        {"access_token": TOKEN, "secret_token": "a" * 256, "webhook_url": None, "verify": "@rugbot"}
    )
    assert channel.name() == "telegram" and channel.url_prefix() == "telegram"
    assert channel.verify == "rugbot" and channel.webhook_url is None
    assert channel.api_url == "https://api.telegram.org"
    with pytest.raises(RasaException):
        TelegramInput.from_credentials(None)


# --- start-up ----------------------------------------------------------------------------------


async def test_startup_registers_the_webhook_with_the_secret(bot_api):
    async with serve_channel(make_channel(bot_api), Recorder()):
        pass
    [registered] = calls(bot_api, "setWebhook")
    assert registered["url"] == WEBHOOK_URL
    assert registered["secret_token"] == SECRET
    assert json.loads(registered["allowed_updates"]) == ["message", "callback_query"]
    assert all(received.path.startswith(f"/bot{TOKEN}/") for received in bot_api.requests)
    assert calls(bot_api, "getMe") == []  # no bot name to check


async def test_without_a_webhook_url_nothing_is_registered(bot_api):
    async with serve_channel(make_channel(bot_api, webhook_url=None), Recorder()):
        pass
    assert bot_api.requests == []


async def test_a_failed_registration_is_logged_and_the_channel_serves_on(bot_api, caplog):
    bot_api.responses.append((400, {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook"}))
    recorder = Recorder([{"text": "Antwoord"}])
    with caplog.at_level(logging.INFO, logger="channels.telegram"):
        async with serve_channel(make_channel(bot_api), recorder) as base:
            assert (await post(base, text_update("hoi")))[0] == 200
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "webhook" in r.getMessage()]
    assert len(failures) == 1 and "bad webhook" in failures[0].getMessage().lower()
    assert [m.text for m in recorder.messages] == ["hoi"]
    assert TOKEN not in caplog.text and SECRET not in caplog.text


async def test_an_unreachable_api_is_logged_without_the_token(caplog):
    async with FakeApi() as gone:
        url = gone.url
    channel = TelegramInput.from_credentials(
        {"access_token": TOKEN, "secret_token": SECRET, "webhook_url": WEBHOOK_URL, "api_url": url}
    )
    with caplog.at_level(logging.INFO, logger="channels.telegram"):
        assert await channel.register_webhook() is False
        await channel.close()
    assert any(r.levelno == logging.ERROR and "NetworkError" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text


async def test_a_bot_name_that_does_not_match_the_token_is_logged(bot_api, caplog):
    with caplog.at_level(logging.ERROR, logger="channels.telegram"):
        async with serve_channel(make_channel(bot_api, verify="otherbot"), Recorder()):
            pass
        async with serve_channel(make_channel(bot_api, verify="@RugBot"), Recorder()):
            pass
    assert len(calls(bot_api, "getMe")) == 2
    assert [r.getMessage() for r in caplog.records if "@otherbot" in r.getMessage()]
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


# --- errors while handling ---------------------------------------------------------------------


async def test_an_error_while_handling_is_logged_with_the_update_id_and_answered_200(bot_api, caplog):
    async def failing(message: UserMessage) -> None:
        raise RuntimeError("the agent broke")

    with caplog.at_level(logging.ERROR, logger="channels.telegram"):
        async with serve_channel(make_channel(bot_api), failing) as base:
            status, _ = await post(base, text_update("hoi", update_id=31337))
    assert status == 200
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "31337" in record.getMessage() and record.exc_info is not None
    assert "hoi" not in record.getMessage()


async def test_html_that_telegram_refuses_is_sent_again_as_plain_text(bot_api):
    recorder = Recorder([{"text": "**Let op** [hier](https://example.org)"}])
    async with serve_channel(make_channel(bot_api), recorder) as base:
        bot_api.responses.append(
            (400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"})
        )
        assert (await post(base, text_update("hoi")))[0] == 200
    first, second = calls(bot_api, "sendMessage")
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second and second["text"] == "Let op hier: https://example.org"


async def test_a_failed_send_is_logged_not_lost_silently(bot_api, caplog):
    recorder = Recorder([{"text": "Antwoord"}])
    with caplog.at_level(logging.ERROR, logger="channels.telegram"):
        async with serve_channel(make_channel(bot_api), recorder) as base:
            bot_api.responses.append(
                (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"})
            )
            status, _ = await post(base, text_update("hoi", update_id=8))
    assert status == 200
    assert any("8" in r.getMessage() and r.exc_info for r in caplog.records if r.levelno == logging.ERROR)


async def test_images_and_attachments_are_sent_as_their_address(bot_api):
    recorder = Recorder(
        [
            {"image": "https://example.org/oefening.png"},
            {"attachment": {"type": "file", "payload": {"src": "https://example.org/folder.pdf"}}},
        ]
    )
    async with serve_channel(make_channel(bot_api), recorder) as base:
        assert (await post(base, text_update("hoi")))[0] == 200
    assert [call["text"] for call in calls(bot_api, "sendMessage")] == [
        "https://example.org/oefening.png",
        "https://example.org/folder.pdf",
    ]
