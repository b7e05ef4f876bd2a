"""Telegram channel at /webhooks/telegram/webhook: a working replacement of Rasa 3.6's TelegramInput.

Rasa's channel builds its aiogram Bot (and calls setWebhook) while the blueprint is built, in an
event loop that is closed before the server runs, so every update ends in "Event loop is closed"
(HTTP 500); it asks Telegram for getMe on every update as its only check. Here:

- the bot is made inside the serving loop on first use and its HTTP session closed when the server
  stops; at start-up the webhook is registered with a `secret_token` (and, when `verify` names the
  bot, getMe is checked once);
- every update must carry that secret in the X-Telegram-Bot-Api-Secret-Token header (else 403,
  nothing processed); malformed JSON or updates get a 400; an update id seen before is ignored;
- text and button presses (callback queries) go to Rasa, a number typed or a short button id is
  resolved to the button's payload (channels/choices.py); photos, voice messages, stickers and
  files get the "I can only read text" reply; other update types are acknowledged and ignored;
- replies are sent as Telegram HTML, split under Telegram's 4,096 characters, with the buttons as
  an inline keyboard (one button a row) under the last part.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiogram.bot.api import TelegramAPIServer, check_token
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import CantParseEntities, ValidationError
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.core.channels.telegram import TelegramOutput as RasaTelegramOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import choices
from channels.common import SeenDeliveries
from channels.formatting import split_text, to_plain, to_telegram_html
from channels.guard import guarded
from channels.texts import unsupported_message, with_numbered_choices

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed."
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = ["message", "callback_query"]
# Telegram allows 4,096 characters a message (after HTML parsing); the margin keeps a part under
# it whatever the HTML conversion does.
TEXT_LIMIT = 4000
CALLBACK_DATA_BYTES = 64
# Update ids remembered to ignore Telegram's repeated deliveries (it retries when a reply is slow).
SEEN_UPDATES = 4096
REQUEST_TIMEOUT_SECONDS = 30
# A message with any of these is something other than text: it gets the "text only" reply.
NON_TEXT_CONTENT = frozenset(
    {
        "photo",
        "voice",
        "audio",
        "video",
        "video_note",
        "sticker",
        "document",
        "animation",
        "location",
        "venue",
        "contact",
        "poll",
        "dice",
        "game",
        "story",
    }
)

TEXT, BUTTON, NOT_TEXT, IGNORED = "text", "button", "not_text", "ignored"


# Telegram sends "/start" (or "/start@botname") when a patient opens the bot for the first time.
START_COMMAND = "/start"
GREET_PAYLOAD = "/greet"


def _redact(text: str, token: Optional[str]) -> str:
    """The text without the bot token (aiohttp errors can hold the request URL, which holds it)."""
    return text.replace(token, "***") if token else text


class TelegramOutput(RasaTelegramOutput):
    """Sends the bot's replies: Telegram HTML, parts under 4,096 characters, inline keyboards."""

    def __init__(self, access_token: str, api_url: str = DEFAULT_API_URL) -> None:
        super().__init__(access_token)
        self.server = TelegramAPIServer.from_base(api_url)
        self.timeout = REQUEST_TIMEOUT_SECONDS

    async def close_session(self) -> None:
        """Closes the HTTP session (made in the loop of its first request), if there is one."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _send_part(self, recipient_id: str, part: str, reply_markup: Any = None) -> None:
        try:
            await self.send_message(recipient_id, to_telegram_html(part), parse_mode="HTML", reply_markup=reply_markup)
        except CantParseEntities:
            # Mark-up Telegram refuses (e.g. bold cut in two by the split): the part goes as plain text.
            logger.warning("Telegram refused the HTML of a reply to chat %s; sent as plain text", recipient_id)
            await self.send_message(recipient_id, to_plain(part), reply_markup=reply_markup)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Sends the text as HTML, in as few messages under Telegram's limit as it takes."""
        for part in split_text(text or "", TEXT_LIMIT):
            await self._send_part(recipient_id, part)

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: List[Dict[str, Any]],
        button_type: Optional[str] = "inline",
        **kwargs: Any,
    ) -> None:
        """Sends the text with the buttons as an inline keyboard, one button a row, under its last part.

        A button's `callback_data` is its payload, or a short id of it when the payload is longer
        than Telegram's 64 bytes (resolved back by channels/choices.py).
        """
        keyboard = InlineKeyboardMarkup()
        for button in buttons:
            title = str(button.get("title") or button.get("payload") or "")
            if button.get("url"):
                keyboard.row(InlineKeyboardButton(title, url=str(button["url"])))
            else:
                payload = str(button.get("payload") or title)
                keyboard.row(InlineKeyboardButton(title, callback_data=choices.button_id(payload, CALLBACK_DATA_BYTES)))
        # A keyboard needs a message to hang under; without text the choices are listed as well.
        parts = split_text(text or "", TEXT_LIMIT) or split_text(with_numbered_choices("", buttons), TEXT_LIMIT)
        for part in parts[:-1]:
            await self._send_part(recipient_id, part)
        await self._send_part(recipient_id, parts[-1], reply_markup=keyboard)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Sends the image's address as text (Telegram shows a preview)."""
        await self.send_text_message(recipient_id, str(image))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Sends the attachment's address as text."""
        if isinstance(attachment, dict):
            payload = attachment.get("payload") or {}
            address = (payload.get("src") or payload.get("url")) if isinstance(payload, dict) else None
            if not address:
                logger.error("An attachment without an address could not be sent to chat %s", recipient_id)
                return
            attachment = address
        await self.send_text_message(recipient_id, str(attachment))


