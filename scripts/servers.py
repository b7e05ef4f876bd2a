"""Starts and stops the action server, the Rasa server and the web page; used by `make run`, tests and benchmarks.

Usage:
    python scripts/servers.py run     # both servers in the foreground until Ctrl-C
    python scripts/servers.py shell   # the action server, then a chat in this terminal
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from channels import settings as server_settings  # noqa: E402


def tracker_store_type(endpoints: Path) -> str:
    """The `tracker_store: type:` of an endpoints file ("" when it names none)."""
    import yaml  # noqa: PLC0415

    data = yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}
    return str((data.get("tracker_store") or {}).get("type") or "")


def check_importable(type_path: str) -> None:
    """Stops when the tracker store class cannot be imported (Rasa would silently keep nothing)."""
    if "." not in type_path:
        return  # one of Rasa's own stores (SQL, redis, ...)
    from actions.privacy.tracker_store import check_importable as check  # noqa: PLC0415

    check(type_path)


VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "backbot.tar.gz"
RUN_DIR = ROOT / "run"
START_TIMEOUT_S = 180
# endpoints.yml: embedded SQLite; endpoints.production.yml: PostgreSQL and Redis.
ENDPOINTS = os.environ.get("BACKBOT_ENDPOINTS", "endpoints.yml")


def _credentials() -> Path:
    """credentials.local.yml (git-ignored, with channel tokens) wins over the committed file."""
    local = ROOT / "credentials.local.yml"
    return local if local.exists() else ROOT / "credentials.yml"


# How the channels of credentials*.yml are called in the start-up message.
CHANNEL_NAMES = {
    "channels.rest.CheckedRestInput": "REST",
    "channels.socketio.CheckedSocketIOInput": "website widget (socket.io)",
    "channels.telegram.TelegramInput": "Telegram",
    "channels.whatsapp.WhatsAppInput": "WhatsApp (Cloud API)",
    "channels.twilio.SignedTwilioInput": "WhatsApp (Twilio)",
}


def base_env() -> Dict[str, str]:
    """The environment of every server process, in `make run` and `make prod` alike."""
    env = dict(os.environ)
    # Rasa reads --logging-config-file before it puts the project on sys.path: without this it
    # cannot import the redaction filter and ignores the whole file without a word.
    env["PYTHONPATH"] = os.pathsep.join(part for part in (str(ROOT), env.get("PYTHONPATH", "")) if part)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def answers(url: str, timeout_s: float = 2) -> bool:
    """Whether the URL answers 200 now (a server's readiness check); False while it cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def logging_config(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Rasa's logging configuration for BACKBOT_LOG_FORMAT: logging.yml (text) or logging.json.yml."""
    return ROOT / ("logging.json.yml" if server_settings.log_format(environ) == "json" else "logging.yml")


@dataclass
class Servers:
    """The processes of the assistant, on given ports, with their own conversation database.

    Safe by default: they listen on `host` (127.0.0.1 unless set), the Rasa HTTP API needs `token`
    and the action server `action_token` (random ones when none is given), and only `web_origins`
    may use the chat from a browser.
    """

    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8080
    tracker_db: Path = RUN_DIR / "conversations.db"
    log_dir: Path = RUN_DIR
    token: str = ""
    action_token: str = ""
    host: str = "127.0.0.1"
    web_origins: List[str] = field(default_factory=list)
    chat_url: str = ""
    credentials: Optional[Path] = None
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    started_in_s: Optional[float] = None

    def __post_init__(self) -> None:
        self.token = self.token or secrets.token_urlsafe(32)
        self.action_token = self.action_token or secrets.token_urlsafe(32)
        self.web_origins = self.web_origins or server_settings.default_origins(self.web_port)
        self.chat_url = self.chat_url or self.rasa_url
        self.credentials = self.credentials or _credentials()

    @classmethod
    def from_environment(cls) -> Servers:
        """The servers as `make run` starts them.

        Ports, host, origins and tokens come from the environment (channels/settings.py); tokens
        not set there are kept in run/ (git-ignored).
        """
        config = server_settings.load()
        return cls(
            rasa_port=config.rasa_port,
            actions_port=config.actions_port,
            web_port=config.web_port,
            tracker_db=Path(os.environ.get("BACKBOT_TRACKER_DB", RUN_DIR / "conversations.db")),
            token=config.rasa_token,
            action_token=config.action_token,
            host=config.host,
            web_origins=config.web_origins,
            chat_url=config.chat_url,
        )

    @property
    def _local_host(self) -> str:
        return "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{self._local_host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """Base URL of the action server."""
        return f"http://{self._local_host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        """Address of the demo page with the chat widget."""
        return f"http://{self._local_host}:{self.web_port}/"

    def _env(self) -> Dict[str, str]:
        env = base_env()
        env["BACKBOT_ACTION_URL"] = f"{self.actions_url}/webhook"
        env["BACKBOT_TRACKER_DB"] = str(self.tracker_db)
        env["BACKBOT_RASA_URL"] = self.rasa_url
        env["BACKBOT_HOST"] = self.host
        env["BACKBOT_RASA_PORT"] = str(self.rasa_port)
        env["BACKBOT_ACTIONS_PORT"] = str(self.actions_port)
        env["BACKBOT_WEB_PORT"] = str(self.web_port)
        env["BACKBOT_WEB_ORIGINS"] = ",".join(self.web_origins)
        env["BACKBOT_CHAT_URL"] = self.chat_url
        env["RASA_TOKEN"] = self.token
        env["BACKBOT_ACTION_TOKEN"] = self.action_token
        # Handoff records and detector disagreements beside the logs: run/ for `make run`, the
        # temporary folder of a test or benchmark (unless set explicitly).
        env.setdefault("BACKBOT_HANDOFF_DB", str(self.log_dir / "handoffs.db"))
        env.setdefault("BACKBOT_REVIEW_DB", str(self.log_dir / "red_flag_review.db"))
        env.setdefault("BACKBOT_DESK_DB", str(self.log_dir / "desk.db"))
        return env

    def _spawn(self, name: str, args: List[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_actions(self) -> None:
        """Starts the rasa-sdk action server."""
        self._spawn(
            "actions",
            [sys.executable, str(ROOT / "scripts" / "action_server.py"), "--port", str(self.actions_port)],
        )

    def start_rasa(self) -> None:
        """Starts the Rasa server with its channels and the HTTP API.

        The API needs the token; CORS is granted to the website origins only.
        """
        if not MODEL.exists():
            raise SystemExit(f"No trained model at {MODEL}: run `make train` first.")
        try:
            check_importable(tracker_store_type(ROOT / ENDPOINTS))
        except RuntimeError as error:
            raise SystemExit(f"The tracker store in {ENDPOINTS} cannot be loaded: {error}") from None
        self.tracker_db.parent.mkdir(parents=True, exist_ok=True)
        args = [
            str(VENV_BIN / "rasa"), "run", "--model", str(MODEL),
            "--interface", self.host, "--port", str(self.rasa_port),
            "--endpoints", ENDPOINTS, "--credentials", str(self.credentials),
            "--enable-api", "--auth-token", self.token, "--cors", *self.web_origins,
            "--logging-config-file", str(logging_config()),
        ]  # fmt: skip
        self._spawn("rasa", args)

    def start_web(self) -> None:
        """Starts the demo page with the chat widget."""
        self._spawn("web", [sys.executable, "-m", "web.server", "--port", str(self.web_port)])

    def wait_ready(self, names: List[str], timeout_s: float = START_TIMEOUT_S) -> None:
        """Waits until the named servers answer; raises with the log tail when one dies or hangs."""
        urls = {"actions": f"{self.actions_url}/health", "rasa": f"{self.rasa_url}/", "web": f"{self.web_url}health"}
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending:
            for name in list(pending):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"The {name} server stopped:\n{self.log_tail(name)}")
                if answers(urls[name]):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{pending} not ready after {timeout_s:.0f} s:\n{self.log_tail(pending[0])}")
            if pending:
                time.sleep(0.2)

    def start(self, web: bool = True) -> Servers:
        """Starts the servers (the web page too unless `web` is false) and waits until they answer."""
        began = time.monotonic()
        self.start_actions()
        self.start_rasa()
        if web:
            self.start_web()
        try:
            self.wait_ready(list(self.processes))
        except BaseException:
            self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stops every process this object started."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def log_tail(self, name: str, lines: int = 30) -> str:
        """Returns the last lines of a server's log."""
        path = self.log_dir / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def channels(self) -> str:
        """The channels the Rasa server opened, from its credentials file."""
        import yaml  # noqa: PLC0415 (only needed for this line of the start-up message)

        data = yaml.safe_load(Path(self.credentials).read_text(encoding="utf-8")) or {}
        names = [CHANNEL_NAMES.get(str(key), str(key)) for key in data]
        return ", ".join(names) + f"  (from {Path(self.credentials).name})"

    def language_backend(self) -> str:
        """Returns the Dutch spaCy backend the Rasa server reported at start-up."""
        return self._logged("rasa", r"Dutch language for NLU: (.*)")

    def leaflet_summary(self) -> str:
        """Returns what the action server reported about the leaflet index at start-up."""
        return self._logged("actions", r"Leaflet search: (.*)")

    def _logged(self, name: str, pattern: str) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        found = re.findall(pattern, text)
        return found[-1].strip() if found else f"unknown (see run/{name}.log)"

    def __enter__(self) -> Servers:
        return self if self.processes else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # stop the servers as on Ctrl-C, also when a supervisor sends SIGTERM


def desk_login() -> str:
    """How to log in to the staff console, for the start-up message."""
    desk = server_settings.load_desk()
    if desk.admin_password_file.exists():
        try:
            shown = desk.admin_password_file.relative_to(ROOT)
        except ValueError:
            shown = desk.admin_password_file
        return f"first account: admin, password in {shown}"
    return "log in with your staff account; make desk-user NAME=... adds one"


def run() -> int:
    """Runs the servers until Ctrl-C (or SIGTERM) and prints where to chat."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    servers = Servers.from_environment()
    print("==> Starting the action server, the Rasa server and the web page (logs in run/) ...", flush=True)
    token_source = "RASA_TOKEN" if os.environ.get("RASA_TOKEN") else "run/rasa-token"
    with servers:
        print(
            f"""
The back-pain assistant is running (started in {servers.started_in_s:.1f} s).
  Dutch language for NLU: {servers.language_backend()}
  Leaflet search:         {servers.leaflet_summary()}
  Channels:               {servers.channels()}

  Chat on the demo page:  {servers.web_url}
  Staff console:          {servers.web_url}desk/  ({desk_login()})
  Chat over REST:   curl -s -X POST {servers.rasa_url}/webhooks/rest/webhook \\
                      -H 'Content-Type: application/json' -d '{{"sender": "test", "message": "Is bewegen schadelijk?"}}'
  HTTP API:         {servers.rasa_url}/conversations/<id>/tracker?token=<token>
                    token (from {token_source}): {servers.token}
  Front desk:       {servers.actions_url}/frontdesk/ask?q=helpt+een+rugbrace&token=<token from run/action-token>
                    (or: make ask Q="...")
  Listening on:     {servers.host}{'' if servers.host == '127.0.0.1' else '  (BACKBOT_HOST=127.0.0.1 closes it)'}
  Website origins:  {', '.join(servers.web_origins)}
  Chat in a terminal instead: make shell
Press Ctrl-C to stop.""",
            flush=True,
        )
        try:
            while all(p.poll() is None for p in servers.processes.values()):
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping ...")
            return 0
        for name, process in servers.processes.items():
            if process.poll() is not None:
                print(f"The {name} server stopped unexpectedly:\n{servers.log_tail(name)}", file=sys.stderr)
        return 1


def shell() -> int:
    """Starts the action server and a terminal chat with the assistant."""
    servers = Servers.from_environment()
    servers.start_actions()
    try:
        servers.wait_ready(["actions"])
        args = [
            str(VENV_BIN / "rasa"), "shell", "--model", str(MODEL), "--endpoints", ENDPOINTS,
            "--port", str(servers.rasa_port + 1),
        ]  # fmt: skip
        return subprocess.call(args, cwd=ROOT, env=servers._env())
    finally:
        servers.stop()


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "shell"])
    args = parser.parse_args()
    return run() if args.command == "run" else shell()


if __name__ == "__main__":
    sys.exit(main())
