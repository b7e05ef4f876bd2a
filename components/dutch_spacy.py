"""Dutch spaCy language for the NLU pipeline: `nl_core_news_sm` when installed, else rule-based Dutch."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from actions.language import PREFERRED_MODEL, describe_backend, load_dutch

logger = logging.getLogger(__name__)

BACKEND_FILE = "spacy_backend.json"


def load_dutch_language(model_name: str = PREFERRED_MODEL) -> SpacyModel:
    """Loads the Dutch language (see `actions.language.load_dutch`) wrapped for Rasa.

    Its `model_name` says which backend is in use and so enters Rasa's training fingerprint:
    switching backend retrains.
    """
    nlp, name = load_dutch(model_name)
    return SpacyModel(model=nlp, model_name=name)


def describe(model: SpacyModel) -> str:
    """Returns a human-readable description of the backend behind `model`."""
    return describe_backend(model.model_name)


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="DutchSpacyNLP",
)
class DutchSpacyNLP(SpacyNLP):
    """Provides the Dutch spaCy language: the trained model if installed, else rule-based Dutch."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Returns the default config: try `nl_core_news_sm` first; lower-case the text."""
        return {"model": PREFERRED_MODEL, "case_sensitive": False}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DutchSpacyNLP:
        """Loads the language once and logs which backend is in use."""
        config = {**cls.get_default_config(), **config}
        model = load_dutch_language(config["model"])
        logger.info("Dutch language for NLU: %s", describe(model))
        return cls(model, config)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    is_trainable=True,
    model_from="DutchSpacyNLP",
)
class DutchLanguageCheck(GraphComponent):
    """Records in the trained model which Dutch backend trained it; checks it when loaded."""

    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        trained_with: str | None = None,
    ) -> None:
        """Keeps where to persist and which backend trained the model (when loaded)."""
        self._model_storage = model_storage
        self._resource = resource
        self.trained_with = trained_with

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DutchLanguageCheck:
        """Creates an untrained check."""
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DutchLanguageCheck:
        """Reads which backend trained the model."""
        try:
            with model_storage.read_from(resource) as directory:
                info = json.loads((directory / BACKEND_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            raise InvalidConfigException(
                f"The trained model does not say which Dutch spaCy backend trained it ({error}). "
                "Retrain it with `make train`."
            ) from error
        logger.info("Model was trained with Dutch language: %s", info["description"])
        return cls(model_storage, resource, info["model_name"])

    def train(self, training_data: TrainingData, model: SpacyModel) -> Resource:
        """Writes the backend of this training run into the model."""
        info = {"model_name": model.model_name, "description": describe(model)}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / BACKEND_FILE).write_text(json.dumps(info), encoding="utf-8")
        logger.info("Training with Dutch language: %s", info["description"])
        return self._resource

    def process_training_data(self, training_data: TrainingData, model: SpacyModel) -> TrainingData:
        """Leaves the training data as it is."""
        return training_data

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        """Warns once when this machine's backend differs from the one that trained the model."""
        if self.trained_with is not None and model.model_name != self.trained_with:
            logger.warning(
                "The model was trained with Dutch language '%s' but this machine provides '%s'; "
                "answers may be less accurate. Retrain it with `make train`.",
                self.trained_with,
                model.model_name,
            )
            self.trained_with = None
        return messages
