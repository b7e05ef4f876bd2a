"""The practice's demo page with the chat widget, on http://localhost:8080/ (`make run`).

    python -m web.server [--port 8080]

Serves `web/site/` and rasa-webchat's ready browser bundle (installed by `make install` from
web/package-lock.json into web/node_modules/), from the same origin, with its Google Fonts import
removed and its few English screen-reader texts in Dutch, so a patient's browser makes no request to
a third party. The widget talks to the Rasa server's socket.io channel (BACKBOT_CHAT_URL); a strict
Content-Security-Policy allows only this page and that server.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Dict
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402

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


def build_app(settings: server_settings.ServerSettings, name: str = "backbot_web") -> Sanic:
    """The web app: the demo page, its script and style, the widget bundle and a health check."""
    app = Sanic(name)
    app.config.ACCESS_LOG = False
    csp = content_security_policy(settings.chat_url)
    widget_config = json.dumps({"socketUrl": settings.chat_url})

    @app.middleware("response")
    async def security_headers(request: Request, resp) -> None:
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"

    @app.get("/")
    async def index(request: Request):
        page = (SITE_DIR / "index.html").read_text(encoding="utf-8")
        return response.html(page.replace("{{WIDGET_CONFIG}}", html.escape(widget_config, quote=True)))

    @app.get("/webchat.js")
    async def bundle(request: Request):
        try:
            body = widget_bundle()
        except BundleMissing as error:
            logger.error("%s", error)
            return response.text(f"// {error}\n", status=503, content_type=STATIC_TYPES[".js"])
        return response.text(body, content_type=STATIC_TYPES[".js"], headers={"Cache-Control": "max-age=3600"})

    @app.get("/static/<name:str>")
    async def static(request: Request, name: str):
        path = SITE_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            return response.text("Niet gevonden", status=404)
        return response.text(path.read_text(encoding="utf-8"), content_type=STATIC_TYPES[path.suffix])

    @app.get("/health")
    async def health(request: Request):
        return response.json({"status": "ok", "widget": BUNDLE.exists()})

    return app


def main() -> int:
    """Serves the demo page until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = server_settings.load()
    try:
        widget_bundle()
    except BundleMissing as error:
        logger.error("Website widget: %s", error)
    app = build_app(settings)
    app.run(host=settings.host, port=args.port or settings.web_port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
