"""The production profile: N Rasa instances and action servers behind nginx, under supervisord.

    python scripts/prod.py run      (`make prod`)

Conversations live in PostgreSQL (the redacting tracker store of endpoints.production.yml),
each conversation is locked in Redis while one instance handles a message, and nginx spreads
the requests: REST, channel webhooks and the HTTP API to the least busy instance, socket.io
sticky per client address, and the actions to the least busy action server. supervisord
restarts any process that dies. Settings: channels/settings.py (`load_production`); tokens as
for `make run`. Configuration and logs are written to run/prod/.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from servers import (  # noqa: E402
    MODEL,
    VENV_BIN,
    _credentials,
    answers,
    base_env,
    check_importable,
    logging_config,
    tracker_store_type,
)

from channels import settings as server_settings  # noqa: E402

ENDPOINTS = ROOT / "endpoints.production.yml"
DEPLOY = ROOT / "deploy"
START_TIMEOUT_S = 240


def nginx_binary() -> str:
    """Debian's nginx (make install puts it there as root); SystemExit with what to do when missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise SystemExit("nginx is not installed: `sudo apt-get install nginx-light` (Debian/Ubuntu)")
    return found


def unavailable_action_result() -> str:
    """What nginx answers Rasa for an action when no action server can: the Dutch "try again" text only."""
    from actions.config import KNOWLEDGE_DIR  # noqa: PLC0415 - the folder the channels read it from too
    from actions.knowledge import load_messages  # noqa: PLC0415

    text = load_messages(KNOWLEDGE_DIR / "messages.yml")["service_unavailable"]
    return json.dumps({"events": [], "responses": [{"text": text}]})


def nginx_string(text: str) -> str:
    r"""The text for a single-quoted nginx string whose characters arrive unchanged.

    nginx reads `\\` as one backslash and `\'` as a quote, and replaces `$name` by a variable;
    a JSON text can say `$` as `\u0024` instead.
    """
    return text.replace("$", "\\u0024").replace("\\", "\\\\").replace("'", "\\'")


