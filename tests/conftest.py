"""Shared fixtures: the shipped data files, copies to break, trackers built inline."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

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


# --- The running assistant (Rasa server, action server, demo page), shared by the tests that need it.
# Other ports than `make run`, so the tests also pass next to a running assistant.
LIVE_RASA_PORT, LIVE_ACTIONS_PORT, LIVE_WEB_PORT = 5105, 5155, 8180
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "telegram-secret-for-tests"
WHATSAPP = {
    "access_token": "whatsapp-access-token",
    "phone_number_id": "1098765",
    "app_secret": "whatsapp-app-secret",
    "verify_token": "whatsapp-verify-token",
}


def live_credentials(path: Path, fake_api_url: str) -> Path:
    """The committed channels plus Telegram and WhatsApp pointed at the fake APIs (never the internet)."""
    import yaml

    data = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    data["channels.telegram.TelegramInput"] = {
        "access_token": TELEGRAM_TOKEN,
        "verify": "rugbot",
        "webhook_url": "https://chat.example.invalid/webhooks/telegram/webhook",
        "secret_token": TELEGRAM_SECRET,
        "api_url": fake_api_url,
    }
    data["channels.whatsapp.WhatsAppInput"] = {**WHATSAPP, "api_url": fake_api_url}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def fake_apis():
    """A fake Telegram Bot API and WhatsApp Graph API on 127.0.0.1."""
    from tests.fake_apis import FakeApis

    apis = FakeApis().start()
    yield apis
    apis.stop()


@pytest.fixture(scope="session")
def live(tmp_path_factory, fake_apis):
    """The assistant as `make run` starts it, with its own tokens, databases and logs in a temporary folder."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from servers import Servers

    run_dir: Path = tmp_path_factory.mktemp("run")
    servers = Servers(
        rasa_port=LIVE_RASA_PORT,
        actions_port=LIVE_ACTIONS_PORT,
        web_port=LIVE_WEB_PORT,
        tracker_db=run_dir / "conversations.db",
        log_dir=run_dir,
        credentials=live_credentials(run_dir / "credentials.yml", fake_apis.url),
    )
    with servers:
        yield servers


# --- A throwaway PostgreSQL database (the tracker store in production), for the privacy and insight tests.
POSTGRES = {
    "host": os.environ.get("BACKBOT_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("BACKBOT_TEST_PG_PORT", "5432")),
    "user": os.environ.get("BACKBOT_TEST_PG_USER", "postgres"),
}


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty database on the PostgreSQL server (127.0.0.1:5432), dropped afterwards.

    When the server is not reachable the test says so and skips; under CI (CI=true) it fails.
    """
    import secrets

    import psycopg2

    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **POSTGRES)
    except psycopg2.OperationalError as error:
        reason = f"PostgreSQL not reachable on {POSTGRES['host']}:{POSTGRES['port']} as {POSTGRES['user']}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    admin.autocommit = True
    name = f"backbot_test_{secrets.token_hex(6)}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The name of a throwaway PostgreSQL database for one test."""
    with throwaway_database() as name:
        yield name


# --- The production profile (`make prod`) on throwaway PostgreSQL and Redis servers, for the
# production, load and fault tests (one start per test session: it takes about half a minute).
THROWAWAY_PG_PORT = 5499
THROWAWAY_REDIS_PORT = 6399


def _needed(reason: str) -> None:
    """Skips with the reason, or fails under CI (CI=true), where every service must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def production_services(tmp_path_factory) -> Iterator[Dict[str, Any]]:
    """Throwaway PostgreSQL and Redis servers of the production tests' own (the fault tests restart them)."""
    from .services import ThrowawayPostgres, ThrowawayRedis

    folder = Path(tempfile.mkdtemp(prefix="backbot-services-"))
    postgres = ThrowawayPostgres(folder / "postgres", THROWAWAY_PG_PORT)
    redis = ThrowawayRedis(folder / "redis", THROWAWAY_REDIS_PORT)
    for service in (postgres, redis):
        if service.missing():
            _needed(service.missing())
    try:
        yield {"postgres": postgres.start(), "redis": redis.start()}
    finally:
        postgres.remove()
        redis.remove()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def production(tmp_path_factory, production_services) -> Iterator[Any]:
    """Two Rasa instances and action servers behind nginx under supervisord, as `make prod` runs them."""
    import secrets
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from prod import Production, port_block

    from channels.settings import load_production

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        _needed("nginx is not installed (Debian/Ubuntu: apt-get install nginx-light; `make install` does it as root)")
    settings = load_production({
        **port_block(4), "BACKBOT_PROD_INSTANCES": "2", "BACKBOT_ACTION_TIMEOUT": "4",
        "BACKBOT_DB_PORT": str(THROWAWAY_PG_PORT), "BACKBOT_DB_NAME": "backbot_prod_test",
        "BACKBOT_REDIS_PORT": str(THROWAWAY_REDIS_PORT), "BACKBOT_REDIS_PREFIX": f"test{secrets.token_hex(4)}",
    })  # fmt: skip
    profile = Production(
        settings, run_dir=tmp_path_factory.mktemp("prod"), token=secrets.token_urlsafe(16),
        action_token=secrets.token_urlsafe(16),
    )  # fmt: skip
    profile.services = production_services
    with profile:
        yield profile
