"""Rasa's REST channel with request checks: a malformed request gets a clear 4xx, never a 500."""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage, PayloadTooLarge
from sanic.request import Request

MAX_SENDER_CHARS = 128
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
