"""The practice's demo page with the chat widget on http://localhost:8080/, and the staff console on /desk/.

    python -m web.server [--port 8080]

Flask served by waitress (a multi-threaded WSGI server). The staff console (web/desk/) needs a
login; the first start creates the account `admin` (password in run/desk-admin-password, or
BACKBOT_DESK_ADMIN_PASSWORD). With BACKBOT_RETENTION_DAYS set, this process also deletes old
conversations every night (actions/privacy/retention.py).

Serves `web/site/` and rasa-webchat's ready browser bundle (installed by `make install` from
web/package-lock.json into web/node_modules/), from the same origin, with its Google Fonts import
removed and its few English screen-reader texts in Dutch, so a patient's browser makes no request to
a third party. The widget talks to the Rasa server's socket.io channel (BACKBOT_CHAT_URL); a strict
Content-Security-Policy allows only this page and that server.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import logging
import re
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, Response  # noqa: E402

from channels import settings as server_settings  # noqa: E402

logger = logging.getLogger("backbot.web")

WEB_DIR = Path(__file__).resolve().parent
SITE_DIR = WEB_DIR / "site"
BUNDLE = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

# The bundle's CSS imports a font from Google; the widget falls back to the page's own fonts.
FONT_IMPORT = re.compile(r"@import url\(https://fonts\.googleapis\.com/[^)]*\);")
# Screen-reader texts and hints the widget has no setting for.
DUTCH_TEXTS: Dict[str, str] = {
    'alt:"close"': 'alt:"Sluit de chat"',
    'alt:"send"': 'alt:"Verstuur"',
    'alt:"toggle fullscreen"': 'alt:"Volledig scherm aan of uit"',
    'alt:"chat avatar"': 'alt:"Assistent"',
    'alt:"profile"': 'alt:"Assistent"',
    '"Select an option..."': '"Kies een antwoord..."',
}


class BundleMissing(RuntimeError):
    """rasa-webchat is not installed (node/npm missing or `make install` not run)."""


@lru_cache(maxsize=1)
def widget_bundle() -> str:
    """rasa-webchat's bundle without third-party requests and with Dutch screen-reader texts."""
    if not BUNDLE.exists():
        raise BundleMissing(
            f"{BUNDLE.relative_to(WEB_DIR.parent)} is missing: run `make install` (needs Node.js and npm)"
        )
    text = FONT_IMPORT.sub("", BUNDLE.read_text(encoding="utf-8"))
    if "fonts.googleapis.com" in text:
        raise BundleMissing("the widget bundle still loads Google Fonts: update FONT_IMPORT in web/server.py")
    for english, dutch in DUTCH_TEXTS.items():
        text = text.replace(english, dutch)
    return text


def content_security_policy(chat_url: str) -> str:
    """Only this page and the Rasa server (HTTP and WebSocket) may be contacted."""
    parts = urlsplit(chat_url)
    websocket = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}"
    return (
        "default-src 'self'; "
        f"connect-src 'self' {parts.scheme}://{parts.netloc} {websocket}; "
        "img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
    )


def build_app(settings: server_settings.ServerSettings, desk: Optional[object] = None) -> Flask:
    """The web app: the demo page, its script and style, the widget bundle, a health check and the console.

    `desk` is a `web.desk.app.DeskServices` (with its settings in `desk_settings`), or None for
    the demo page alone.
    """
    app = Flask(__name__, static_folder=None)
    csp = content_security_policy(settings.chat_url)
    widget_config = json.dumps({"socketUrl": settings.chat_url})

    @app.after_request
    def security_headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", csp)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return resp

    @app.get("/")
    def index() -> Response:
        page = (SITE_DIR / "index.html").read_text(encoding="utf-8")
        return Response(page.replace("{{WIDGET_CONFIG}}", html.escape(widget_config, quote=True)), mimetype="text/html")

    @app.get("/webchat.js")
    def bundle() -> Response:
        try:
            body = widget_bundle()
        except BundleMissing as error:
            logger.error("%s", error)
            return Response(f"// {error}\n", status=503, content_type=STATIC_TYPES[".js"])
        return Response(body, content_type=STATIC_TYPES[".js"], headers={"Cache-Control": "max-age=3600"})

    @app.get("/static/<name>")
    def static(name: str) -> Response:
        path = SITE_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            return Response("Niet gevonden", status=404, mimetype="text/plain")
        return Response(path.read_text(encoding="utf-8"), content_type=STATIC_TYPES[path.suffix])

    @app.get("/health")
    def health() -> Response:
        return Response(json.dumps({"status": "ok", "widget": BUNDLE.exists()}), mimetype="application/json")

    if desk is not None:
        from web.desk.app import init_desk  # noqa: PLC0415 - the console only when asked for

        desk_settings: server_settings.DeskSettings = desk.extra["settings"]
        init_desk(
            app,
            desk,
            secret=desk_settings.secret,
            secure_cookies=desk_settings.secure_cookies,
            session_hours=desk_settings.session_hours,
            login_limit=desk_settings.login_limit,
            limit_storage=desk_settings.limit_storage,
        )
    return app


