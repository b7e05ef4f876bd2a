"""Where the servers listen and what they accept: interface, ports, website origins and tokens.

Read from environment variables in this one module (scripts/servers.py, the action server and
the web server use it). Safe by default: every server listens on 127.0.0.1 only, the Rasa HTTP
API and the action server need a token, and only the demo page's own origins may use the chat.

    BACKBOT_HOST          interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
    BACKBOT_RASA_PORT     Rasa server: channels, socket.io, HTTP API (default 5005)
    BACKBOT_ACTIONS_PORT  action server and front desk (default 5055)
    BACKBOT_WEB_PORT      demo page with the chat widget (default 8080)
    BACKBOT_WEB_ORIGINS   website origins allowed to use the chat (comma-separated;
                          default http://localhost:<web port>,http://127.0.0.1:<web port>)
    BACKBOT_CHAT_URL      where browsers reach the Rasa server (default http://localhost:<rasa port>)
    RASA_TOKEN            token of the Rasa HTTP API (default: generated once into run/rasa-token)
    BACKBOT_ACTION_TOKEN  token of the action server and front desk (default: run/action-token)
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "run"


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name}={value!r} is not a port number (1-65535)")
    return int(value)


def stored_secret(path: Path) -> str:
    """The secret in `path`, created (random, readable by this user only) on first use."""
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return value


def parse_origins(value: Any) -> List[str]:
    """Website origins from a list or a comma/space-separated text; "*" is refused (ValueError)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
    result = [str(item).strip().rstrip("/") for item in items if str(item).strip()]
    if "*" in result:
        raise ValueError("list the website origins; '*' would let any site use the chat")
    return result


def default_origins(web_port: int) -> List[str]:
    """The demo page's own origins."""
    return [f"http://localhost:{web_port}", f"http://127.0.0.1:{web_port}"]


@dataclass(frozen=True)
class ServerSettings:
    """The listening and access settings of the three servers."""

    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    web_origins: List[str]
    chat_url: str
    rasa_token: str
    action_token: str


def load(environ: Optional[Mapping[str, str]] = None, run_dir: Path = RUN_DIR) -> ServerSettings:
    """The settings from the environment; tokens not set there are kept in `run_dir` (git-ignored)."""
    env = os.environ if environ is None else environ
    rasa_port = _port(env, "BACKBOT_RASA_PORT", 5005)
    web_port = _port(env, "BACKBOT_WEB_PORT", 8080)
    try:
        origins = parse_origins(env.get("BACKBOT_WEB_ORIGINS")) or default_origins(web_port)
    except ValueError as error:
        raise SystemExit(f"BACKBOT_WEB_ORIGINS: {error}") from None
    return ServerSettings(
        host=env.get("BACKBOT_HOST", "").strip() or "127.0.0.1",
        rasa_port=rasa_port,
        actions_port=_port(env, "BACKBOT_ACTIONS_PORT", 5055),
        web_port=web_port,
        web_origins=origins,
        chat_url=(env.get("BACKBOT_CHAT_URL", "").strip() or f"http://localhost:{rasa_port}").rstrip("/"),
        rasa_token=env.get("RASA_TOKEN", "").strip() or stored_secret(run_dir / "rasa-token"),
        action_token=env.get("BACKBOT_ACTION_TOKEN", "").strip() or stored_secret(run_dir / "action-token"),
    )


@dataclass(frozen=True)
class DeskSettings:
    """The staff console's settings (web/desk), also read in this one module.

    BACKBOT_DESK_DB              accounts and audit log (default run/desk.db)
    BACKBOT_DESK_SECRET          key that signs the session cookies (default: desk-secret beside
                                 the database, made once)
    BACKBOT_DESK_ADMIN_PASSWORD  password of the first account `admin` (default: random, in
                                 desk-admin-password beside the database)
    BACKBOT_DESK_SECURE_COOKIES  "true" behind HTTPS: cookies only over HTTPS (default false)
    BACKBOT_DESK_SESSION_HOURS   how long a login lasts (default 8)
    BACKBOT_DESK_LOGIN_LIMIT     login attempts per address (default "5 per minute;30 per hour")
    BACKBOT_DESK_LIMIT_STORAGE   where the login counts are kept (default memory://; redis://... for
                                 several web servers)
    BACKBOT_RETENTION_DAYS       delete conversations older than this many days, every night
                                 ("" or 0: keep them; `make purge DAYS=30` does it once)
    BACKBOT_RETENTION_AT         time of the nightly deletion (default 03:30)
    BACKBOT_ENDPOINTS            Rasa's endpoints file with the tracker store (default endpoints.yml)
    """

    db: Path
    secret: str
    admin_password: str
    admin_password_file: Path
    secure_cookies: bool
    session_hours: float
    login_limit: str
    limit_storage: str
    retention_days: Optional[int]
    retention_at: str
    endpoints: Path


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SystemExit(f"{name}={value!r}: use true or false")


