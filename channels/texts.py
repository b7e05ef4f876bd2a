"""The Dutch texts the channels add (numbered choices, "I can only read text"), from messages.yml."""

from __future__ import annotations

from typing import Any, Dict, Sequence

from actions.config import get_knowledge
from channels.formatting import numbered_choices


def with_numbered_choices(text: str, buttons: Sequence[Dict[str, Any]]) -> str:
    """The text with the buttons as a numbered list the patient answers with the number."""
    messages = get_knowledge().messages
    return numbered_choices(text, buttons, messages["choose_by_number"], messages["choice_line"])


def unsupported_message() -> str:
    """The reply to a photo, voice message, sticker or file."""
    return get_knowledge().message("channel_unsupported")


def unavailable_message() -> str:
    """The reply when a message cannot be handled now ("probeer het zo nog eens")."""
    return get_knowledge().message("service_unavailable")
