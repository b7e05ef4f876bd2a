"""Settings from environment variables, and the one place that loads the data files (once)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from actions.handoff import HandoffService, HandoffStore
from actions.knowledge import Knowledge, load_knowledge
from actions.practice import PracticeConfig, load_practice
from actions.redflags import RedFlagDetector, load_red_flags

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Folder with answers.yml, sources.yml, messages.yml, practice.yml and red_flags.yml.
KNOWLEDGE_DIR = Path(os.environ.get("BACKBOT_KNOWLEDGE_DIR", PROJECT_ROOT / "data" / "knowledge"))


@lru_cache(maxsize=1)
def get_knowledge() -> Knowledge:
    """Returns the validated answers, sources and messages (loaded on first use)."""
    return load_knowledge(KNOWLEDGE_DIR)


@lru_cache(maxsize=1)
def get_practice() -> PracticeConfig:
    """Returns the validated practice file (loaded on first use)."""
    return load_practice(KNOWLEDGE_DIR / "practice.yml")


@lru_cache(maxsize=1)
def get_detector() -> RedFlagDetector:
    """Returns the red-flag detector with the validated rules of red_flags.yml (loaded on first use)."""
    return RedFlagDetector(load_red_flags(KNOWLEDGE_DIR / "red_flags.yml"))


# Handoff records for the front desk (SQLite) and the URL notified of each one (optional).
HANDOFF_DB = Path(os.environ.get("BACKBOT_HANDOFF_DB", PROJECT_ROOT / "run" / "handoffs.db"))
HANDOFF_WEBHOOK = os.environ.get("BACKBOT_HANDOFF_WEBHOOK", "")


@lru_cache(maxsize=1)
def get_handoff_service() -> HandoffService:
    """Returns the handoff service (creates its table on first use)."""
    return HandoffService(HandoffStore(HANDOFF_DB), HANDOFF_WEBHOOK)