def desk_services(settings: server_settings.ServerSettings, desk_settings: server_settings.DeskSettings):
    """The console's services for the running assistant: accounts, Rasa's API, handoffs, tracker store."""
    from actions.config import get_handoff_service, get_knowledge  # noqa: PLC0415
    from web.desk.accounts import Accounts  # noqa: PLC0415
    from web.desk.app import DeskServices, action_server_ask  # noqa: PLC0415
    from web.desk.conversations import RasaApi  # noqa: PLC0415

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    engine_cache: Dict[str, object] = {}
    knowledge = get_knowledge()

    def tracker_engine():
        if "engine" not in engine_cache:
            from actions.privacy.retention import tracker_store_from_endpoints  # noqa: PLC0415

            engine_cache["engine"] = tracker_store_from_endpoints(desk_settings.endpoints).engine
        return engine_cache["engine"]

    def delete_conversation(conversation_id: str):
        from actions.privacy.retention import delete_conversation as delete  # noqa: PLC0415

        return delete(conversation_id, endpoints=desk_settings.endpoints)

    return DeskServices(
        accounts=Accounts(desk_settings.db),
        rasa=RasaApi(f"http://{host}:{settings.rasa_port}", settings.rasa_token),
        handoffs=get_handoff_service().store,
        ask=action_server_ask(f"http://{host}:{settings.actions_port}", settings.action_token),
        tracker_engine=tracker_engine,
        delete_conversation=delete_conversation,
        staff_message=lambda text: knowledge.message("staff_reply", text=text),
        extra={"settings": desk_settings},
    )


def seconds_until(at: str, now: Optional[datetime.datetime] = None) -> float:
    """Seconds from `now` until the next HH:MM (local time)."""
    now = now or datetime.datetime.now()
    hour, minute = (int(part) for part in at.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += datetime.timedelta(days=1)
    return (target - now).total_seconds()


def start_nightly_purge(desk_settings: server_settings.DeskSettings) -> Optional[threading.Thread]:
    """Deletes conversations older than BACKBOT_RETENTION_DAYS every night at BACKBOT_RETENTION_AT."""
    if not desk_settings.retention_days:
        logger.info("Retention: conversations are kept until `make purge DAYS=N` (BACKBOT_RETENTION_DAYS not set)")
        return None

    def loop() -> None:
        from actions.privacy.retention import purge  # noqa: PLC0415

        while True:
            time.sleep(seconds_until(desk_settings.retention_at))
            try:
                report = purge(desk_settings.retention_days, endpoints=desk_settings.endpoints)
                logger.info("Nightly retention: %s", report)
            except Exception:  # noqa: BLE001 - the next night tries again; the error is logged
                logger.exception("Nightly retention failed")

    thread = threading.Thread(target=loop, name="nightly-purge", daemon=True)
    thread.start()
    logger.info(
        "Retention: conversations older than %d days are deleted every night at %s",
        desk_settings.retention_days,
        desk_settings.retention_at,
    )
    return thread


def main() -> int:
    """Serves the demo page and the staff console until stopped."""
    from waitress import serve  # noqa: PLC0415

    from actions.privacy import logs  # noqa: PLC0415
    from web.desk.accounts import ensure_first_admin  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    logs.configure(server_settings.log_format(), process="web")  # redacted; text or JSON lines
    settings = server_settings.load()
    desk_settings = server_settings.load_desk()
    try:
        widget_bundle()
    except BundleMissing as error:
        logger.error("Website widget: %s", error)
    services = desk_services(settings, desk_settings)
    if ensure_first_admin(services.accounts, desk_settings.admin_password_file, desk_settings.admin_password):
        logger.info("Staff console: account 'admin' created; its password is in %s", desk_settings.admin_password_file)
    start_nightly_purge(desk_settings)
    app = build_app(settings, services)
    port = args.port or settings.web_port
    logger.info("Demo page on http://%s:%d/ and staff console on /desk/", settings.host, port)
    serve(app, host=settings.host, port=port, threads=8, ident="backbot", _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
