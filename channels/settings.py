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
from typing import Any, List, Mapping, Optional

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
