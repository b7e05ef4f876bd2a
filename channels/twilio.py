"""WhatsApp through Twilio: Rasa's Twilio channel with signed requests and asynchronous sending.

In: Twilio POSTs each message as a form to /webhooks/twilio/webhook, signed in
`X-Twilio-Signature` with the account's auth token over the URL it called and the form fields.
An unsigned or wrongly signed request is refused (403) before anything is read. Behind a proxy
the URL Twilio called differs from the one the server sees: `webhook_url` in the credentials is
then the public URL registered at Twilio. A typed "2" picks choice 2 of the last numbered list
(channels/choices.py); photos, voice messages and locations get the "I can only read text" reply.

Out: WhatsApp through Twilio has no buttons, so buttons always become a numbered list; texts in
WhatsApp mark-up, in parts of at most 1,600 characters (Twilio's limit). Messages are sent with
twilio's asynchronous client (one aiohttp session, created in the running loop, closed when the
server stops), so a slow Twilio API does not block the server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.choices import resolve
from channels.common import require_credentials
from channels.formatting import split_text, to_whatsapp
from channels.guard import guarded
from channels.texts import unsupported_message, with_numbered_choices

logger = logging.getLogger(__name__)
# twilio logs every request's URL and headers at INFO; only its warnings are of interest here.
http_logger = logging.getLogger(f"{__name__}.http")
http_logger.setLevel(logging.WARNING)

# Credentials key -> the environment variable credentials.yml reads it from (named in errors).
REQUIRED_CREDENTIALS = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_number": "TWILIO_WHATSAPP_NUMBER",
}
TEXT_LIMIT = 1600  # Twilio's limit for a message body
REQUEST_TIMEOUT_SECONDS = 20


class TwilioSender:
    """Sends messages with twilio's asynchronous client; errors are logged, never raised.

    The client (and its aiohttp session) is created on first use inside the running event loop
    and closed by `close()`. A 429 or 5xx answer (or no answer) is retried once. `api_url`
    replaces https://api.twilio.com (for a fake API in tests).
    """

    retry_delay_seconds = 1.0

    def __init__(self, account_sid: str, auth_token: str, api_url: Optional[str] = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_url = api_url
        self._http: Optional[AsyncTwilioHttpClient] = None
        self._client: Optional[Client] = None

    def client(self) -> Client:
        """The twilio client with an asynchronous HTTP client (created in the running loop)."""
        if self._client is None or self._http is None or self._http.session is None or self._http.session.closed:
            self._http = AsyncTwilioHttpClient(logger=http_logger)
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            if self.api_url:
                self._client.api.base_url = self.api_url.rstrip("/")
        return self._client

    async def send(self, **message: Any) -> bool:
        """Creates one message (`to`, `from_`, `body` or `media_url`); True when Twilio accepted it."""
        for attempt in (1, 2):
            try:
                created = await asyncio.wait_for(
                    self.client().messages.create_async(**message), timeout=REQUEST_TIMEOUT_SECONDS
                )
                logger.debug("Twilio message %s created", created.sid)
                return True
            except TwilioRestException as error:
                retry = error.status == 429 or error.status >= 500
                logger.error(
                    "Twilio refused a message (attempt %d): HTTP %s, error %s: %s",
                    attempt,
                    error.status,
                    error.code,
                    str(error.msg)[:300],
                )
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                retry = True
                logger.error("Twilio not reachable (attempt %d): %s", attempt, type(error).__name__)
            if not retry or attempt == 2:
                return False
            await asyncio.sleep(self.retry_delay_seconds)
        return False

    async def close(self) -> None:
        """Closes the HTTP session (a later send opens a new one)."""
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None


class TwilioWhatsAppOutput(OutputChannel):
    """Sends the assistant's replies through Twilio: WhatsApp mark-up, buttons as a numbered list."""

    @classmethod
    def name(cls) -> str:
        """The channel's name, as the input channel's."""
        return "twilio"

    def __init__(self, sender: TwilioSender, twilio_number: str) -> None:
        self.sender = sender
        self.twilio_number = twilio_number

    async def _send_formatted(self, recipient_id: str, text: str) -> None:
        for part in split_text(text, TEXT_LIMIT):
            await self.sender.send(to=recipient_id, from_=self.twilio_number, body=part)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Sends the text in WhatsApp mark-up, in parts of at most 1,600 characters."""
        await self._send_formatted(recipient_id, to_whatsapp(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """The text with the buttons as a numbered list (WhatsApp through Twilio has no buttons)."""
        await self._send_formatted(recipient_id, to_whatsapp(with_numbered_choices(text, buttons)))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Sends an image by its public URL."""
        await self.sender.send(to=recipient_id, from_=self.twilio_number, media_url=[image])

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Sends a custom payload as the arguments of Twilio's message create (as Rasa's channel does)."""
        message = dict(json_message)
        message.setdefault("to", recipient_id)
        if not message.get("messaging_service_sid"):
            message.setdefault("from_", self.twilio_number)
        await self.sender.send(**message)


def _form(request: Request) -> RequestParameters:
    """The form fields with the empty ones (Twilio signs an empty `Body` too; Sanic's `form` drops it)."""
    if not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        return RequestParameters()
    fields = parse_qs((request.body or b"").decode("utf-8", "replace"), keep_blank_values=True)
    return RequestParameters(fields)


class SignedTwilioInput(TwilioInput):
    """Rasa's Twilio channel (/webhooks/twilio/webhook) that only accepts requests Twilio signed."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's URL: /webhooks/twilio/webhook."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads the channel's settings; a missing secret stops the server with its variable's name."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        require_credentials(cls.name(), credentials, REQUIRED_CREDENTIALS)
        return cls(
            str(credentials["account_sid"]),
            str(credentials["auth_token"]),
            str(credentials["twilio_number"]),
            webhook_url=str(credentials.get("webhook_url") or "").strip() or None,
            api_url=str(credentials.get("api_url") or "").strip() or None,
        )

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        twilio_number: str,
        webhook_url: Optional[str] = None,
        api_url: Optional[str] = None,
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        self.webhook_url = webhook_url
        self.validator = RequestValidator(auth_token)
        self.sender = TwilioSender(account_sid, auth_token, api_url)

    def get_output_channel(self) -> OutputChannel:
        """Replies (and messages Rasa starts itself) go out through Twilio's asynchronous client."""
        return TwilioWhatsAppOutput(self.sender, self.twilio_number)

    def valid_signature(self, request: Request, form: RequestParameters) -> bool:
        """True when `X-Twilio-Signature` signs the public webhook URL (or the request's) and the form."""
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            return False
        url = self.webhook_url or request.url
        return self.validator.validate(url, form, signature)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's routes (GET / and POST /webhook), the webhook checking the signature first."""
        on_new_message = guarded(on_new_message)  # a failure gets a Dutch "probeer het zo nog eens"
        twilio_webhook = Blueprint("twilio_webhook", __name__)

        @twilio_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await self.sender.close()

        @twilio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            form = _form(request)
            if not self.valid_signature(request, form):
                logger.warning("Twilio webhook call refused: missing or wrong X-Twilio-Signature")
                return response.text("Forbidden", status=403)
            sender = form.get("From")
            if not sender:
                logger.warning("Twilio webhook call refused: no 'From'")
                return response.text("'From' is missing", status=400)
            message_id = form.get("MessageSid") or None
            agent = getattr(request.app.ctx, "agent", None)
            await self._handle(form, sender, message_id, on_new_message, getattr(agent, "tracker_store", None))
            return response.text("", status=204)

        return twilio_webhook

    async def _handle(
        self,
        form: Any,
        sender: str,
        message_id: Optional[str],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        tracker_store: Any,
    ) -> None:
        """One incoming message: to Rasa, or the "I can only read text" reply; errors are logged."""
        output = self.get_output_channel()
        try:
            text = form.get("Body") or ""
            media = str(form.get("NumMedia") or "0").strip()
            if (media.isdigit() and int(media) > 0) or self._is_location_message(form) or not text.strip():
                logger.info("Twilio message %s is not text: unsupported reply", message_id)
                await output.send_text_message(sender, unsupported_message())
                return
            text = await resolve(text.replace("¡", "@"), sender, tracker_store)  # "@" garbled by some carriers
            logger.info("Twilio message %s received", message_id)
            await on_new_message(UserMessage(text, output, sender, input_channel=self.name(), message_id=message_id))
        except Exception:
            logger.exception("Twilio message %s could not be handled", message_id)

    @classmethod
    def _is_location_message(cls, form: Any) -> bool:
        """True for a shared location (Twilio sends its coordinates, no text)."""
        return bool(form.get("Latitude") and form.get("Longitude"))
