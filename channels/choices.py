"""A patient's choice on a channel without real buttons: "2", or a short button id, back to its payload.

WhatsApp (beyond three buttons, or through Twilio) shows the choices as a numbered list; the
patient answers "2". Telegram's inline keyboards and WhatsApp's reply buttons carry an id of
at most 64/256 characters, shorter than some payloads. Both are resolved against the buttons of
the bot's messages in the conversation's tracker, so any Rasa instance can resolve them (no
memory in the channel). Anything else is passed on unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Dict, Iterable, List, Optional

logger = logging.getLogger(__name__)

NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
HASHED_PREFIX = "b:"


def button_id(payload: str, max_length: int) -> str:
    """The payload itself when it fits, else "b:" and a hash of it (resolved by `resolve`)."""
    if len(payload.encode("utf-8")) <= max_length:
        return payload
    return HASHED_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _last_offered(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The buttons of the bot's newest message with buttons since the patient's last message."""
    for event in reversed(events):
        if event.get("event") == "user":
            break
        buttons = _buttons(event)
        if buttons:
            return buttons
    return []


def _buttons(event: Dict[str, Any]) -> List[Dict[str, Any]]:
    return (event.get("data") or {}).get("buttons") or [] if event.get("event") == "bot" else []


def resolve_in_events(text: str, events: Iterable[Dict[str, Any]]) -> Optional[str]:
    """The payload `text` stands for (a number in the last list, or a hashed button id), or None."""
    events = list(events)
    if text.startswith(HASHED_PREFIX):
        for event in reversed(events):
            for button in _buttons(event):
                payload = str(button.get("payload", ""))
                if button_id(payload, 0) == text:
                    return payload
        return None
    number = NUMBER.match(text)
    if not number:
        return None
    buttons = _last_offered(events)
    index = int(number.group(1)) - 1
    if 0 <= index < len(buttons):
        return str(buttons[index].get("payload", "")) or None
    return None


async def resolve(text: str, sender_id: str, tracker_store: Any) -> str:
    """The payload behind a number or button id in this conversation; otherwise `text` unchanged."""
    if not (text.startswith(HASHED_PREFIX) or NUMBER.match(text)) or tracker_store is None:
        return text
    try:
        tracker = await tracker_store.retrieve(sender_id)
    except Exception:  # a store that cannot be read: the message goes on as typed
        logger.exception("Could not read the conversation to resolve a numbered choice")
        return text
    if tracker is None:
        return text
    events = [event.as_dict() for event in tracker.events]
    return resolve_in_events(text, events) or text
