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
    selector: Optional[List[Tuple[str, float]]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    """Builds a tracker whose latest user message is `text` with NLU result `intent`.

    `earlier` are the patient's messages before it (each followed by the assistant's turn);
    `selector` the ResponseSelector's ranking as (`intent/key`, confidence).
    """
    latest = make_parse(intent, 0.9, selector=selector, ranking=ranking, entities=entities)
    latest["text"] = text
    events: List[Dict[str, Any]] = []
    for before in earlier or []:
        events += [{"event": "action", "name": "action_listen"}, user_event(before)]
        events += [{"event": "action", "name": "action_answer"}]
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


@pytest.fixture(autouse=True)
def hermetic_handoffs(tmp_path_factory, monkeypatch):
    """Any action that hands off (a request for a person, a red flag) writes to its own temporary folder."""
    from actions import config

    monkeypatch.setattr(config, "HANDOFF_DB", tmp_path_factory.mktemp("handoffs") / "handoffs.db")
    monkeypatch.setattr(config, "HANDOFF_WEBHOOK", "")
    config.get_handoff_service.cache_clear()
    yield
    config.get_handoff_service.cache_clear()


@pytest.fixture
def handoffs(hermetic_handoffs):
    """The handoff service writing to a fresh database (and no notification URL)."""
    from actions import config

    return config.get_handoff_service()


def user_event(text: str, intent: Optional[str] = None) -> Dict[str, Any]:
    """A user event as the Rasa server sends it to the action server."""
    return {"event": "user", "text": text, "parse_data": {"text": text, "intent": {"name": intent}}}


def make_parse(
    intent: Optional[str],
    confidence: float = 0.9,
    *,
    selector: Optional[List[Tuple[str, float]]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    """An NLU parse as Rasa gives it: DIET's intent and ranking, the ResponseSelector's ranking."""
    parse: Dict[str, Any] = {
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "intent_ranking": ranking or ([{"name": intent, "confidence": confidence}] if intent else []),
        "entities": entities or [],
    }
    if selector:
        parse["response_selector"] = {
            "default": {
                "response": {"intent_response_key": selector[0][0], "confidence": selector[0][1]},
                "ranking": [{"intent_response_key": key, "confidence": c} for key, c in selector],
            }
        }
    return parse


MODEL = ROOT / "models" / "backbot.tar.gz"


@pytest.fixture(scope="session")
def nlu():
    """The trained Rasa model's parse function (NLU only), loaded once for the session.

    `make test` trains first; without a model the tests that need it fail under CI and skip
    elsewhere, saying why.
    """
    import os

    if not MODEL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no trained model at {MODEL}: `make test` trains it first")
        pytest.skip(f"no trained model at {MODEL}: run `make train`")
    from scripts.evaluate_answers import load_agent, parser

    parse = parser(load_agent(MODEL))
    yield parse