@dataclass
class Production:
    """The production profile's processes, their configuration and how to reach them."""

    settings: server_settings.ProductionSettings
    run_dir: Path = ROOT / "run" / "prod"
    token: str = ""
    action_token: str = ""
    credentials: Optional[Path] = None
    extra_env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None

    @classmethod
    def from_environment(cls) -> Production:
        """The profile as `make prod` starts it (tokens as for `make run`)."""
        config = server_settings.load()
        return cls(server_settings.load_production(), token=config.rasa_token, action_token=config.action_token)

    @property
    def url(self) -> str:
        """Nginx on this machine."""
        return f"http://127.0.0.1:{self.settings.port}"

    def env(self) -> Dict[str, str]:
        """The environment of every process (supervisord passes it on)."""
        s = self.settings
        env = base_env()
        env.update(s.database)
        env.update(s.redis)
        env.update(
            {
                "BACKBOT_ENDPOINTS": str(ENDPOINTS),
                "BACKBOT_ACTION_URL": f"http://127.0.0.1:{s.actions_lb_port}/webhook",
                "BACKBOT_ACTION_TOKEN": self.action_token,
                "RASA_TOKEN": self.token,
                "BACKBOT_HOST": "127.0.0.1",
                # The web server reaches Rasa's API and the front-desk endpoint through nginx.
                "BACKBOT_RASA_PORT": str(s.port),
                "BACKBOT_ACTIONS_PORT": str(s.actions_lb_port),
                "BACKBOT_WEB_PORT": str(s.web_port),
                "BACKBOT_WEB_ORIGINS": s.public_url,
                "BACKBOT_CHAT_URL": s.public_url,
                "BACKBOT_HANDOFF_DB": str(self.run_dir / "handoffs.db"),
                "BACKBOT_REVIEW_DB": str(self.run_dir / "red_flag_review.db"),
                "BACKBOT_DESK_DB": str(self.run_dir / "desk.db"),
                # The instances share their socket.io rooms: a staff reply reaches the widget
                # whichever instance sends it.
                "BACKBOT_SOCKETIO_REDIS_URL": "redis://{}:{}/{}".format(
                    s.redis["BACKBOT_REDIS_HOST"], s.redis["BACKBOT_REDIS_PORT"], s.redis["BACKBOT_REDIS_DB"]
                ),
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                # One JSON object per line, for a log collector (BACKBOT_LOG_FORMAT=text to read by eye).
                "BACKBOT_LOG_FORMAT": os.environ.get("BACKBOT_LOG_FORMAT", "json"),
                "RASA_TELEMETRY_ENABLED": "false",
                # Rasa's and the action servers' listen queue (Sanic's default of 100 overflows
                # with a few hundred patients at once: nginx then answers 502).
                "SANIC_BACKLOG": os.environ.get("SANIC_BACKLOG", "1024"),
            }
        )
        env.update(self.extra_env)
        server_settings.log_format(env)  # SystemExit on a wrong value, before anything starts
        return env

    def render(self) -> None:
        """Writes nginx.conf and supervisord.conf into the run folder."""
        from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

        s = self.settings
        self.run_dir.mkdir(parents=True, exist_ok=True)
        values = {
            "run_dir": self.run_dir,
            "root": ROOT,
            "host": "127.0.0.1" if os.environ.get("BACKBOT_HOST", "127.0.0.1") == "127.0.0.1" else "0.0.0.0",
            "port": s.port,
            "rasa_ports": s.rasa_ports,
            "actions_ports": s.actions_ports,
            "actions_lb_port": s.actions_lb_port,
            "web_port": s.web_port,
            "python": sys.executable,
            "rasa": VENV_BIN / "rasa",
            "model": MODEL,
            "endpoints": ENDPOINTS,
            "logging_config": logging_config(self.env()),
            "credentials": self.credentials or _credentials(),
            "origins": s.public_url,
            "nginx": nginx_binary(),
            "action_timeout_s": s.action_timeout_s,
            "unavailable_action_result": nginx_string(unavailable_action_result()),
        }
        templates = Environment(loader=FileSystemLoader(DEPLOY), undefined=StrictUndefined, keep_trailing_newline=True)
        for name in ("nginx.conf", "supervisord.conf"):
            text = templates.get_template(f"{name}.j2").render(**values)
            (self.run_dir / name).write_text(text, encoding="utf-8")

    def ensure_database(self) -> None:
        """Creates the PostgreSQL database when it does not exist; SystemExit when the server cannot be reached.

        Rasa does not create it, and when it cannot reach it, it keeps conversations in each
        instance's memory (its FailSafeTrackerStore) with only an error in the log.
        """
        import psycopg2  # noqa: PLC0415

        db = self.settings.database
        name = db["BACKBOT_DB_NAME"]
        try:
            connection = psycopg2.connect(
                host=db["BACKBOT_DB_HOST"], port=int(db["BACKBOT_DB_PORT"]), user=db["BACKBOT_DB_USER"],
                password=db["BACKBOT_DB_PASSWORD"] or None, dbname="postgres", connect_timeout=5,
            )  # fmt: skip
        except psycopg2.OperationalError as error:
            raise SystemExit(
                f"PostgreSQL is not reachable at {db['BACKBOT_DB_HOST']}:{db['BACKBOT_DB_PORT']} "
                f"as {db['BACKBOT_DB_USER']} (BACKBOT_DB_*): {str(error).strip()}"
            ) from None
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
                    print(f"==> Created the PostgreSQL database {name}", flush=True)
        finally:
            connection.close()

    def ensure_redis(self) -> None:
        """SystemExit when the lock store's Redis cannot be reached (Rasa would start and then refuse every message)."""
        import redis  # noqa: PLC0415

        r = self.settings.redis
        try:
            redis.Redis(host=r["BACKBOT_REDIS_HOST"], port=int(r["BACKBOT_REDIS_PORT"]), db=int(r["BACKBOT_REDIS_DB"]),
                        socket_connect_timeout=5, socket_timeout=5).ping()  # fmt: skip
        except redis.exceptions.RedisError as error:
            raise SystemExit(
                f"Redis (the lock store) is not reachable at {r['BACKBOT_REDIS_HOST']}:{r['BACKBOT_REDIS_PORT']} "
                f"(BACKBOT_REDIS_*): {error}"
            ) from None

    def start(self) -> Production:
        """Renders the configuration, starts supervisord and waits until everything answers."""
        if not MODEL.exists():
            raise SystemExit(f"No trained model at {MODEL}: run `make train` first.")
        check_importable(tracker_store_type(ENDPOINTS))
        self.ensure_database()
        self.ensure_redis()
        self.render()
        log = open(self.run_dir / "supervisord.out", "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(VENV_BIN / "supervisord"), "-c", str(self.run_dir / "supervisord.conf")],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def health_urls(self) -> Dict[str, str]:
        """What must answer 200 before the profile is ready."""
        s = self.settings
        urls = {"nginx": f"{self.url}/healthz", "web": f"{self.url}/health"}
        urls.update({f"rasa-{i + 1}": f"http://127.0.0.1:{port}/" for i, port in enumerate(s.rasa_ports)})
        urls.update({f"actions-{i + 1}": f"http://127.0.0.1:{port}/health" for i, port in enumerate(s.actions_ports)})
        return urls

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S, names: Optional[List[str]] = None) -> None:
        """Waits until every (or every named) process answers; raises with the status when not."""
        urls = self.health_urls()
        pending = list(names or urls)
        deadline = time.monotonic() + timeout_s
        while pending:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"supervisord stopped:\n{self.log_tail('supervisord.out')}")
            pending = [name for name in pending if not answers(urls[name])]
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{pending} not ready after {timeout_s:.0f} s:\n{self.ctl('status')}")
            if pending:
                time.sleep(0.5)

    def ctl(self, *args: str) -> str:
        """Supervisorctl with this profile's socket."""
        result = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(self.run_dir / "supervisord.conf"), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return result.stdout + result.stderr

    def pid(self, name: str) -> int:
        """The process id of a program (0 when it does not run)."""
        text = self.ctl("pid", name).strip()
        return int(text) if text.isdigit() else 0

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines of a log in the run folder."""
        path = self.run_dir / name
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops every process gracefully (SIGTERM to supervisord, which stops its programs)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def __enter__(self) -> Production:
        return self if self.process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_block(block: int) -> Dict[str, str]:
    """The profile's ports in a block 1-9: nginx 8b00, Rasa 5b10 up, actions 5b60 up (their nginx 5b59), web 8b90."""
    return {
        "BACKBOT_PROD_PORT": f"8{block}00", "BACKBOT_PROD_RASA_PORT": f"5{block}10",
        "BACKBOT_PROD_ACTIONS_PORT": f"5{block}60", "BACKBOT_PROD_ACTIONS_LB_PORT": f"5{block}59",
        "BACKBOT_PROD_WEB_PORT": f"8{block}90",
    }  # fmt: skip


