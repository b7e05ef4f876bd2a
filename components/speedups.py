"""Measured speed-ups of Rasa 3.6 internals, each doing the same work once instead of per call.

Profiling the Rasa server under `make bench` (py-spy) showed:
1. Every action-server response is checked with `jsonschema.validate(result, schema)`, which
   re-validates Rasa's large event schema against the JSON-Schema meta-schema on each call:
   56% of the server's time per message. The replacement validates the response the same
   way with a validator built once.
2. Loading a conversation from the tracker store looks up each stored event's class by
   walking all subclasses of `Event` (13% of the time). The replacement keeps the same
   name -> class table, rebuilt when an unknown name appears.
3. The response selector finds each ranked label's response key by scanning every FAQ answer's
   texts: 31 scans of ~270 answers per message, 7 of the 25 ms that NLU took per message
   (cProfile, 2026-11-30). The replacement builds the same label -> key table once per model.
4. Loading DIET and the response selector, Rasa trains each for one step on one example to
   create the weights (Keras `fit`), which traces the whole training graph and creates the
   optimizer's state, then loads the trained weights. That training machinery stays in memory
   and is never used: about 600 of the Rasa process's 1,690 MB. The replacement creates the
   weights by one eager prediction instead, loads the trained weights (the optimizer's state in
   the file is skipped), forgets what that first prediction computed with the untrained weights
   and predicts once more, as Rasa does, to build the prediction graph. The predictions are the
   same (tests/test_speedups.py compares both loads on the trained model).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Optional, Type

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data import util as training_data_util
from rasa.shared.utils.common import all_subclasses
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.models import RasaModel

_EVENT_CLASSES: Dict[str, Type[Event]] = {}


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            f"from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise


def _resolve_event_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Same result as `Event.resolve_by_type`: the first concrete subclass with that type name."""
    if type_name not in _EVENT_CLASSES:
        for cls in all_subclasses(Event):
            _EVENT_CLASSES.setdefault(cls.type_name, cls)
    if type_name in _EVENT_CLASSES:
        return _EVENT_CLASSES[type_name]
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def response_keys(responses: Dict[str, Any]) -> Dict[str, str]:
    """Label name -> response key, as `ResponseSelector._resolve_intent_response_key` finds it.

    Rasa scans the responses in order and returns the first key whose own name, or one of whose
    response texts, equals the label; `setdefault` in the same order keeps that first match.
    """
    table: Dict[str, str] = {}
    for key, answers in responses.items():
        search_key = training_data_util.template_key_to_intent_response_key(key)
        table.setdefault(search_key, search_key)
        for answer in answers:
            table.setdefault(answer.get(TEXT, ""), search_key)
    return table


def _resolve_intent_response_key(self: ResponseSelector, label: Dict[str, Optional[str]]) -> Optional[str]:
    cached = getattr(self, "_backbot_response_keys", None)
    if cached is None or cached[0] is not self.responses:
        cached = (self.responses, response_keys(self.responses))
        self._backbot_response_keys = cached
    return cached[1].get(label.get("name"))  # type: ignore[arg-type]


def _lean_load(
    cls: Type[RasaModel],
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load` without the one training step; Rasa's own load to fine-tune or without an example."""
    if finetune_mode or predict_data_example is None:
        return RASA_MODEL_LOAD.__func__(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
    import tensorflow as tf  # noqa: PLC0415 - Rasa has imported it already

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=config.get(RUN_EAGERLY)
    )
    eager = model._run_eagerly
    model._run_eagerly = True  # creates every weight the prediction uses, without tracing a graph
    model.run_inference(predict_data_example)
    model._run_eagerly = eager
    model.load_weights(model_file_name).expect_partial()
    # Forget what was computed with the untrained weights: the label embeddings and the graph.
    model.prepared_for_prediction = False
    if hasattr(model, "all_labels_embed"):
        model.all_labels_embed = None
    model._tf_predict_step = None
    model.run_inference(predict_data_example)
    return model


# Rasa's own implementations, kept to compare against in the tests.
RASA_RESOLVE_INTENT_RESPONSE_KEY = ResponseSelector._resolve_intent_response_key
RASA_MODEL_LOAD = RasaModel.load


def install() -> None:
    """Installs the replacements."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_by_type)  # type: ignore[method-assign]
    ResponseSelector._resolve_intent_response_key = _resolve_intent_response_key  # type: ignore[method-assign]
    RasaModel.load = classmethod(_lean_load)  # type: ignore[method-assign,assignment]
