"""A message that cannot be handled (the lock store is down, a store fails): a Dutch reply, a clear log line."""

from __future__ import annotations

import logging
from typing import Any, List

import aiohttp
from rasa.core.lock_store import LockError

from actions.config import get_knowledge
from channels.guard import handle
from channels.rest import RETRY_AFTER_SECONDS, CheckedRestInput

from .servers import Recorder, serve_channel
from .test_telegram import bot_api, calls, make_channel, post, text_update  # noqa: F401 - bot_api is a fixture

PATIENT_TEXT = "Ik ben Jan de Vries en mijn rug doet zeer"


def try_again() -> str:
    return get_knowledge().message("service_unavailable")


class Failing:
    """An `on_new_message` that fails, optionally after answering (as when releasing the lock fails)."""

    def __init__(self, error: Exception, answer_first: bool = False) -> None:
        self.error = error
        self.answer_first = answer_first

    async def __call__(self, message: Any) -> None:
        if self.answer_first:
            await message.output_channel.send_text_message(message.sender_id, "Het antwoord")
        raise self.error


async def post_rest(base: str, text: str) -> tuple:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/rest/webhook", json={"sender": "p1", "message": text}) as response:
            return response.status, await response.json(), response.headers.get("Retry-After")


async def test_rest_answers_503_with_the_dutch_reply_when_the_lock_store_is_down(caplog):
    error = LockError("Error while acquiring lock. Error:\nError 111 connecting to 127.0.0.1:6399. Connection refused.")
    with caplog.at_level(logging.INFO):
        async with serve_channel(CheckedRestInput(), Failing(error)) as base:
            status, body, retry_after = await post_rest(base, PATIENT_TEXT)
    assert status == 503 and retry_after == str(RETRY_AFTER_SECONDS)
    assert body == [{"recipient_id": "p1", "text": try_again()}]
    assert "probeer" in try_again().lower()
    logged = caplog.text
    assert "conversation p1 was not handled (LockError: Error while acquiring lock" in logged
    assert "6399" in logged  # the operator sees which server
    assert "rug doet zeer" not in logged and "Jan" not in logged


async def test_rest_keeps_an_answer_that_was_given_before_the_error():
    async with serve_channel(CheckedRestInput(), Failing(LockError("release failed"), answer_first=True)) as base:
        status, body, _ = await post_rest(base, "mag ik fietsen?")
    assert status == 200 and [message["text"] for message in body] == ["Het antwoord"]


async def test_rest_answers_normally_when_handled():
    async with serve_channel(CheckedRestInput(), Recorder([{"text": "Ja, bewegen helpt."}])) as base:
        status, body, _ = await post_rest(base, "mag ik fietsen?")
    assert status == 200 and [message["text"] for message in body] == ["Ja, bewegen helpt."]


async def test_other_errors_are_logged_by_type_only_because_their_text_may_quote_the_patient(caplog):
    class Sent:
        def __init__(self) -> None:
            self.texts: List[str] = []

        async def send_text_message(self, recipient_id: str, text: str) -> None:
            self.texts.append(text)

    class Message:
        sender_id = "p2"
        output_channel = Sent()

    with caplog.at_level(logging.ERROR):
        assert not await handle(Failing(ValueError(f"could not parse '{PATIENT_TEXT}'")), Message())
    assert Message.output_channel.texts == [try_again()]
    assert "(ValueError)" in caplog.text and "rug" not in caplog.text


async def test_a_telegram_patient_gets_the_dutch_reply_when_the_message_cannot_be_handled(bot_api):  # noqa: F811
    async with serve_channel(make_channel(bot_api), Failing(LockError("Redis down"))) as base:
        status, _ = await post(base, text_update("Mag ik sporten?"))
    assert status == 200  # handled for Telegram: it must not deliver the update again
    [sent] = calls(bot_api, "sendMessage")
    assert sent["text"] == try_again()
