"""Staff accounts of the front desk and the audit log of everything staff do.

Passwords are hashed with Argon2id (argon2-cffi); sessions are Flask's signed cookies managed by
Flask-Login. A session names the account and its `session_version`: changing the password or
switching the account off raises the version and so ends every open session of that account.

    python -m web.desk.accounts add <name> --role desk|admin   (asks for the password)
    python -m web.desk.accounts password <name>
    python -m web.desk.accounts disable <name>
    python -m web.desk.accounts list
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DESK = "desk"
ADMIN = "admin"
ROLES = (DESK, ADMIN)
MIN_PASSWORD_LENGTH = 10
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        session_version INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        conversation_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    )
    """,
)


class AccountError(ValueError):
    """A name, password or role that cannot be used (the message says why, in Dutch)."""


@dataclass(frozen=True)
class User:
    """A staff member as Flask-Login sees them."""

    id: int
    name: str
    role: str
    active: bool
    session_version: int

    @property
    def is_authenticated(self) -> bool:
        """Flask-Login: a loaded user is logged in."""
        return True

    @property
    def is_active(self) -> bool:
        """Flask-Login: a switched-off account cannot log in."""
        return self.active

    @property
    def is_anonymous(self) -> bool:
        """Flask-Login: never anonymous."""
        return False

    @property
    def is_admin(self) -> bool:
        """Admins also see insight, the audit log and the accounts."""
        return self.role == ADMIN

    def get_id(self) -> str:
        """The session's user id: account id and session version."""
        return f"{self.id}:{self.session_version}"


class Accounts:
    """Staff accounts and the audit log in one SQLite file (a connection per call)."""

    def __init__(self, path: Path, hasher: Optional[PasswordHasher] = None) -> None:
        """Creates the tables when needed."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hasher = hasher or PasswordHasher()
        # Verified against when the name is unknown, so that a wrong name takes as long as a wrong password.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        with self._connect() as connection:
            for statement in _SCHEMA:
                connection.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        return connection

    @staticmethod
    def _user(row: Optional[sqlite3.Row]) -> Optional[User]:
        if row is None:
            return None
        return User(row["id"], row["name"], row["role"], bool(row["active"]), row["session_version"])

    def count(self) -> int:
        """How many accounts exist."""
        with self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def create(self, name: str, password: str, role: str) -> User:
        """Adds an account; AccountError when the name, password or role cannot be used."""
        name = name.strip().lower()
        if not NAME.match(name):
            raise AccountError("Gebruik 2 tot 40 tekens: kleine letters, cijfers, punt, streepje of liggend streepje.")
        if role not in ROLES:
            raise AccountError(f"Kies de rol {' of '.join(ROLES)}.")
        check_password(password)
        try:
            with self._connect() as connection:
                connection.execute(
                    "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                    (name, self.hasher.hash(password), role, time.time()),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"Er is al een account met de naam {name}.") from None
        return self.by_name(name)

    def by_name(self, name: str) -> Optional[User]:
        """The account with this name."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM users WHERE name = ?", (name.strip().lower(),)).fetchone()
        return self._user(row)

    def load(self, session_id: str) -> Optional[User]:
        """The active account of a session id ("<id>:<version>"); None when it ended."""
        account_id, _, version = str(session_id).partition(":")
        if not account_id.isdigit() or not version.isdigit():
            return None
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM users WHERE id = ?", (int(account_id),)).fetchone()
        user = self._user(row)
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    def authenticate(self, name: str, password: str) -> Optional[User]:
        """The account when the name and password match and it is active; else None."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM users WHERE name = ?", (name.strip().lower(),)).fetchone()
        stored = row["password_hash"] if row is not None else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row["active"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self._connect() as connection:
                connection.execute(
                    "UPDATE users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), row["id"])
                )
        return self._user(row)

    def set_password(self, name: str, password: str) -> None:
        """Sets a new password and ends the account's open sessions."""
        check_password(password)
        self._update(name, "password_hash = ?, session_version = session_version + 1", (self.hasher.hash(password),))

    def set_active(self, name: str, active: bool) -> None:
        """Switches an account on or off (off ends its open sessions)."""
        self._update(name, "active = ?, session_version = session_version + 1", (1 if active else 0,))

    def _update(self, name: str, assignments: str, values: tuple) -> None:
        with self._connect() as connection:
            cursor = connection.execute(
                f"UPDATE users SET {assignments} WHERE name = ?",  # noqa: S608 - fixed assignments, values bound
                (*values, name.strip().lower()),
            )
        if cursor.rowcount == 0:
            raise AccountError(f"Er is geen account met de naam {name}.")

    def all(self) -> List[User]:
        """Every account, by name."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [self._user(row) for row in rows]

    def audit(self, user: str, action: str, conversation_id: Optional[str] = None, detail: str = "") -> None:
        """Writes one staff action to the audit log (no patient text: ids and short facts only)."""
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO audit (at, user, action, conversation_id, detail) VALUES (?, ?, ?, ?, ?)",
                (time.time(), user, action, conversation_id, detail[:500]),
            )

    def audit_log(self, limit: int = 200) -> List[dict]:
        """The newest audit entries."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]


def check_password(password: str) -> None:
    """AccountError when a password is too short or too plain."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Kies een wachtwoord van minstens {MIN_PASSWORD_LENGTH} tekens.")
    if len(set(password)) < 5:
        raise AccountError("Kies een wachtwoord met meer verschillende tekens.")


def ensure_first_admin(accounts: Accounts, password_file: Path, password: str = "") -> Optional[str]:
    """Creates the account `admin` when there is none yet; returns its password (None when not created).

    The password is `password` (BACKBOT_DESK_ADMIN_PASSWORD) or a random one, written to
    `password_file` (readable by this user only) so that `make run` can print where it is.
    """
    if accounts.count():
        return None
    password = password or secrets.token_urlsafe(12)
    accounts.create("admin", password, ADMIN)
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.touch(mode=0o600)
    password_file.write_text(password + "\n", encoding="utf-8")
    os.chmod(password_file, 0o600)
    accounts.audit("system", "account_created", detail="admin (first start)")
    return password


def main(argv: Optional[List[str]] = None) -> int:
    """Manages accounts from the command line (for the practice's IT person)."""
    from channels.settings import load_desk  # noqa: PLC0415 - the settings only for the CLI

    parser = argparse.ArgumentParser(description="Front-desk accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=DESK)
    sub.add_parser("password", help="set a new password").add_argument("name")
    sub.add_parser("disable", help="switch an account off").add_argument("name")
    sub.add_parser("enable", help="switch an account on").add_argument("name")
    sub.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)
    accounts = Accounts(load_desk().db)
    try:
        if args.command == "list":
            for user in accounts.all():
                print(f"{user.name:20} {user.role:6} {'active' if user.active else 'disabled'}")
        elif args.command in ("add", "password"):
            password = os.environ.get("BACKBOT_NEW_PASSWORD") or getpass.getpass("Password: ")
            if args.command == "add":
                accounts.create(args.name, password, args.role)
            else:
                accounts.set_password(args.name, password)
            accounts.audit("cli", f"account_{args.command}", detail=args.name)
        else:
            accounts.set_active(args.name, args.command == "enable")
            accounts.audit("cli", f"account_{args.command}", detail=args.name)
    except AccountError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
