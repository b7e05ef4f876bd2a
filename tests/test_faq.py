"""The FAQ files a practice edits: validation with clear errors, and the export to Rasa training data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.answers.faq import export, load_faq, rasa_training_data, retrieval_keys
from actions.answers.followups import load_followups
from actions.config import get_knowledge
from actions.datafile import DataFileError
from actions.knowledge import load_knowledge

ENTRY = """version: 1
entries:
  - id: exercises_how_often
    topic: exercises
    question: "Hoe vaak moet ik de oefeningen doen?"
    sources: ["003"]
    answer: |
      Dat spreekt u af met uw fysiotherapeut.
    examples: ["hoe vaak oefenen", "hoeveel keer per dag oefenen", "oefeningen elke dag?"]
"""


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test.yml"
    path.write_text(text, encoding="utf-8")
    return folder


def test_the_shipped_faq_has_at_least_200_entries_for_every_topic() -> None:
    knowledge = get_knowledge()
    assert len(knowledge.faq) >= 200
    medical = {a.topic for a in knowledge.answers.values() if a.kind == "medical"}
    covered = {e.topic for e in knowledge.faq.values()}
    assert medical <= covered, f"topics without FAQ entries: {sorted(medical - covered)}"


def test_every_entry_is_short_b1_in_u_form() -> None:
    for entry in get_knowledge().faq.values():
        lines = [line for line in entry.answer.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 7, entry.id
        words = entry.answer.lower().split()
        assert "je" not in words and "jij" not in words, f"{entry.id}: u-form"
        assert "je" not in entry.question.lower().split(), f"{entry.id}: the button is in u-form too"


def test_a_valid_file_loads(tmp_path: Path) -> None:
    entries = load_faq(write(tmp_path / "faq", ENTRY), ["exercises"], ["003"])
    assert entries["exercises_how_often"].response_key == "ask_exercises/exercises_how_often"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("topic: exercises", "topic: knees"), "unknown topic 'knees'"),
        (('sources: ["003"]', 'sources: ["009"]'), "unknown source id(s) ['009']"),
        (("Hoe vaak moet ik de oefeningen doen?", "x" * 61), "at most 60 characters"),
        (("id: exercises_how_often", "id: Exercises How Often"), "lower-case letters"),
        (
            (
                'examples: ["hoe vaak oefenen", "hoeveel keer per dag oefenen", "oefeningen elke dag?"]',
                'examples: ["hoe vaak"]',
            ),
            "at least 3 examples",
        ),
        (("Dat spreekt u af", "Dat spreekt {u} af"), "may not contain { or }"),
        (("    answer: |\n      Dat spreekt u af met uw fysiotherapeut.\n", ""), "'answer' is missing"),
    ],
)
def test_a_wrong_entry_names_file_line_and_entry(tmp_path: Path, change, message) -> None:
    folder = write(tmp_path / "faq", ENTRY.replace(*change))
    with pytest.raises(DataFileError) as error:
        load_faq(folder, ["exercises"], ["003"])
    assert message in str(error.value)
    assert "test.yml:" in str(error.value)


def test_an_id_twice_or_a_topic_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="used twice"):
        load_faq(write(tmp_path / "faq", ENTRY), ["exercises"], ["003"], reserved=["exercises_how_often"])


def test_the_same_example_for_two_entries_is_refused(tmp_path: Path) -> None:
    second = ENTRY.replace("exercises_how_often", "exercises_other").replace("version: 1\nentries:\n", "")
    with pytest.raises(DataFileError, match="also an example of 'exercises_how_often'"):
        load_faq(write(tmp_path / "faq", ENTRY + second), ["exercises"], ["003"])


def test_a_broken_faq_stops_the_knowledge_from_loading(knowledge_copy: Path) -> None:
    path = sorted((knowledge_copy / "faq").glob("*.yml"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("    topic: ", "    topic: x", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="unknown topic"):
        load_knowledge(knowledge_copy)


def test_export_gives_rasa_every_example_and_a_response_per_key(tmp_path: Path) -> None:
    path = export(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    knowledge = get_knowledge()
    intents = {block["intent"] for block in data["nlu"]}
    assert intents == {e.response_key for e in knowledge.faq.values()}
    for key in intents:
        assert f"utter_{key}" in data["responses"]
    for key in retrieval_keys(sorted((Path(__file__).parent.parent / "data" / "nlu").rglob("*.yml"))):
        assert f"utter_{key}" in data["responses"], key
    examples = sum(len(block["examples"].strip().splitlines()) for block in data["nlu"])
    assert examples == sum(len(e.examples) for e in knowledge.faq.values())


def test_export_writes_one_line_per_example(tmp_path: Path) -> None:
    folder = write(tmp_path / "faq", ENTRY.replace('"hoe vaak oefenen"', '"hoe vaak\\n   oefenen"'))
    text = rasa_training_data(load_faq(folder, ["exercises"], ["003"]), [], {})
    assert "    - hoe vaak oefenen\n" in text


def test_followup_cues_name_known_cues_only(knowledge_copy: Path) -> None:
    path = knowledge_copy / "followups.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("subject_cues: [pregnancy", "subject_cues: [moon"), encoding="utf-8"
    )
    with pytest.raises(DataFileError, match="unknown cue"):
        load_followups(path)


@pytest.mark.parametrize(
    ("text", "followup"),
    [
        ("en hoe vaak dan?", True),
        ("welke dan?", True),
        ("wat is daar het nummer?", True),
        ("en als ik zwanger ben?", True),
        ("en hoe lang duurt dat dan?", True),
        ("en mag ik sporten met rugpijn?", False),
        ("hoe vaak moet ik oefenen voor mijn rug", False),
        ("daaag", False),
    ],
)
def test_what_counts_as_a_follow_up(text: str, followup: bool) -> None:
    from actions.config import get_followups

    assert get_followups().is_followup(text) is followup
