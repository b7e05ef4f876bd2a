"""The Dutch names staff read for escalation tiers and channels (queue, transcript, insight)."""

from __future__ import annotations

from typing import Mapping, Optional, Tuple

# Escalation tiers, most urgent first, with what they mean for the practice.
TIERS: Tuple[str, ...] = ("emergency_112", "emergency", "same_day", "gp_soon", "crisis")
OTHER_TIER = "other"
TIER_LABELS: Mapping[str, str] = {
    "emergency_112": "Direct 112",
    "emergency": "Direct naar de huisarts of huisartsenpost",
    "same_day": "Vandaag naar de huisarts",
    "gp_soon": "Binnenkort naar de huisarts",
    "crisis": "Crisis (113 of 112)",
    OTHER_TIER: "Overig",
}

# Rasa's channel names (channels/*.py `name()`) as the practice knows them.
CHANNEL_LABELS: Mapping[str, str] = {
    "socketio": "Website",
    "whatsapp": "WhatsApp",
    "twilio": "WhatsApp (via Twilio)",
    "telegram": "Telegram",
    "rest": "Koppeling (REST)",
    "cmdline": "Testomgeving",
}
UNKNOWN_CHANNEL = "Onbekend"
# A handoff without a tier: the patient asked for a person.
HUMAN_LABEL = "Wil een medewerker spreken"


def channel_label(channel: Optional[str]) -> str:
    """The Dutch display name of a Rasa input channel."""
    if not channel:
        return UNKNOWN_CHANNEL
    return CHANNEL_LABELS.get(channel, channel)


def tier_label(tier: Optional[str]) -> str:
    """The Dutch name of a tier; a handoff without one is a request for a person."""
    return TIER_LABELS.get(tier, tier) if tier else HUMAN_LABEL
