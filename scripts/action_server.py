"""The action server: rasa-sdk's app with the custom actions, plus the front desk's question endpoint.

    python scripts/action_server.py --port 5055

Routes: POST /webhook and GET /health, /actions (rasa-sdk); GET /frontdesk/ask?q=... and
POST /frontdesk/ask {"question": "..."} (the answer the assistant would give, with its source
and scores). Every route but /health needs the action token (BACKBOT_ACTION_TOKEN, else the one
kept in run/action-token) as `?token=` (how Rasa sends it, from endpoints.yml) or as
`Authorization: Bearer <token>`; without it: 401. It listens on BACKBOT_HOST (127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actions.privacy import logs  # noqa: E402
from channels import settings as server_settings  # noqa: E402

if __name__ == "__main__":
    # Logging first (no names, numbers, addresses or message texts; text or JSON lines, see
    # BACKBOT_LOG_FORMAT): importing Sanic turns its DeprecationWarnings on, and they become lines too.
    logs.configure(server_settings.log_format(), process="actions")

from actions.language import skip_tensorflow  # noqa: E402

skip_tensorflow()  # the actions never use it; Rasa's own process still has it

from rasa_sdk.endpoint import create_app  # noqa: E402
from sanic import response  # noqa: E402
from sanic.request import Request  # noqa: E402

from actions import config, frontdesk  # noqa: E402
from actions.datafile import DataFileError  # noqa: E402

logger = logging.getLogger("backbot.actions")


OPEN_PATHS = frozenset({"/health"})


def presented_token(request: Request) -> str:
    """The token of a request: `?token=...` or `Authorization: Bearer ...`."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.args.get("token", "")


def build_app(token: str):
    """The rasa-sdk app with the front-desk routes added; every route but /health needs `token`."""
    if not token:
        raise ValueError("the action server needs a token")
    app = create_app("actions")

    @app.middleware("request")
    async def require_token(request: Request):
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return None
        if not hmac.compare_digest(presented_token(request).encode(), token.encode()):
            return response.json({"error": "missing or wrong token"}, status=401)
        return None

    async def ask(request: Request):
        if request.method == "POST":
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                return response.json({"error": "the body is not valid JSON"}, status=400)
            question = body.get("question") if isinstance(body, dict) else None
        else:
            question = request.args.get("q")
        if not isinstance(question, str) or not question.strip():
            return response.json({"error": 'give the question as ?q=... or as JSON {"question": "..."}'}, status=400)
        if len(question) > frontdesk.MAX_QUESTION_CHARS:
            return response.json(
                {"error": f"the question is longer than {frontdesk.MAX_QUESTION_CHARS} characters"}, status=413
            )
        parsed = await asyncio.get_running_loop().run_in_executor(None, frontdesk.parse_with_rasa, question)
        return response.json(frontdesk.lookup(question, parsed))

    app.add_route(ask, "/frontdesk/ask", methods=["GET", "POST"], name="frontdesk_ask")
    return app


def main() -> int:
    """Checks the data files, loads the leaflet index, then serves."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BACKBOT_ACTIONS_PORT", "5055")))
    args = parser.parse_args()
    try:
        config.get_knowledge(), config.get_practice(), config.get_detector()
        index = config.get_leaflet_index()
    except DataFileError as error:
        print(f"ERROR in the assistant's data files:\n  {error}", file=sys.stderr)
        return 1
    logger.info(
        "Leaflet search: %d passages from %d leaflets (%s)",
        len(index.passages),
        len(index.documents),
        config.describe_backend(index.analyzer.backend),
    )
    settings = server_settings.load()
    app = build_app(settings.action_token)
    backlog = int(os.environ.get("SANIC_BACKLOG", "100"))  # as Rasa reads it; the production profile raises it
    app.run(host=settings.host, port=args.port, workers=1, access_log=False, backlog=backlog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