def load_desk(environ: Optional[Mapping[str, str]] = None, run_dir: Path = RUN_DIR) -> DeskSettings:
    """The staff console's settings from the environment (secrets not set there are kept in `run_dir`)."""
    env = os.environ if environ is None else environ
    days_text = env.get("BACKBOT_RETENTION_DAYS", "").strip()
    if days_text and not days_text.isdigit():
        raise SystemExit(f"BACKBOT_RETENTION_DAYS={days_text!r}: give a whole number of days (0 or empty: off)")
    at = env.get("BACKBOT_RETENTION_AT", "").strip() or "03:30"
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise SystemExit(f"BACKBOT_RETENTION_AT={at!r}: give a time as HH:MM")
    hours_text = env.get("BACKBOT_DESK_SESSION_HOURS", "").strip() or "8"
    try:
        hours = float(hours_text)
    except ValueError:
        raise SystemExit(f"BACKBOT_DESK_SESSION_HOURS={hours_text!r}: give a number of hours") from None
    endpoints = Path(env.get("BACKBOT_ENDPOINTS", "").strip() or "endpoints.yml")
    db = Path(env.get("BACKBOT_DESK_DB", "").strip() or run_dir / "desk.db")
    return DeskSettings(
        db=db,
        secret=env.get("BACKBOT_DESK_SECRET", "").strip() or stored_secret(db.parent / "desk-secret"),
        admin_password=env.get("BACKBOT_DESK_ADMIN_PASSWORD", "").strip(),
        admin_password_file=db.parent / "desk-admin-password",
        secure_cookies=_flag(env, "BACKBOT_DESK_SECURE_COOKIES"),
        session_hours=hours,
        login_limit=env.get("BACKBOT_DESK_LOGIN_LIMIT", "").strip() or "5 per minute;30 per hour",
        limit_storage=env.get("BACKBOT_DESK_LIMIT_STORAGE", "").strip() or "memory://",
        retention_days=int(days_text) if days_text and int(days_text) > 0 else None,
        retention_at=at,
        endpoints=endpoints if endpoints.is_absolute() else ROOT / endpoints,
    )


@dataclass(frozen=True)
class ProductionSettings:
    """The production profile (`make prod`, scripts/prod.py), also read in this one module.

    BACKBOT_PROD_INSTANCES        Rasa instances and action servers (default 2)
    BACKBOT_PROD_PORT             nginx, the one public port (default 8000)
    BACKBOT_PROD_RASA_PORT        first Rasa instance's port; the next ones count up (default 5010)
    BACKBOT_PROD_ACTIONS_PORT     first action server's port (default 5060)
    BACKBOT_PROD_ACTIONS_LB_PORT  nginx's local port in front of the action servers (default 5059)
    BACKBOT_PROD_WEB_PORT         the web server behind nginx (default 8090)
    BACKBOT_PROD_PUBLIC_URL       how browsers reach nginx (default http://localhost:<port>)
    BACKBOT_DB_HOST / _PORT / _NAME / _USER / _PASSWORD   PostgreSQL (127.0.0.1 / 5432 / backbot /
                                  postgres / empty)
    BACKBOT_REDIS_HOST / _PORT / _DB / _PREFIX            Redis lock store (127.0.0.1 / 6379 / 1 / backbot)
    BACKBOT_ACTION_TIMEOUT        seconds an action may take before the patient gets the Dutch
                                  "probeer het zo nog eens" reply instead (default 10)
    """

    instances: int
    port: int
    rasa_ports: List[int]
    actions_ports: List[int]
    actions_lb_port: int
    web_port: int
    public_url: str
    database: Mapping[str, str]
    redis: Mapping[str, str]
    action_timeout_s: int = 10


