"""Redaction of personal details in Dutch texts (interface stub; being completed)."""

from __future__ import annotations

import copy
import re
from typing import Any, Dict

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """The text with personal details replaced by placeholders."""
    return EMAIL.sub("[e-mail]", text)


def redact_event(data: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of a Rasa event dict with the patient's words redacted."""
    data = copy.deepcopy(data)
    if data.get("event") == "user":
        if isinstance(data.get("text"), str):
            data["text"] = redact(data["text"])
    return data
