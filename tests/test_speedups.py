"""The speed-ups of Rasa internals (components/speedups.py) give exactly Rasa's results."""

from __future__ import annotations

from types import SimpleNamespace

from components import speedups


def test_the_response_key_table_finds_what_rasas_scan_finds():
    responses = {
        "utter_faq/bewegen": [{"text": "Bewegen helpt."}, {"text": "Blijf actief."}],
        "utter_faq/foto": [{"text": "Een foto is meestal niet nodig."}],
        # The same text under two keys: Rasa's scan takes the first key.
        "utter_faq/warmte": [{"text": "Blijf actief."}, {"text": "Warmte kan helpen."}],
        "utter_faq/leeg": [{"image": "https://example.org/x.png"}],
    }
    selector = SimpleNamespace(responses=responses)
    labels = [
        "faq/bewegen", "faq/foto", "faq/warmte", "faq/leeg", "Blijf actief.", "Warmte kan helpen.",
        "Een foto is meestal niet nodig.", "", "faq/onbekend", "utter_faq/bewegen", None,
    ]  # fmt: skip
    for name in labels:
        label = {"name": name}
        expected = speedups.RASA_RESOLVE_INTENT_RESPONSE_KEY(selector, label)
        assert speedups._resolve_intent_response_key(selector, label) == expected, name
    assert speedups._resolve_intent_response_key(selector, {"name": "Blijf actief."}) == "faq/bewegen"


def test_the_table_follows_a_new_set_of_responses():
    selector = SimpleNamespace(responses={"utter_faq/a": [{"text": "A"}]})
    assert speedups._resolve_intent_response_key(selector, {"name": "A"}) == "faq/a"
    selector.responses = {"utter_faq/b": [{"text": "A"}]}
    assert speedups._resolve_intent_response_key(selector, {"name": "A"}) == "faq/b"


def test_the_lean_model_load_predicts_exactly_what_rasas_load_predicts(monkeypatch):
    """Loads the trained model twice, with Rasa's load and with the lean one: the same NLU results."""
    import asyncio

    import yaml
    from rasa.core.agent import Agent
    from rasa.utils.tensorflow.models import RasaModel

    from .conftest import ROOT

    model = ROOT / "models" / "backbot.tar.gz"
    held_out = yaml.safe_load((ROOT / "tests" / "nlu" / "heldout.yml").read_text(encoding="utf-8"))["nlu"]
    texts = [line.strip()[2:] for block in held_out for line in block["examples"].splitlines() if line.strip()][::7]

    def predictions() -> list:
        agent = Agent.load(str(model))

        async def parse_all() -> list:
            found = []
            for text in texts:
                parse = await agent.parse_message(text)
                selected = parse["response_selector"]["default"]["response"]
                found.append(
                    (parse["intent"]["name"], round(parse["intent"]["confidence"], 4),
                     selected["intent_response_key"], round(selected["confidence"], 4))
                )  # fmt: skip
            return found

        return asyncio.run(parse_all())

    assert RasaModel.load.__func__ is speedups._lean_load
    lean = predictions()
    monkeypatch.setattr(RasaModel, "load", classmethod(speedups.RASA_MODEL_LOAD.__func__))
    assert predictions() == lean
    assert len(texts) > 30 and len({intent for intent, *_ in lean}) > 10
