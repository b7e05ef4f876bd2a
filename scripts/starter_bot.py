"""Rasa's own starter bot (`rasa init`), as the yardstick `make bench` measures the assistant against.

`StarterBot` creates the starter bot in a temporary folder (`rasa init --no-prompt` also trains
it), serves it with `rasa run --enable-api` on its own port and removes everything on exit.
It has no custom actions, so it needs no action server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import answers  # noqa: E402

RASA = Path(sys.executable).parent / "rasa"
START_TIMEOUT_S = 180
TRAIN_TIMEOUT_S = 1200
STOP_TIMEOUT_S = 15


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop_process(process: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to the process's group, SIGKILL when it has not stopped after `timeout_s`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class StarterBot:
    """The starter bot of `rasa init`, trained and served from a temporary folder.

    After entering: `train_s` (seconds `rasa init` took, training included), `started_in_s`
    (from starting `rasa run` to the first 200 on `GET /`, as `Servers` measures the assistant),
    `rest_url` and `rss_mb()`.
    """

    def __init__(self, port: int = 5305, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.train_s: Optional[float] = None
        self.started_in_s: Optional[float] = None
        self.process: Optional[subprocess.Popen] = None
        self._tmp: Optional[tempfile.TemporaryDirectory] = None

    @property
    def url(self) -> str:
        """Base URL of the starter bot's Rasa server."""
        return f"http://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        """The REST channel's webhook."""
        return f"{self.url}/webhooks/rest/webhook"

    @property
    def folder(self) -> Path:
        """The temporary folder: the project in bot/, logs and Rasa's cache beside it."""
        if self._tmp is None:
            raise RuntimeError("The starter bot is not running.")
        return Path(self._tmp.name)

    def _env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env["RASA_TELEMETRY_ENABLED"] = "false"
        env["RASA_CACHE_DIRECTORY"] = str(self.folder / "cache")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as Servers sets it for the assistant
        env.setdefault("PYTHONWARNINGS", "ignore")
        return env

    def _spawn(self, name: str, args: list) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115
        try:
            return subprocess.Popen(
                args,
                cwd=self.folder / "bot",
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own copy

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of `init.log` or `rasa.log`."""
        path = self.folder / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def create(self) -> None:
        """`rasa init --no-prompt` in the temporary folder (creates and trains the bot)."""
        project = self.folder / "bot"
        project.mkdir()
        began = time.monotonic()
        init = self._spawn("init", [str(RASA), "init", "--no-prompt", "--init-dir", str(project)])
        try:
            code = init.wait(timeout=TRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stop_process(init)
            raise RuntimeError(f"rasa init took over {TRAIN_TIMEOUT_S} s:\n{self.log_tail('init')}") from None
        if code != 0 or not list((project / "models").glob("*.tar.gz")):
            raise RuntimeError(f"rasa init failed (exit {code}):\n{self.log_tail('init')}")
        self.train_s = time.monotonic() - began

    def serve(self) -> None:
        """Starts `rasa run --enable-api` on the trained bot and waits until `GET /` answers."""
        project = self.folder / "bot"
        args = [
            str(RASA), "run", "--model", str(project / "models"),
            "--interface", self.host, "--port", str(self.port), "--enable-api",
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
        ]  # fmt: skip
        began = time.monotonic()
        self.process = self._spawn("rasa", args)
        deadline = began + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"The starter bot stopped:\n{self.log_tail('rasa')}")
            if answers(f"{self.url}/"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"The starter bot is not ready after {START_TIMEOUT_S} s:\n{self.log_tail('rasa')}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - began

    def rss_mb(self) -> float:
        """Resident memory of the starter bot's Rasa process in MB."""
        if self.process is None:
            raise RuntimeError("The starter bot is not running.")
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        """Stops the Rasa process and removes the temporary folder."""
        try:
            if self.process is not None:
                stop_process(self.process)
        finally:
            self.process = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> StarterBot:
        self._tmp = tempfile.TemporaryDirectory(prefix="starter-bot-")
        try:
            self.create()
            self.serve()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
