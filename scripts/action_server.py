"""The action server: rasa-sdk's app with the custom actions, plus the front desk's question endpoint.

    python scripts/action_server.py --port 5055

Routes: POST /webhook and GET /health, /actions (rasa-sdk); GET /frontdesk/ask?q=... and
POST /frontdesk/ask {"question": "..."} (the answer the assistant would give, with its source
and scores). When RASA_TOKEN is set, /frontdesk/ask needs `?token=<RASA_TOKEN>` too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actions.language import skip_tensorflow  # noqa: E402

skip_tensorflow()  # the actions never use it; Rasa's own process still has it

from rasa_sdk.endpoint import create_app  # noqa: E402
from sanic import response  # noqa: E402
from sanic.request import Request  # noqa: E402

from actions import config, frontdesk  # noqa: E402
from actions.datafile import DataFileError  # noqa: E402

logger = logging.getLogger("backbot.actions")


def build_app():
    """The rasa-sdk app with the front-desk routes added."""
    app = create_app("actions")

    async def ask(request: Request):
        token = os.environ.get("RASA_TOKEN", "")
        if token and request.args.get("token") != token:
            return response.json({"error": "missing or wrong token"}, status=401)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    app = build_app()
    app.run(host=os.environ.get("SANIC_HOST", "0.0.0.0"), port=args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
