"""The front desk's view of conversations: the queue, a transcript, and staff actions via Rasa's HTTP API.

The queue is built from the open handoff records (actions/handoff.py) and each conversation's
tracker. Staff replies, pausing and resuming go through Rasa's HTTP API, so that the tracker
store, the lock store and the patient's channel are used exactly as for the assistant's own
replies: `POST /conversations/<id>/tracker/events?output_channel=latest&execute_side_effects=true`
adds the staff's message as a bot message and sends it through the channel the patient used last.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote

import requests

from web.desk.labels import UNKNOWN_CHANNEL, channel_label, tier_label

logger = logging.getLogger(__name__)

# Most urgent first; a request for a person (no tier) last.
TIER_ORDER = {"emergency_112": 0, "crisis": 1, "emergency": 2, "same_day": 3, "gp_soon": 4}
# Channels whose replies reach the patient when sent from the console.
PUSH_CHANNELS = ("socketio", "telegram", "whatsapp", "twilio")
MAX_REPLY_CHARS = 2000


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer or refused the request."""


@dataclass
class RasaApi:
    """The part of Rasa's HTTP API the console uses (needs the API token)."""

    base_url: str
    token: str
    timeout_s: float = 10.0

    def _url(self, conversation_id: str, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/conversations/{quote(conversation_id, safe='')}/{path}"

    def tracker(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The conversation's tracker with all its events; None when it has none."""
        try:
            response = requests.get(
                self._url(conversation_id, "tracker"),
                params={"token": self.token, "include_events": "ALL"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa is not reachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        tracker = response.json()
        return tracker if tracker.get("events") else None

    def add_events(self, conversation_id: str, events: List[Dict[str, Any]], send: bool = False) -> Dict[str, Any]:
        """Adds events to a conversation; with `send`, its bot messages go out on the patient's channel."""
        params = {"token": self.token}
        if send:
            params.update({"output_channel": "latest", "execute_side_effects": "true"})
        try:
            response = requests.post(
                self._url(conversation_id, "tracker/events"), params=params, json=events, timeout=self.timeout_s
            )
        except requests.RequestException as error:
            raise RasaUnavailable(f"Rasa is not reachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        return response.json()


@dataclass
class Line:
    """One message of a transcript."""

    who: str  # "patient", "assistant" or "staff"
    text: str
    at: float
    by: str = ""
    buttons: List[str] = field(default_factory=list)


@dataclass
class Conversation:
    """What the console shows of one conversation."""

    conversation_id: str
    channel: Optional[str]
    channel_label: str
    paused: bool
    lines: List[Line]
    can_push: bool


def channel_of(tracker: Dict[str, Any]) -> Optional[str]:
    """The channel of the patient's latest message."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user" and event.get("input_channel"):
            return event["input_channel"]
    return None


def transcript(tracker: Dict[str, Any]) -> List[Line]:
    """The messages of a conversation, oldest first (button payloads shown as their words)."""
    lines: List[Line] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        at = float(event.get("timestamp") or 0)
        if kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                text = "(knop) " + text.split("{", 1)[0].lstrip("/")
            lines.append(Line("patient", text, at))
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            staff = metadata.get("staff")
            buttons = [b.get("title", "") for b in (event.get("data") or {}).get("buttons") or []]
            who = "staff" if staff else "assistant"
            lines.append(Line(who, event.get("text") or "", at, by=str(staff or ""), buttons=buttons))
    return lines


def conversation(tracker: Dict[str, Any]) -> Conversation:
    """A tracker as the console shows it."""
    channel = channel_of(tracker)
    return Conversation(
        conversation_id=tracker.get("sender_id", ""),
        channel=channel,
        channel_label=channel_label(channel),
        paused=bool(tracker.get("paused")),
        lines=transcript(tracker),
        can_push=channel in PUSH_CHANNELS,
    )


@dataclass
class QueueItem:
    """A conversation waiting for the front desk."""

    conversation_id: str
    tier: Optional[str]
    tier_label: str
    urgency: int
    reason: str
    created_at: float
    flagged_text: str
    handoffs: int
    channel_label: str = UNKNOWN_CHANNEL
    paused: bool = False
    # The patient wrote after the last message from staff (or the assistant): an answer is due.
    waiting: bool = False

    def as_json(self) -> Dict[str, Any]:
        """For the console's automatic refresh."""
        return {
            "conversation_id": self.conversation_id,
            "tier": self.tier,
            "tier_label": self.tier_label,
            "urgency": self.urgency,
            "reason": self.reason,
            "created_at": self.created_at,
            "time": time.strftime("%d-%m %H:%M", time.localtime(self.created_at)),
            "flagged_text": self.flagged_text,
            "handoffs": self.handoffs,
            "channel": self.channel_label,
            "paused": self.paused,
            "waiting": self.waiting,
        }


def build_queue(
    open_handoffs: List[Dict[str, Any]], tracker_of: Optional[Callable[[str], Optional[Dict[str, Any]]]] = None
) -> List[QueueItem]:
    """One item per conversation with open handoffs: most urgent first, then newest first.

    The item takes the most urgent tier of its open handoffs, and the time and flagged text of
    the newest; `tracker_of` (when given) adds the channel and whether staff have taken over.
    """
    items: Dict[str, QueueItem] = {}
    for row in open_handoffs:
        tier = row.get("tier") if row.get("reason") == "red_flag" else None
        urgency = TIER_ORDER.get(tier, len(TIER_ORDER)) if tier else len(TIER_ORDER) + 1
        item = items.get(row["conversation_id"])
        if item is None:
            items[row["conversation_id"]] = QueueItem(
                conversation_id=row["conversation_id"],
                tier=tier,
                tier_label=tier_label(tier),
                urgency=urgency,
                reason=row.get("reason", ""),
                created_at=float(row["created_at"]),
                flagged_text=row.get("flagged_text", ""),
                handoffs=1,
            )
            continue
        item.handoffs += 1
        if urgency < item.urgency:
            item.tier, item.tier_label, item.urgency, item.reason = (
                tier,
                tier_label(tier),
                urgency,
                row.get("reason", ""),
            )
        if float(row["created_at"]) > item.created_at:
            item.created_at, item.flagged_text = float(row["created_at"]), row.get("flagged_text", "")
    result = sorted(items.values(), key=lambda i: (i.urgency, -i.created_at))
    if tracker_of is not None:
        for item in result:
            try:
                tracker = tracker_of(item.conversation_id)
            except RasaUnavailable:
                continue
            if tracker:
                channel = channel_of(tracker)
                item.channel_label = channel_label(channel)
                item.paused = bool(tracker.get("paused"))
                item.waiting = item.paused and patient_waiting(tracker)
    return result


def patient_waiting(tracker: Dict[str, Any]) -> bool:
    """True when the patient's latest message came after the latest message to them."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user":
            return True
        if event.get("event") == "bot":
            return False
    return False


def staff_reply_events(text: str, by: str) -> List[Dict[str, Any]]:
    """The events of a staff reply: the assistant pauses (staff have taken over) and the message."""
    return [
        {"event": "pause", "timestamp": time.time()},
        {"event": "bot", "text": text, "metadata": {"staff": by}, "timestamp": time.time()},
    ]


def resume_events() -> List[Dict[str, Any]]:
    """The event that gives the conversation back to the assistant."""
    return [{"event": "resume", "timestamp": time.time()}]
