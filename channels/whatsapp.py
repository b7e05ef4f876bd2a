"""WhatsApp through Meta's WhatsApp Cloud API: a signed webhook in, the Graph API out.

In: Meta calls GET /webhooks/whatsapp/webhook once to verify the URL (`hub.verify_token`), then
POSTs every event signed with the app secret (`X-Hub-Signature-256`). Text, reply buttons and
list replies go to Rasa (a typed "2" or a button id resolved to its payload, see
channels/choices.py); photos, voice messages, stickers, files and locations get the Dutch "I can
only read text" reply; delivery statuses are ignored. Meta may deliver an event more than once:
a message id already seen is skipped.

Out: one aiohttp session (created in the running event loop, closed when the server stops)
POSTs to {api_url}/{api_version}/{phone_number_id}/messages. Up to three short buttons become
WhatsApp reply buttons, more (or longer titles) a numbered list the patient answers by number.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.choices import button_id, resolve
from channels.common import SeenDeliveries, require_credentials
from channels.formatting import split_text, to_whatsapp
from channels.guard import guarded
from channels.texts import unsupported_message, with_numbered_choices

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
# Credentials key -> the environment variable credentials.yml reads it from (named in errors).
REQUIRED_CREDENTIALS = {
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
}

TEXT_LIMIT = 4000  # WhatsApp takes up to 4,096 characters in a text message
BODY_LIMIT = 1024  # the body text of an interactive (button) message
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
SEEN_MESSAGE_IDS = 10_000
REQUEST_TIMEOUT_SECONDS = 20
# Events that are not a patient's message to answer: an emoji reaction, a change of number.
IGNORED_TYPES = frozenset({"reaction", "system"})


class BadPayload(ValueError):
    """The webhook body is not in the format Meta documents."""


class GraphApi:
    """Posts messages to the WhatsApp Cloud API with one aiohttp session.

    The session is created on first use, inside the server's running event loop, and closed by
    `close()` when the server stops. A refused message is logged with Meta's error code and
    message; a 429 or 5xx answer (or no answer) is retried once.
    """

    retry_delay_seconds = 1.0

    def __init__(self, access_token: str, phone_number_id: str, api_url: str, api_version: str) -> None:
        self.access_token = access_token
        self.messages_url = f"{api_url.rstrip('/')}/{api_version.strip('/')}/{phone_number_id}/messages"
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))
        return self._session

    async def send(self, payload: Dict[str, Any]) -> bool:
        """Posts one message; True when the Graph API accepted it (errors are logged, never raised)."""
        headers = {"Authorization": f"Bearer {self.access_token}"}
        kind = payload.get("type")
        for attempt in (1, 2):
            try:
                async with self._client().post(self.messages_url, json=payload, headers=headers) as answer:
                    if answer.status < 300:
                        return True
                    code, message = await _graph_error(answer)
                    retry = answer.status == 429 or answer.status >= 500
                    logger.error(
                        "WhatsApp Graph API refused a %s message (attempt %d): HTTP %d, error %s: %s",
                        kind,
                        attempt,
                        answer.status,
                        code,
                        message,
                    )
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                retry = True
                logger.error(
                    "WhatsApp Graph API not reachable for a %s message (attempt %d): %s",
                    kind,
                    attempt,
                    type(error).__name__,
                )
            if not retry or attempt == 2:
                return False
            await asyncio.sleep(self.retry_delay_seconds)
        return False

    async def close(self) -> None:
        """Closes the session (a later send opens a new one)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


async def _graph_error(answer: aiohttp.ClientResponse) -> Tuple[Any, str]:
    """Meta's error code and message from an error answer ({"error": {"code", "message"}})."""
    try:
        error = (await answer.json(content_type=None)).get("error") or {}
        return error.get("code"), str(error.get("message", ""))[:300]
    except (ValueError, AttributeError, aiohttp.ClientError):
        return None, "(no JSON error body)"


def _fits_reply_buttons(text: str, buttons: List[Dict[str, Any]]) -> bool:
    """WhatsApp shows at most three reply buttons, each title at most 20 characters, below a text."""
    if not text.strip() or not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
        return False
    for button in buttons:
        title = button.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > BUTTON_TITLE_LIMIT:
            return False
    return True


