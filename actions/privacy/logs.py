"""A logging filter that redacts personal details from every log line.

In code: `install()` adds the filter to every handler of the root logger (or of the given logger).
In a logging dictConfig YAML (e.g. Rasa's `--logging-config-file`):

    filters:
      redact:
        (): actions.privacy.logs.RedactingFilter
    handlers:
      console:
        class: logging.StreamHandler
        filters: [redact]

A filter on a handler sees every record that handler writes, also the records that propagate from
other loggers; a filter on a logger would only see the records logged on that logger itself.
Handlers added after `install()` are not covered: call it again (it is idempotent).
"""

from __future__ import annotations

import logging
from typing import Optional

from actions.privacy.redact import UNREADABLE, redact


class RedactingFilter(logging.Filter):
    """Replaces a record's message by its redacted form; never drops a record and never raises."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts the formatted message in place and keeps the record."""
        try:
            record.msg = redact(record.getMessage())
        except Exception:  # noqa: BLE001 - a log line must never be lost nor leak the patient's words
            record.msg = UNREADABLE
        record.args = ()
        return True


def install(logger: Optional[logging.Logger] = None) -> int:
    """Adds a RedactingFilter to every handler of the logger (default: the root logger).

    A handler that already has a RedactingFilter gets no second one. Returns the number of
    handlers that got a filter now.
    """
    target = logger if logger is not None else logging.getLogger()
    added = 0
    for handler in target.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
            added += 1
    return added