@dataclass(frozen=True)
class Update:
    """What the channel needs of a Telegram update."""

    update_id: int
    kind: str  # TEXT, BUTTON, NOT_TEXT or IGNORED
    chat_id: Optional[int] = None
    text: Optional[str] = None
    callback_query_id: Optional[str] = None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_id(message: Any) -> int:
    if not isinstance(message, dict):
        raise ValueError("'message' must be an object")
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _is_int(chat.get("id")):
        raise ValueError("a message needs 'chat': {'id': <integer>}")
    return chat["id"]


def parse_update(body: Any) -> Update:
    """Reads an update in the Bot API's format (https://core.telegram.org/bots/api#update).

    Raises:
        ValueError: the body is not an update (the webhook answers 400).
    """
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object (a Telegram Update)")
    update_id = body.get("update_id")
    if not _is_int(update_id):
        raise ValueError("'update_id' must be an integer")
    if "message" in body:
        message = body["message"]
        chat_id = _chat_id(message)
        text = message.get("text")
        if text is not None and not isinstance(text, str):
            raise ValueError("'message.text' must be text")
        if text is not None:
            return Update(update_id, TEXT, chat_id, text)
        if NON_TEXT_CONTENT.intersection(message):
            return Update(update_id, NOT_TEXT, chat_id)
        return Update(update_id, IGNORED, chat_id)  # a service message (e.g. a pinned message)
    if "callback_query" in body:
        query = body["callback_query"]
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            raise ValueError("'callback_query' needs an 'id' (text)")
        data = query.get("data")
        if data is not None and not isinstance(data, str):
            raise ValueError("'callback_query.data' must be text")
        if query.get("message") is not None:
            chat_id = _chat_id(query["message"])
        else:  # a button under an inline-mode message: the user's own chat
            sender = query.get("from")
            if not isinstance(sender, dict) or not _is_int(sender.get("id")):
                raise ValueError("'callback_query' needs 'message' or 'from'")
            chat_id = sender["id"]
        return Update(update_id, BUTTON, chat_id, data, query["id"])
    return Update(update_id, IGNORED)


