"""A message that cannot be handled now: the patient is told in Dutch, the operator gets a clear log line.

Rasa's channels swallow an error while handling a message (the lock store in Redis is
unreachable, a lock cannot be had): the REST channel answers 200 with no messages and logs the
patient's text, the other channels answer nothing at all. Every channel of this project passes
its messages through `handle` instead. Nothing was stored for such a message (Rasa takes the
conversation's lock before it reads or writes the conversation), so the patient can simply send
it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage

from channels.texts import unavailable_message

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def describe(error: BaseException) -> str:
    """What went wrong, for the log: the error's type, and its text for infrastructure errors only.

    The text of other errors may quote the patient's message, so it is left out.
    """
    name = type(error).__name__
    infrastructure = name in {"LockError", "ConnectionError", "TimeoutError", "BusyLoadingError"} or isinstance(
        error, OSError
    )
    if not infrastructure:
        return name
    text = " ".join(str(error).split())[:300]
    return f"{name}: {text}" if text else name


async def reply_unavailable(message: UserMessage) -> None:
    """Sends the Dutch "probeer het zo nog eens" reply on the message's own channel (never raises)."""
    try:
        await message.output_channel.send_text_message(message.sender_id, unavailable_message())
    except Exception as error:  # noqa: BLE001 - the channel itself fails: nothing more to do
        logger.error("The 'try again' reply could not be sent either (%s)", describe(error))


async def handle(on_new_message: OnNewMessage, message: UserMessage) -> bool:
    """Handles the message; on failure logs what failed and sends the Dutch reply. True when handled."""
    try:
        await on_new_message(message)
        return True
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever failed, the patient must hear something
        logger.error(
            "A message of conversation %s was not handled (%s); the patient was asked to send it again",
            message.sender_id,
            describe(error),
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )
        await reply_unavailable(message)
        return False


def guarded(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message` for a channel with its own error log (with the platform's message id).

    On failure the patient gets the Dutch reply, then the error goes on to the channel's handler.
    """

    async def on_message(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            await reply_unavailable(message)
            raise

    return on_message
