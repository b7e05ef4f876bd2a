"""Settings from environment variables, and the one place that loads the data files (once)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from actions.knowledge import Knowledge, load_knowledge
from actions.practice import PracticeConfig, load_practice

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Folder with answers.yml, sources.yml, messages.yml and practice.yml.
KNOWLEDGE_DIR = Path(os.environ.get("BACKBOT_KNOWLEDGE_DIR", PROJECT_ROOT / "data" / "knowledge"))


@lru_cache(maxsize=1)
def get_knowledge() -> Knowledge:
    """Returns the validated answers, sources and messages (loaded on first use)."""
    return load_knowledge(KNOWLEDGE_DIR)


@lru_cache(maxsize=1)
def get_practice() -> PracticeConfig:
    """Returns the validated practice file (loaded on first use)."""
    return load_practice(KNOWLEDGE_DIR / "practice.yml")
