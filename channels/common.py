"""What the messaging channels share: required credentials and the memory of deliveries seen."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Hashable, Mapping, Optional

from rasa.shared.exceptions import RasaException


def require_credentials(channel: str, credentials: Optional[Mapping[str, Any]], required: Dict[str, str]) -> None:
    """Stops the server when a secret is missing, naming its key and environment variable.

    `required` maps each credentials key to the variable credentials.example.yml reads it from.
    """
    credentials = credentials or {}
    missing = [
        f"{key} (${{{variable}}})" for key, variable in required.items() if not str(credentials.get(key) or "").strip()
    ]
    if missing:
        raise RasaException(f"The {channel} channel needs these credentials: {', '.join(missing)}.")


class SeenDeliveries:
    """The last `size` message or update ids, to skip what a platform delivers a second time.

    Kept in memory per Rasa process: a platform retries on the same address, and one process
    handles a channel's webhook unless a load balancer spreads them (then a retry may be answered
    twice, never lost).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[Hashable, None] = OrderedDict()

    def first_time(self, delivery_id: Hashable) -> bool:
        """Remembers the id; False when it was seen before."""
        if delivery_id in self._ids:
            return False
        self._ids[delivery_id] = None
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True
