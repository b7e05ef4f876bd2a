"""A patient's request to delete their conversation ("verwijder mijn gegevens") and their answer.

Read by `decide` before anything but a red flag: the request is answered with a question for
confirmation; "ja" (typed or the button) then deletes the conversation, "nee" keeps it.
"""

from __future__ import annotations

import re
from typing import Optional

from actions.text import fold

# "verwijder/wis/vernietig ... mijn gegevens/gesprek/chat/data/berichten", also the other way
# round ("mijn gegevens verwijderen") and "vergeet mij" / "recht op vergetelheid".
_DELETE = r"(verwijder\w*|wis\b|wissen|wist\b|vernietig\w*|delete\w*|haal\w*\b.{0,30}\bweg|weghalen|schrap\w*)"
_WHAT = r"(gegevens|data|gesprek\w*|chat\w*|bericht\w*|geschiedenis|persoonsgegevens|info\w*|alles wat ik\b)"
_REQUEST = re.compile(
    rf"\b{_DELETE}\b.{{0,40}}\b{_WHAT}|\b{_WHAT}.{{0,40}}\b{_DELETE}|\bvergeet (mij|me|alles)\b|\bvergetelheid\b"
    rf"|\bhaal\w*\b.{{0,20}}\b{_WHAT}.{{0,10}}\bweg\b"
)
_YES = re.compile(
    r"^(ja|jawel|jazeker|zeker|graag|ja graag|ok|oke|okay|prima|doe maar|ja verwijder\w*.*|verwijder\w*.*)$"
)
_NO = re.compile(r"^(nee|neen|nee hoor|nee dank\w*|niet|liever niet|toch niet|nee bewaar\w*.*|bewaar\w*.*|stop)$")

# Questions about what happens to their data ("wat doen jullie met mijn gegevens?", "AVG").
_ABOUT = re.compile(
    r"\b(privacy|avg|gdpr|persoonsgegevens)\b"
    r"|\b(mijn|uw|jullie|de|deze|dit) (gegevens|data|chats?|gesprekk?e?n?|berichten)\b.{0,40}"
    r"\b(bewaar\w*|opgeslagen|opslaan|gedaan|lezen|leest|gelezen|zien|delen|gedeeld)\b"
    r"|\b(doen|gebeurt|bewaar\w*|lees\w*|leest|slaan?|delen)\b.{0,30}"
    r"\b(mijn|uw|deze|dit|de) (gegevens|data|gesprek|chat|berichten)\b"
)

YES_INTENTS = ("affirm",)
NO_INTENTS = ("deny", "stop_check")


def _clean(text: str) -> str:
    return re.sub(r"[^\w\s]", " ", fold(text)).split("\n")[0].strip()


def asks_deletion(text: str) -> bool:
    """True when the patient asks to delete their data or conversation."""
    return bool(_REQUEST.search(" ".join(_clean(text).split())))


def asks_about_privacy(text: str) -> bool:
    """True when the patient asks what happens to their data (and does not ask to delete it)."""
    words = " ".join(_clean(text).split())
    return bool(_ABOUT.search(words)) and not asks_deletion(text)


def answer_to_confirmation(text: str, intent: Optional[str]) -> Optional[bool]:
    """True for yes, False for no, None when the message answers something else."""
    words = " ".join(_clean(text).split())
    if _NO.match(words) or (not words and intent in NO_INTENTS):
        return False
    if _YES.match(words) or (not words and intent in YES_INTENTS):
        return True
    return None
