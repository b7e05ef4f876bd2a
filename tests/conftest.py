"""Shared fixtures: the shipped data files, copies to break, trackers built inline."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = ROOT / "data" / "knowledge"


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of data/knowledge, for tests that break one file."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


def make_tracker(
    text: str,
    intent: Optional[str],
    *,
    slots: Optional[Dict[str, Any]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    sender: str = "test-user",
    earlier: Optional[List[str]] = None,
) -> Tracker:
    """Builds a tracker whose latest user message is `text` with NLU result `intent`.

    `earlier` are the patient's messages before it (each followed by the assistant's turn).
    """
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9} if intent else {},
        "intent_ranking": ranking or ([{"name": intent, "confidence": 0.9}] if intent else []),
        "entities": [],
    }
    events: List[Dict[str, Any]] = []
    for before in earlier or []:
        events += [{"event": "action", "name": "action_listen"}, user_event(before)]
        events += [{"event": "action", "name": "action_answer_topic"}]
    events += [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": latest}]
    return Tracker(
        sender_id=sender,
        slots={"topic": None, **(slots or {})},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def slots_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots an action set, by name."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def run_action(action: Any, tracker: Tracker) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Runs a custom action on a tracker; returns the messages it sent and the events it returned."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


@pytest.fixture(autouse=True)
def review_store(tmp_path, monkeypatch):
    """Detector disagreements are stored in a fresh database under the test's temporary folder."""
    from actions import config

    monkeypatch.setattr(config, "REVIEW_DB", tmp_path / "red_flag_review.db")
    config.get_review_store.cache_clear()
    yield
    config.get_review_store.cache_clear()


@pytest.fixture
def handoffs(tmp_path, monkeypatch):
    """The handoff service writing to a fresh database (and no notification URL)."""
    from actions import config

    monkeypatch.setattr(config, "HANDOFF_DB", tmp_path / "handoffs.db")
    monkeypatch.setattr(config, "HANDOFF_WEBHOOK", "")
    config.get_handoff_service.cache_clear()
    yield config.get_handoff_service()
    config.get_handoff_service.cache_clear()


def user_event(text: str, intent: Optional[str] = None) -> Dict[str, Any]:
    """A user event as the Rasa server sends it to the action server."""
    return {"event": "user", "text": text, "parse_data": {"text": text, "intent": {"name": intent}}}
