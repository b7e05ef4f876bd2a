"""Settings from environment variables, and the one place that loads the data files (once)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

from actions.handoff import HandoffService, HandoffStore
from actions.knowledge import Knowledge, load_knowledge
from actions.language import describe_backend, load_dutch
from actions.leaflets.analysis import Analyzer
from actions.leaflets.index import LeafletIndex, fingerprint
from actions.leaflets.settings import LeafletSettings, load_leaflet_settings
from actions.practice import PracticeConfig, load_practice
from actions.redflags import RedFlagDetector, load_red_flags

logger = logging.getLogger(__name__)

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


# Leaflet search: settings, folders (BACKBOT_LEAFLETS overrides leaflets.yml) and the saved index.
LEAFLET_INDEX = Path(os.environ.get("BACKBOT_LEAFLET_INDEX", PROJECT_ROOT / "models" / "leaflets.json"))


@lru_cache(maxsize=1)
def get_leaflet_settings() -> LeafletSettings:
    """Returns the validated leaflets.yml (loaded on first use)."""
    return load_leaflet_settings(KNOWLEDGE_DIR / "leaflets.yml", get_knowledge().sources)


def leaflet_folders(settings: Optional[LeafletSettings] = None) -> List[Path]:
    """The leaflet folders: BACKBOT_LEAFLETS (separated by ':') or leaflets.yml, relative to the project."""
    configured = os.environ.get("BACKBOT_LEAFLETS", "")
    names = [name for name in configured.split(os.pathsep) if name.strip()] if configured.strip() else None
    names = names or list((settings or get_leaflet_settings()).folders)
    return [(PROJECT_ROOT / name).resolve() for name in names]


@lru_cache(maxsize=1)
def get_analyzer() -> Analyzer:
    """Returns the Dutch analyzer for leaflet search (loads spaCy on first use)."""
    settings = get_leaflet_settings()
    # Search needs tokens and lemmas only: the trained model's parser and entity recogniser
    # would cost milliseconds per question for nothing.
    nlp, backend = load_dutch(exclude=["parser", "ner"])
    logger.info("Dutch language for leaflet search: %s", describe_backend(backend))
    return Analyzer(nlp, backend, settings.synonyms, settings.stop_words)


def load_or_build_index(save: bool = True) -> Tuple[LeafletIndex, bool]:
    """Loads the saved leaflet index, or builds it when it is missing or out of date (a file or setting changed).

    Returns:
        The index and whether it was (re)built.
    """
    settings, analyzer = get_leaflet_settings(), get_analyzer()
    folders = leaflet_folders(settings)
    expected = fingerprint(folders, settings, analyzer.backend)
    index = LeafletIndex.load(LEAFLET_INDEX, settings, analyzer, expected)
    if index is not None:
        return index, False
    index = LeafletIndex.build(folders, settings, analyzer)
    if save:
        try:
            index.save(LEAFLET_INDEX)
        except OSError as error:
            logger.warning("Could not save the leaflet index to %s: %s", LEAFLET_INDEX, error)
    return index, True


@lru_cache(maxsize=1)
def get_leaflet_index() -> LeafletIndex:
    """Returns the leaflet index (loaded on first use; rebuilt when the leaflets changed since `make ingest`)."""
    index, built = load_or_build_index()
    if built:
        logger.warning("The leaflet index was missing or out of date and has been rebuilt (run `make ingest`).")
    for path, reason in index.report.skipped:
        logger.warning("Leaflet skipped: %s: %s", path, reason)
    return index


def seeds_folder() -> Path:
    """The real practice leaflets used by tests and evaluation.

    BACKBOT_SEEDS when set, else the nearest `shared/seeds` folder beside the checkout or above
    it (../shared/seeds in the usual layout).
    """
    configured = os.environ.get("BACKBOT_SEEDS", "").strip()
    if configured:
        return Path(configured).resolve()
    for ancestor in PROJECT_ROOT.parents:
        candidate = ancestor / "shared" / "seeds"
        if candidate.is_dir():
            return candidate.resolve()
    return (PROJECT_ROOT.parent / "shared" / "seeds").resolve()
