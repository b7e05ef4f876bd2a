"""Settings from environment variables, and the one place that loads the data files (once)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Tuple

from actions.handoff import HandoffService, HandoffStore
from actions.knowledge import Knowledge, load_knowledge
from actions.language import describe_backend, dutch_word_forms, load_dutch
from actions.leaflets.analysis import Analyzer
from actions.leaflets.index import LeafletIndex, fingerprint
from actions.leaflets.settings import LeafletSettings, load_leaflet_settings
from actions.practice import PracticeConfig, load_practice
from actions.redflags import RedFlagDetector, load_red_flags
from actions.redflags.learned import Example, LearnedDetector, training_set
from actions.redflags.learned import fingerprint as learned_fingerprint
from actions.redflags.normalise import Normaliser, pattern_vocabulary
from actions.redflags.patterns import RED_TIERS, REPORT, LearnedThresholds, RedFlagRules
from actions.redflags.review import ReviewStore

if TYPE_CHECKING:
    from actions.answers.decide import Services
    from actions.answers.followups import Followups
    from actions.answers.lexical import FaqLexicon

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


# The learned red-flag detector: its training data and the model file `make train` writes.
RED_FLAG_TRAINING_DIR = Path(os.environ.get("BACKBOT_RED_FLAG_TRAINING", PROJECT_ROOT / "data" / "red_flags"))
RED_FLAG_MODEL = Path(os.environ.get("BACKBOT_RED_FLAG_MODEL", PROJECT_ROOT / "models" / "red_flag_classifier.joblib"))
# The development table of the pattern detector also teaches the learned one (never a blind set).
RED_FLAG_DEVELOPMENT_TABLE = PROJECT_ROOT / "tests" / "red_flag_cases.yml"


@lru_cache(maxsize=1)
def get_red_flag_rules() -> RedFlagRules:
    """Returns the validated rules of red_flags.yml (loaded on first use)."""
    return load_red_flags(KNOWLEDGE_DIR / "red_flags.yml")


@lru_cache(maxsize=1)
def get_normaliser() -> Normaliser:
    """Returns the text normaliser both red-flag detectors read through (loads the Dutch word list once)."""
    rules = get_red_flag_rules()
    sources = [pattern.source for flag in rules.flags for pattern in flag.patterns]
    lexicon = dutch_word_forms()
    # Words patients use that the lemma table lacks ("verder") must never be "repaired".
    known = lexicon | _words_of(sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")) + _training_files())
    return Normaliser(rules.spelling, pattern_vocabulary(sources, lexicon), known)


def _words_of(paths: List[Path]) -> frozenset:
    import re

    from actions.text import fold

    words: set = set()
    for path in paths:
        words |= set(re.findall(r"[a-z]+", fold(path.read_text(encoding="utf-8"))))
    return frozenset(words)


@lru_cache(maxsize=1)
def get_detector() -> RedFlagDetector:
    """Returns the red-flag detector: patterns and learned detector together (loaded on first use)."""
    return RedFlagDetector(get_red_flag_rules(), get_normaliser(), get_learned_detector())


def _training_files() -> List[Path]:
    return sorted(RED_FLAG_TRAINING_DIR.glob("*.yml"))


def _red_flag_ids(rules: RedFlagRules) -> List[str]:
    return [flag.id for flag in rules.flags if flag.tier in RED_TIERS]


def learned_model_inputs(augmented: bool = True) -> Tuple[List[str], List[Tuple[str, ...]], List[str]]:
    """The normalised training texts, their flags, and the flag ids the learned detector learns.

    Besides data/red_flags/*.yml, the pattern detector's development table is used, labelled
    with the flags the patterns find in it (the table checks that they are right).
    """
    import yaml

    rules = get_red_flag_rules()
    flags = _red_flag_ids(rules)
    normalise = get_normaliser()
    extra: List[Example] = []
    if RED_FLAG_DEVELOPMENT_TABLE.exists():
        from actions.redflags.patterns import PatternDetector

        patterns = PatternDetector(rules)
        cases = yaml.safe_load(RED_FLAG_DEVELOPMENT_TABLE.read_text(encoding="utf-8"))["cases"]
        for case in cases:
            found = [f.flag for f in patterns.findings(normalise(case["text"])) if f.status == REPORT]
            extra.append(Example(case["text"], tuple(sorted({f for f in found if f in flags}))))
    if not augmented:
        from actions.redflags.learned import read_examples

        written = read_examples(_training_files(), flags) + extra
        return [normalise(e.text) for e in written], [e.flags for e in written], flags
    texts, labels = training_set(_training_files(), flags, normalise, extra)
    return texts, labels, flags


def _learned_fingerprint() -> str:
    rules = get_red_flag_rules()
    files = _training_files() + [KNOWLEDGE_DIR / "red_flags.yml"]
    if RED_FLAG_DEVELOPMENT_TABLE.exists():
        files.append(RED_FLAG_DEVELOPMENT_TABLE)
    return learned_fingerprint(files, {"flags": _red_flag_ids(rules)})


def train_learned_detector(force: bool = False) -> LearnedDetector:
    """Loads the saved learned detector, or trains and saves it when it is missing or out of date."""
    expected = _learned_fingerprint()
    detector = None if force else LearnedDetector.load(RED_FLAG_MODEL, expected)
    if detector is not None:
        return detector
    texts, labels, flags = learned_model_inputs()
    detector = LearnedDetector.train(texts, labels, flags, expected)
    try:
        detector.save(RED_FLAG_MODEL)
    except OSError as error:
        logger.warning("Could not save the learned red-flag detector to %s: %s", RED_FLAG_MODEL, error)
    return detector


def calibrate_thresholds() -> None:
    """Prints recall and false alarms of both detectors together, per threshold, by cross-validation.

    The written training examples (never a blind set) are split in five; each fifth is read by
    the patterns and by a learned detector trained on the other four fifths (with their
    generated variants). Used to choose the `learned` thresholds of red_flags.yml.
    """
    import dataclasses

    from actions.redflags.learned import augment, folds_of, read_examples

    rules = get_red_flag_rules()
    flags = _red_flag_ids(rules)
    normalise = get_normaliser()
    written = read_examples(_training_files(), flags)
    settings = [
        LearnedThresholds(escalate_from=e, check_from=c, sure_from=max(e, 0.97), doubt_below=0.1)
        for e in (0.7, 0.8, 0.85, 0.9, 0.95)
        for c in (0.5, 0.6, 0.7)
        if c <= e
    ]
    outcomes = {setting: [] for setting in settings}
    patterns_only = RedFlagDetector(rules, normalise, None)
    baseline = [bool(patterns_only.assess(e.text).tier) for e in written]
    for train, test in folds_of(len(written)):
        examples = [written[i] for i in train]
        examples += augment(examples, copies=2)
        learned = LearnedDetector.train([normalise(e.text) for e in examples], [e.flags for e in examples], flags)
        for setting in settings:
            detector = RedFlagDetector(dataclasses.replace(rules, learned=setting), normalise, learned)
            for i in test:
                assessment = detector.assess(written[i].text)
                outcomes[setting].append((bool(written[i].flags), bool(assessment.tier), assessment.needs_check))
    reports = sum(bool(e.flags) for e in written)
    nones = len(written) - reports
    caught = sum(b for e, b in zip(written, baseline, strict=True) if e.flags)
    alarms = sum(b for e, b in zip(written, baseline, strict=True) if not e.flags)
    print(f"{len(written)} written examples ({reports} reports, {nones} none), 5-fold")
    print(f"patterns alone: recall {caught / reports:.3f}  false alarms {alarms / nones:.3f}")
    for setting, rows in outcomes.items():
        hit = sum(1 for is_report, tier, _ in rows if is_report and tier)
        false = sum(1 for is_report, tier, _ in rows if not is_report and tier)
        checked = sum(1 for is_report, tier, check in rows if not is_report and not tier and check)
        print(
            f"escalate_from {setting.escalate_from:.2f} check_from {setting.check_from:.2f}: "
            f"recall {hit / reports:.3f}  false alarms {false / nones:.3f}  checks on non-reports {checked / nones:.3f}"
        )


@lru_cache(maxsize=1)
def get_learned_detector() -> Optional[LearnedDetector]:
    """The learned red-flag detector (trained on first use when `make train` has not), or None without training data."""
    if not _training_files():
        logger.warning("No training data in %s: only the pattern red-flag detector is used.", RED_FLAG_TRAINING_DIR)
        return None
    return train_learned_detector()


# Handoff records for the front desk (SQLite) and the URL notified of each one (optional).
HANDOFF_DB = Path(os.environ.get("BACKBOT_HANDOFF_DB", PROJECT_ROOT / "run" / "handoffs.db"))
HANDOFF_WEBHOOK = os.environ.get("BACKBOT_HANDOFF_WEBHOOK", "")


@lru_cache(maxsize=1)
def get_handoff_service() -> HandoffService:
    """Returns the handoff service (creates its table on first use)."""
    return HandoffService(HandoffStore(HANDOFF_DB), HANDOFF_WEBHOOK)


# Disagreements between the two red-flag detectors, for a clinician's review (SQLite).
REVIEW_DB = Path(os.environ.get("BACKBOT_REVIEW_DB", PROJECT_ROOT / "run" / "red_flag_review.db"))


@lru_cache(maxsize=1)
def get_review_store() -> ReviewStore:
    """Returns the store of detector disagreements (creates its table on first use)."""
    return ReviewStore(REVIEW_DB)


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


@lru_cache(maxsize=1)
def get_followups() -> Followups:
    """Returns the follow-up cue words of followups.yml (loaded on first use)."""
    from actions.answers.followups import load_followups

    return load_followups(KNOWLEDGE_DIR / "followups.yml")


def _index_or_none() -> Optional[LeafletIndex]:
    """The leaflet index, or None (logged) when it cannot be built: the chat goes on without leaflet answers."""
    try:
        return get_leaflet_index()
    except Exception:  # noqa: BLE001 - a broken leaflet setup must not break the conversation
        logger.exception("Leaflet search is unavailable")
        return None


@lru_cache(maxsize=1)
def get_services() -> Services:
    """Everything `decide` reads: knowledge, practice, red-flag detector, follow-up cues, leaflet index."""
    from actions.answers.decide import Services

    return Services(
        knowledge=get_knowledge(),
        practice=get_practice(),
        detector=get_detector(),
        followups=get_followups(),
        lexicon=get_normaliser().lexicon,
        index=_index_or_none,
        lexicon_faq=get_faq_lexicon(),
    )


@lru_cache(maxsize=1)
def get_faq_lexicon() -> FaqLexicon:
    """The words of the FAQ's entries with their rarity (the decision's second opinion within a topic)."""
    from spacy.lang.nl.stop_words import STOP_WORDS

    from actions.answers.lexical import FaqLexicon

    followups = get_followups()
    return FaqLexicon(get_knowledge().faq, set(STOP_WORDS) | set(followups.filler) | {"rug", "rugpijn", "pijn"})
