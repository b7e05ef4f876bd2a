"""The Dutch spaCy language shared by NLU and leaflet search: `nl_core_news_sm` if installed, else rule-based."""

from __future__ import annotations

import logging
import sys
from typing import Any, Tuple

logger = logging.getLogger(__name__)

PREFERRED_MODEL = "nl_core_news_sm"
RULE_BASED_NAME = "spacy-nl-rule-based"
RULE_BASED_DESCRIPTION = "spaCy rule-based Dutch (tokenizer, stop words, lookup lemmatizer from spacy-lookups-data)"


def load_dutch(model_name: str = PREFERRED_MODEL, **load_options: Any) -> Tuple[Any, str]:
    """Loads the trained Dutch spaCy model, or builds rule-based Dutch when it is not installed.

    Args:
        model_name: name of the installed spaCy package to try first.
        **load_options: passed to `spacy.load` (e.g. `exclude=[...]`).

    Returns:
        The spaCy `Language` and its backend name (`nl_core_news_sm==3.4.0` or
        `spacy-nl-rule-based==<spaCy version>`), which says which one is in use.
    """
    import spacy

    try:
        nlp = spacy.load(model_name, **load_options)
        return nlp, f"{model_name}=={nlp.meta.get('version', '?')}"
    except Exception as error:  # noqa: BLE001 - any load failure means: use the fallback
        logger.debug("spaCy model %s not usable: %s", model_name, error)
    nlp = spacy.blank("nl")
    # Dutch's default lemmatizer mode ("rule") needs POS tags, which a blank pipeline lacks;
    # the lookup table from spacy-lookups-data needs none.
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp, f"{RULE_BASED_NAME}=={spacy.about.__version__}"


def skip_tensorflow() -> None:
    """Keeps TensorFlow out of a process that needs spaCy but not Rasa's models.

    spaCy's thinc imports TensorFlow when it is installed: seconds of start-up and hundreds of
    MB that the action server, leaflet ingest and search never use. Call before spaCy is loaded.
    """
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]


def describe_backend(name: str) -> str:
    """Returns a human-readable description of a backend name from `load_dutch`."""
    if name.startswith(RULE_BASED_NAME):
        return f"{RULE_BASED_DESCRIPTION}, spaCy {name.split('==')[1]}"
    return f"trained spaCy model {name}"


def dutch_word_forms() -> frozenset:
    """Every Dutch word form of spaCy's lookup lemma table (spacy-lookups-data): the words never "repaired"."""
    import gzip
    import json
    from pathlib import Path

    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "nl_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        table = json.load(handle)
    return frozenset(table) | frozenset(table.values())