class WhatsAppOutput(OutputChannel):
    """Sends the assistant's replies through the WhatsApp Cloud API."""

    @classmethod
    def name(cls) -> str:
        """The channel's name, as the input channel's."""
        return "whatsapp"

    def __init__(self, graph: GraphApi) -> None:
        self.graph = graph

    async def _post(self, recipient_id: str, content: Dict[str, Any]) -> bool:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient_id}
        payload.update(content)
        return await self.graph.send(payload)

    async def _send_formatted(self, recipient_id: str, text: str) -> None:
        for part in split_text(text, TEXT_LIMIT):
            await self._post(recipient_id, {"type": "text", "text": {"preview_url": False, "body": part}})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Sends the text in WhatsApp mark-up, in parts under WhatsApp's 4,096 characters."""
        await self._send_formatted(recipient_id, to_whatsapp(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Up to three short buttons as reply buttons; otherwise the text with a numbered list."""
        if not _fits_reply_buttons(text, buttons):
            await self._send_formatted(recipient_id, to_whatsapp(with_numbered_choices(text, buttons)))
            return
        formatted = to_whatsapp(text).strip()
        body = split_text(formatted, BODY_LIMIT)[-1]
        leading = formatted[: len(formatted) - len(body)].strip()
        if leading:
            await self._send_formatted(recipient_id, leading)
        replies = [
            {
                "type": "reply",
                "reply": {
                    "id": button_id(str(button.get("payload") or button["title"]), BUTTON_ID_LIMIT),
                    "title": button["title"],
                },
            }
            for button in buttons
        ]
        interactive = {"type": "button", "body": {"text": body}, "action": {"buttons": replies}}
        await self._post(recipient_id, {"type": "interactive", "interactive": interactive})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Sends an image by its public URL."""
        await self._post(recipient_id, {"type": "image", "image": {"link": image}})

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Sends a custom payload as a Cloud API message object (e.g. {"type": "template", ...})."""
        await self._post(recipient_id, dict(json_message))


def _object(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_of(message: Dict[str, Any]) -> Optional[str]:
    """What the patient sent as text (typed, or a button's id/payload); None for anything else."""
    kind = message.get("type")
    value: Any = None
    if kind == "text":
        value = _object(message.get("text")).get("body")
    elif kind == "interactive":
        interactive = _object(message.get("interactive"))
        reply = _object(interactive.get("button_reply") or interactive.get("list_reply"))
        value = reply.get("id")
    elif kind == "button":  # a quick-reply button of a template message
        button = _object(message.get("button"))
        value = button.get("payload") or button.get("text")
    if isinstance(value, str) and value.strip():
        return value
    return None


def _messages(body: Any, phone_number_id: str) -> List[Dict[str, Any]]:
    """The messages to our number in a webhook body in Meta's format (statuses left out).

    Raises BadPayload when the body is not in that format. Messages to another number of the
    same WhatsApp Business Account are left out (our replies would come from the wrong number).
    """
    if not isinstance(body, dict):
        raise BadPayload("the body must be a JSON object")
    if body.get("object") != "whatsapp_business_account":
        raise BadPayload("'object' must be 'whatsapp_business_account'")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise BadPayload("'entry' must be a list")
    messages: List[Dict[str, Any]] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise BadPayload("each entry must have a list of 'changes'")
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise BadPayload("each change must have a 'value' object")
            found = value.get("messages", [])
            if not isinstance(found, list):
                raise BadPayload("'messages' must be a list")
            metadata = value.get("metadata")
            to_number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if found and to_number is not None and str(to_number) != phone_number_id:
                logger.warning("WhatsApp webhook: %d message(s) for another phone number id skipped", len(found))
                continue
            for message in found:
                if not (
                    isinstance(message, dict)
                    and isinstance(message.get("id"), str)
                    and message["id"]
                    and isinstance(message.get("from"), str)
                    and message["from"]
                ):
                    raise BadPayload("each message needs an 'id' and a 'from'")
                messages.append(message)
    return messages


class WhatsAppInput(InputChannel):
    """Meta's WhatsApp Cloud API webhook at /webhooks/whatsapp/webhook."""

    @classmethod
    def name(cls) -> str:
        """The channel's URL: /webhooks/whatsapp/webhook."""
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads the channel's settings; a missing secret stops the server with its variable's name."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        require_credentials(cls.name(), credentials, REQUIRED_CREDENTIALS)
        return cls(
            access_token=str(credentials["access_token"]),
            phone_number_id=str(credentials["phone_number_id"]),
            app_secret=str(credentials["app_secret"]),
            verify_token=str(credentials["verify_token"]),
            api_url=str(credentials.get("api_url") or DEFAULT_API_URL),
            api_version=str(credentials.get("api_version") or DEFAULT_API_VERSION),
        )

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        api_url: str = DEFAULT_API_URL,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.graph = GraphApi(access_token, phone_number_id, api_url, api_version)
        self.seen = SeenDeliveries(SEEN_MESSAGE_IDS)

    def get_output_channel(self) -> OutputChannel:
        """Replies (and messages Rasa starts itself) go out through the Graph API."""
        return WhatsAppOutput(self.graph)

    def valid_signature(self, body: bytes, header: Optional[str]) -> bool:
        """True when `X-Hub-Signature-256` is "sha256=" and the HMAC-SHA256 of the raw body."""
        if not header:
            return False
        expected = "sha256=" + hmac.new(self.app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode("utf-8"), header.strip().encode("utf-8", "replace"))

    def verify(self, mode: Optional[str], token: Optional[str]) -> bool:
        """True for Meta's subscription handshake with our verify token."""
        return (
            mode == "subscribe"
            and token is not None
            and hmac.compare_digest(token.encode("utf-8", "replace"), self.verify_token.encode("utf-8"))
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook: GET for Meta's verification, POST for messages and statuses."""
        on_new_message = guarded(on_new_message)  # a failure gets a Dutch "probeer het zo nog eens"
        whatsapp_webhook = Blueprint("whatsapp_webhook", __name__)

        @whatsapp_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await self.graph.close()

        @whatsapp_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @whatsapp_webhook.route("/webhook", methods=["GET"])
        async def verification(request: Request) -> HTTPResponse:
            if not self.verify(request.args.get("hub.mode"), request.args.get("hub.verify_token")):
                logger.warning("WhatsApp webhook verification refused (wrong mode or verify token)")
                return response.text("Forbidden", status=403)
            logger.info("WhatsApp webhook verified")
            return response.text(request.args.get("hub.challenge") or "")

        @whatsapp_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            body = request.body or b""
            if not self.valid_signature(body, request.headers.get("X-Hub-Signature-256")):
                logger.warning("WhatsApp webhook call refused: missing or wrong X-Hub-Signature-256")
                return response.text("Forbidden", status=403)
            try:
                messages = _messages(json.loads(body), self.phone_number_id)
            except (ValueError, BadPayload) as error:  # json.JSONDecodeError is a ValueError
                reason = str(error) if isinstance(error, BadPayload) else "malformed JSON"
                logger.warning("WhatsApp webhook call refused: %s", reason)
                return response.json({"error": reason}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            tracker_store = getattr(agent, "tracker_store", None)
            for message in messages:
                await self._handle(message, on_new_message, tracker_store)
            return response.text("", status=200)

        return whatsapp_webhook

    async def _handle(
        self,
        message: Dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any,
    ) -> None:
        """One incoming message: to Rasa, or the "I can only read text" reply; errors are logged."""
        message_id, sender, kind = message["id"], message["from"], message.get("type")
        if not self.seen.first_time(message_id):
            logger.info("WhatsApp message %s delivered again: skipped", message_id)
            return
        if kind in IGNORED_TYPES:
            logger.debug("WhatsApp %s event %s ignored", kind, message_id)
            return
        output = self.get_output_channel()
        try:
            text = _text_of(message)
            if text is None:
                logger.info("WhatsApp message %s of type %s is not text: unsupported reply", message_id, kind)
                await output.send_text_message(sender, unsupported_message())
                return
            text = await resolve(text, sender, tracker_store)
            logger.info("WhatsApp message %s (%s) received", message_id, kind)
            await on_new_message(UserMessage(text, output, sender, input_channel=self.name(), message_id=message_id))
        except Exception:
            logger.exception("WhatsApp message %s could not be handled", message_id)