def load_production(environ: Optional[Mapping[str, str]] = None) -> ProductionSettings:
    """The production profile's settings from the environment."""
    env = os.environ if environ is None else environ
    text = env.get("BACKBOT_PROD_INSTANCES", "").strip() or "2"
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise SystemExit(f"BACKBOT_PROD_INSTANCES={text!r}: give a number of instances from 1 to 16")
    instances = int(text)
    port = _port(env, "BACKBOT_PROD_PORT", 8000)
    first_rasa = _port(env, "BACKBOT_PROD_RASA_PORT", 5010)
    first_actions = _port(env, "BACKBOT_PROD_ACTIONS_PORT", 5060)
    timeout = env.get("BACKBOT_ACTION_TIMEOUT", "").strip() or "10"
    if not timeout.isdigit() or not 1 <= int(timeout) <= 300:
        raise SystemExit(f"BACKBOT_ACTION_TIMEOUT={timeout!r}: give a number of seconds from 1 to 300")
    prefix = env.get("BACKBOT_REDIS_PREFIX", "").strip() or "backbot"
    if not prefix.isalnum():
        raise SystemExit(f"BACKBOT_REDIS_PREFIX={prefix!r}: letters and digits only (Rasa's lock store)")
    return ProductionSettings(
        instances=instances,
        port=port,
        rasa_ports=[first_rasa + i for i in range(instances)],
        actions_ports=[first_actions + i for i in range(instances)],
        actions_lb_port=_port(env, "BACKBOT_PROD_ACTIONS_LB_PORT", 5059),
        web_port=_port(env, "BACKBOT_PROD_WEB_PORT", 8090),
        public_url=(env.get("BACKBOT_PROD_PUBLIC_URL", "").strip() or f"http://localhost:{port}").rstrip("/"),
        database={
            "BACKBOT_DB_HOST": env.get("BACKBOT_DB_HOST", "").strip() or "127.0.0.1",
            "BACKBOT_DB_PORT": str(_port(env, "BACKBOT_DB_PORT", 5432)),
            "BACKBOT_DB_NAME": env.get("BACKBOT_DB_NAME", "").strip() or "backbot",
            "BACKBOT_DB_USER": env.get("BACKBOT_DB_USER", "").strip() or "postgres",
            "BACKBOT_DB_PASSWORD": env.get("BACKBOT_DB_PASSWORD", ""),
        },
        redis={
            "BACKBOT_REDIS_HOST": env.get("BACKBOT_REDIS_HOST", "").strip() or "127.0.0.1",
            "BACKBOT_REDIS_PORT": str(_port(env, "BACKBOT_REDIS_PORT", 6379)),
            "BACKBOT_REDIS_DB": env.get("BACKBOT_REDIS_DB", "").strip() or "1",
            "BACKBOT_REDIS_PREFIX": prefix,
        },
        action_timeout_s=int(timeout),
    )


def socketio_redis(environ: Optional[Mapping[str, str]] = None) -> Optional[Tuple[str, str]]:
    """Redis for socket.io rooms shared by several Rasa instances: (URL, pub/sub channel), or None.

    BACKBOT_SOCKETIO_REDIS_URL  e.g. redis://127.0.0.1:6379/1 (unset: each instance on its own,
                                as `make run` needs); the channel is named after
                                BACKBOT_REDIS_PREFIX, so several deployments can share a server.
    """
    env = os.environ if environ is None else environ
    url = env.get("BACKBOT_SOCKETIO_REDIS_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SystemExit(f"BACKBOT_SOCKETIO_REDIS_URL={url!r}: give a redis:// URL")
    prefix = env.get("BACKBOT_REDIS_PREFIX", "").strip() or "backbot"
    return url, f"{prefix}-socketio"


LOG_FORMATS = ("text", "json")


def log_format(environ: Optional[Mapping[str, str]] = None) -> str:
    """How the servers write their log lines: BACKBOT_LOG_FORMAT, "text" (default) or "json".

    "json" is one JSON object per line (actions/privacy/jsonlog.py), for a log collector; the Rasa
    server then needs logging.json.yml instead of logging.yml. BACKBOT_PROCESS_NAME names the
    process in each JSON line (e.g. "rasa-1"; `process_name`).
    """
    env = os.environ if environ is None else environ
    value = env.get("BACKBOT_LOG_FORMAT", "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise SystemExit(f"BACKBOT_LOG_FORMAT={value!r}: use text or json")
    return value


def process_name(default: str = "", environ: Optional[Mapping[str, str]] = None) -> str:
    """The process's name in the JSON log lines: BACKBOT_PROCESS_NAME, else `default`."""
    env = os.environ if environ is None else environ
    return env.get("BACKBOT_PROCESS_NAME", "").strip() or default
