"""NLU component that reads every message for red flags and routes reports past the intent classifier."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from actions.config import get_detector

logger = logging.getLogger(__name__)

RED_FLAG_INTENT = "report_red_flag"
OWN_PAIN_INTENT = "describe_back_pain"
WARNING_SIGNS_INTENT = "ask_when_to_see_gp"
RED_FLAGS_KEY = "red_flags"


def routed_intent(assessment: Any, nlu_intent: Optional[str]) -> Optional[str]:
    """Returns the intent that must replace NLU's, or None to keep it.

    A reported red flag or suicidal thought always becomes `report_red_flag`, whatever NLU
    predicted. A red flag mentioned only as a question or hypothetical is answered as
    `ask_when_to_see_gp`, unless NLU found another back-pain question. When NLU alone thinks
    it is a red-flag report but no flag was recognised, or only the learned detector suspects
    one, the safety-check questions are asked.
    """
    if assessment.tier or assessment.crisis:
        return RED_FLAG_INTENT
    if assessment.asks_about_warning_signs and not (nlu_intent or "").startswith("ask_"):
        return WARNING_SIGNS_INTENT
    if nlu_intent == RED_FLAG_INTENT:
        return OWN_PAIN_INTENT
    # Only the learned detector suspects a sign: the safety check, unless a question is asked
    # (then it is answered and the check is offered).
    if assessment.needs_check and not (nlu_intent or "").startswith("ask_"):
        return OWN_PAIN_INTENT
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagDetector(GraphComponent):
    """Tags every message with its red-flag findings (`red_flags` in the parse data)."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        """Loads and validates data/knowledge/red_flags.yml once."""
        detector = get_detector()
        learned = (
            f"learned detector for {len(detector.learned.flags)} flags" if detector.learned else "no learned detector"
        )
        logger.info("Red-flag detectors loaded: %d flags with patterns, %s", len(detector.rules.flags), learned)
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data unchanged: the detector is rule-based."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Assesses each message and overrides the intent where the safety rules require it."""
        detector = get_detector()
        for message in messages:
            assessment = detector.assess(message.get(TEXT) or "")
            intent = message.get(INTENT) or {}
            data = assessment.as_dict()
            data["nlu_intent"] = intent.get("name")
            message.set(RED_FLAGS_KEY, data, add_to_output=True)
            new_intent = routed_intent(assessment, intent.get("name"))
            if new_intent and new_intent != intent.get("name"):
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT, {"name": new_intent, "confidence": 1.0}, add_to_output=True)
                message.set(
                    INTENT_RANKING_KEY,
                    [{"name": new_intent, "confidence": 1.0}] + [r for r in ranking if r.get("name") != new_intent],
                    add_to_output=True,
                )
        return messages