@contextlib.contextmanager
def throwaway_profile(instances: int, block: int, label: str) -> Iterator[Production]:
    """The profile on its own ports, a throwaway PostgreSQL database and Redis key prefix (benchmarks)."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import throwaway_database  # noqa: PLC0415 - the tests' throwaway database

    with throwaway_database() as database, tempfile.TemporaryDirectory() as folder:
        settings = server_settings.load_production({
            **port_block(block), "BACKBOT_PROD_INSTANCES": str(instances), "BACKBOT_DB_NAME": database,
            "BACKBOT_REDIS_PREFIX": f"{label}{secrets.token_hex(4)}",
        })  # fmt: skip
        profile = Production(settings, run_dir=Path(folder), token=secrets.token_urlsafe(16),
                             action_token=secrets.token_urlsafe(16))  # fmt: skip
        with profile:
            yield profile


def run() -> int:
    """`make prod`: starts the profile, prints where everything is, runs until Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    production = Production.from_environment()
    s = production.settings
    print(f"==> Starting {s.instances} Rasa instances and action servers, the web server and nginx "
          f"under supervisord (logs in {production.run_dir}) ...", flush=True)  # fmt: skip
    began = time.monotonic()
    with production:
        db, redis = s.database, s.redis
        database = f"{db['BACKBOT_DB_USER']}@{db['BACKBOT_DB_HOST']}:{db['BACKBOT_DB_PORT']}/{db['BACKBOT_DB_NAME']}"
        locks = f"{redis['BACKBOT_REDIS_HOST']}:{redis['BACKBOT_REDIS_PORT']} db {redis['BACKBOT_REDIS_DB']}"
        print(
            f"""
The back-pain assistant runs in the production profile (ready in {time.monotonic() - began:.1f} s).
  Demo page and chat:  {s.public_url}/        Staff console: {s.public_url}/desk/
  REST:                {s.public_url}/webhooks/rest/webhook
  Rasa instances:      {", ".join(f"127.0.0.1:{p}" for p in s.rasa_ports)} (least busy first; socket.io sticky)
  Action servers:      {", ".join(f"127.0.0.1:{p}" for p in s.actions_ports)} behind 127.0.0.1:{s.actions_lb_port}
  Conversations:       PostgreSQL {database}
  Locks:               Redis {locks}
  Health:              {s.public_url}/healthz (nginx), /health (web), each instance's / and /health
  Processes:           .venv/bin/supervisorctl -c {production.run_dir}/supervisord.conf status
Press Ctrl-C to stop (every process finishes its requests first).""",
            flush=True,
        )
        try:
            while production.process and production.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping ...", flush=True)
    return 0


def main() -> int:
    """Entry point: `run`."""
    if len(sys.argv) != 2 or sys.argv[1] != "run":
        print(__doc__)
        return 2
    return run()


if __name__ == "__main__":
    sys.exit(main())