class TelegramInput(RasaTelegramInput):
    """Telegram webhook at /webhooks/telegram/webhook, checked by a secret token.

    Credentials: `access_token` (from @BotFather), `secret_token` (required), `webhook_url`
    (registered at start-up when set), `verify` (the bot's username, optional: checked once at
    start-up) and `api_url` (optional, the Bot API server; default https://api.telegram.org).
    """

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's name and URL: /webhooks/telegram/webhook."""
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> TelegramInput:
        """Reads the channel's settings from credentials.yml (refuses to start without a secret)."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            credentials.get("access_token"),
            credentials.get("verify"),
            credentials.get("webhook_url"),
            secret_token=credentials.get("secret_token"),
            api_url=credentials.get("api_url"),
        )

    def __init__(
        self,
        access_token: Optional[str],
        verify: Optional[str],
        webhook_url: Optional[str],
        secret_token: Optional[str] = None,
        api_url: Optional[str] = None,
        debug_mode: bool = False,
    ) -> None:
        access_token = str(access_token or "").strip()
        try:
            check_token(access_token)
        except ValidationError as error:
            raise RasaException(
                "Telegram channel: 'access_token' is missing or not a bot token (<digits>:<text>). "
                "Set the environment variable TELEGRAM_TOKEN to the token @BotFather gave."
            ) from error
        secret_token = str(secret_token or "").strip()
        if not secret_token:
            raise RasaException(
                "Telegram channel: 'secret_token' is empty. Set the environment variable TELEGRAM_SECRET_TOKEN "
                "(1-256 characters A-Z a-z 0-9 _ -, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
            )
        if not SECRET_TOKEN.match(secret_token):
            raise RasaException(
                "Telegram channel: TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z a-z 0-9 _ and - only."
            )
        webhook_url = str(webhook_url or "").strip() or None
        if webhook_url and not webhook_url.startswith("https://"):
            raise RasaException("Telegram channel: TELEGRAM_WEBHOOK_URL must start with https:// (Telegram's rule).")
        api_url = str(api_url or "").strip().rstrip("/") or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise RasaException("Telegram channel: 'api_url' must start with https:// or http://.")
        verify = str(verify or "").strip().lstrip("@") or None
        super().__init__(access_token, verify, webhook_url, debug_mode=debug_mode)
        self.secret_token = secret_token
        self.api_url = api_url
        self._output: Optional[TelegramOutput] = None
        self._seen = SeenDeliveries(SEEN_UPDATES)

    def get_output_channel(self) -> TelegramOutput:
        """The bot that sends the replies, made on first use in the loop that serves the requests."""
        if self._output is None:
            self._output = TelegramOutput(self.access_token, self.api_url)
        return self._output

    async def close(self) -> None:
        """Closes the bot's HTTP session (the server stops); a later request makes a new bot."""
        output, self._output = self._output, None
        if output is not None:
            await output.close_session()

    async def register_webhook(self) -> bool:
        """Registers `webhook_url` with the secret token; checks the bot's name when `verify` is set.

        Failures are logged, not raised: the server runs on, and Telegram keeps an earlier
        registration. Returns whether the webhook was registered.
        """
        bot = self.get_output_channel()
        if self.verify:
            try:
                me = await bot.get_me()
                if (me.username or "").lower() != self.verify.lower():
                    logger.error(
                        "Telegram: the token belongs to bot @%s, not @%s (TELEGRAM_BOT_NAME)", me.username, self.verify
                    )
            except Exception as error:
                logger.error("Telegram: getMe failed: %s", _redact(str(error), self.access_token))
        if not self.webhook_url:
            logger.info("Telegram: no webhook_url set; the webhook is not registered at start-up")
            return False
        payload = {
            "url": self.webhook_url,
            "secret_token": self.secret_token,
            "allowed_updates": json.dumps(ALLOWED_UPDATES),
        }
        try:
            await bot.request("setWebhook", payload)
        except Exception as error:
            logger.error(
                "Telegram: registering the webhook %s failed (%s): %s",
                self.webhook_url,
                type(error).__name__,
                _redact(str(error), self.access_token),
            )
            return False
        logger.info("Telegram: webhook registered at %s", self.webhook_url)
        return True

    def _secret_matches(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.secret_token.encode("utf-8"))

    def _first_delivery(self, update_id: int) -> bool:
        """False when the update was seen before; remembers the last SEEN_UPDATES ids."""
        return self._seen.first_time(update_id)

    async def _handle(
        self,
        update: Update,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        output = self.get_output_channel()
        sender_id = str(update.chat_id)
        if update.kind == NOT_TEXT:
            logger.info("Telegram update %s: not text, chat %s", update.update_id, sender_id)
            await output.send_text_message(sender_id, unsupported_message())
            return
        if update.kind == BUTTON:
            try:  # stops the spinner on the button; the reply itself follows as a message
                await output.answer_callback_query(update.callback_query_id)
            except Exception as error:
                logger.error(
                    "Telegram update %s: answerCallbackQuery failed (%s): %s",
                    update.update_id,
                    type(error).__name__,
                    _redact(str(error), self.access_token),
                )
            if not update.text:
                logger.info("Telegram update %s: button without data ignored", update.update_id)
                return
        logger.info("Telegram update %s: %s, chat %s", update.update_id, update.kind, sender_id)
        agent = getattr(request.app.ctx, "agent", None)
        text = await choices.resolve(update.text or "", sender_id, getattr(agent, "tracker_store", None))
        if text.strip().split("@")[0] == START_COMMAND:  # Telegram's first message: greet the patient
            text = GREET_PAYLOAD
        await on_new_message(
            UserMessage(
                text,
                output,
                sender_id,
                input_channel=self.name(),
                message_id=str(update.update_id),
                metadata=self.get_metadata(request),
            )
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook; nothing is sent to Telegram until the server runs (see the module docstring)."""
        on_new_message = guarded(on_new_message)  # a failure gets a Dutch "probeer het zo nog eens"
        telegram_webhook = Blueprint("telegram_webhook", __name__)

        @telegram_webhook.listener("after_server_start")
        async def register(_app: Any, _loop: Any) -> None:
            await self.register_webhook()

        @telegram_webhook.listener("after_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            await self.close()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self._secret_matches(request):
                logger.warning("Telegram webhook: request without the right secret token refused")
                return response.json({"error": "forbidden"}, status=403)
            try:
                update = parse_update(json.loads(request.body or b""))
            except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
                logger.warning("Telegram webhook: malformed update refused: %s", type(error).__name__)
                return response.json({"error": f"not a Telegram update: {error}"}, status=400)
            if not self._first_delivery(update.update_id):
                logger.info("Telegram update %s delivered again; ignored", update.update_id)
                return response.json({"status": "duplicate"})
            if update.kind == IGNORED:
                logger.debug("Telegram update %s: not a message or button; ignored", update.update_id)
                return response.json({"status": "ignored"})
            try:
                await self._handle(update, request, on_new_message)
            except Exception:
                # Answered 200 all the same: Telegram would resend the update again and again.
                logger.exception("Telegram update %s (chat %s) could not be handled", update.update_id, update.chat_id)
                return response.json({"status": "error"})
            return response.json({"status": "ok"})

        return telegram_webhook
