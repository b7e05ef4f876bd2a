"""Rasa's REST channel with request checks: a malformed request gets a clear 4xx, never a 500."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage, PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import handle

MAX_SENDER_CHARS = 128
# A message that could not be handled: 503 with the Dutch "probeer het zo nog eens" reply.
RETRY_AFTER_SECONDS = 10
# Longer than any real message; the assistant answers messages over 2,000 characters with a
# Dutch request to shorten them, beyond this the request itself is refused (413).
MAX_MESSAGE_CHARS = 50_000


def _body(request: Request) -> Dict[str, Any]:
    body = request.json  # raises InvalidUsage (400) for malformed JSON
    if not isinstance(body, dict):
        raise InvalidUsage('The body must be a JSON object: {"sender": "...", "message": "..."}')
    return body


class CheckedRestInput(RestInput):
    """REST channel at /webhooks/rest/webhook that validates `sender`, `message` and `metadata`."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's URL: /webhooks/rest/webhook."""
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[str]:
        sender = _body(req).get("sender")
        if not isinstance(sender, str) or not sender.strip():
            raise InvalidUsage("'sender' must be a non-empty text (the conversation id)")
        if len(sender) > MAX_SENDER_CHARS:
            raise InvalidUsage(f"'sender' must be at most {MAX_SENDER_CHARS} characters")
        return sender

    def _extract_message(self, req: Request) -> Optional[str]:
        message = _body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("'message' must be text")
        if len(message) > MAX_MESSAGE_CHARS:
            raise PayloadTooLarge(f"'message' must be at most {MAX_MESSAGE_CHARS} characters")
        return message

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """Returns the optional `metadata` object of the request."""
        metadata = _body(request).get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidUsage("'metadata' must be a JSON object")
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / (health) and POST /webhook, answering as Rasa's REST channel does, except on failure.

        When the message cannot be handled (e.g. the lock store is unreachable), Rasa's channel
        answers 200 with no messages and logs the patient's text. Here the answer is 503 with a
        Retry-After header and the Dutch "probeer het zo nog eens" reply as the one message, and
        the log names the error only. Streaming (`?stream=true`) is not offered.
        """
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender_id,
                input_channel=self._extract_input_channel(request),
                metadata=self.get_metadata(request),
            )
            if await handle(on_new_message, message):
                return response.json(collector.messages)
            answers = collector.messages[:-1]  # before the "probeer het zo nog eens" reply
            if answers:
                # Answered and stored; the error came afterwards (e.g. releasing the lock).
                return response.json(answers)
            return response.json(collector.messages, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

        return webhook
