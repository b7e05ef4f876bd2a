"""Throwaway PostgreSQL and Redis servers, started from the system's binaries, for the fault tests.

The production tests restart and stop these servers (a PostgreSQL restart, Redis going away),
which they must never do to the machine's shared servers. Each server lives in its own
temporary folder on its own port and is removed afterwards. PostgreSQL refuses to run as root:
under root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

POSTGRES_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"]


def _find(name: str, extra_dirs: List[str] = ()) -> Optional[str]:
    for folder in extra_dirs:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def _wait_port(port: int, timeout_s: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not {'open' if up else 'close'} within {timeout_s} s")


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb) on 127.0.0.1:port, user postgres, trust auth."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.data = folder / "pgdata"
        self.initdb = _find("initdb", POSTGRES_BIN_DIRS)
        self.pg_ctl = _find("pg_ctl", POSTGRES_BIN_DIRS)

    def missing(self) -> str:
        """Why this machine cannot run one ('' when it can)."""
        if not (self.initdb and self.pg_ctl):
            return "PostgreSQL's initdb and pg_ctl are not installed"
        if os.geteuid() == 0 and not shutil.which("runuser"):
            return "running as root without runuser (PostgreSQL refuses to run as root)"
        return ""

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run(self.pg_ctl, action, "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
                  "-o", options, "-w", "-t", "60", *extra)  # fmt: skip

    def start(self) -> ThrowawayPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The server runs as `postgres`: it must reach its folder through the temporary one.
            self.folder.parent.chmod(self.folder.parent.stat().st_mode | 0o711)
            shutil.chown(self.folder, "postgres", "postgres")
        if not self.data.exists():
            self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._ctl("start")
        _wait_port(self.port, 30)
        return self

    def restart(self) -> None:
        """A real restart: the server stops (fast: every connection is closed) and starts again."""
        self._ctl("restart", "-m", "fast")
        _wait_port(self.port, 30)

    def stop(self) -> None:
        if self.data.exists():
            try:
                self._ctl("stop", "-m", "immediate")
            except RuntimeError:
                pass

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of its own on 127.0.0.1:port that keeps nothing on disk."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.binary = _find("redis-server")
        self.process: Optional[subprocess.Popen] = None

    def missing(self) -> str:
        return "" if self.binary else "redis-server is not installed"

    def start(self) -> ThrowawayRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "a", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_port(self.port, 15)
        return self

    def stop(self) -> None:
        """Gone at once (SIGKILL): what the instances see when the Redis machine disappears."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None
        _wait_port(self.port, 15, up=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
