"""The practice's FAQ: specific questions inside a topic, each with its own short answer.

The FAQ lives in data/knowledge/faq/*.yml (one file per group of topics), which a practice may
edit. Every entry holds its answer and the ways patients ask it (`examples`). Rasa learns the
examples as retrieval intents: the example of entry `exercises_how_often` of topic `exercises`
becomes intent `ask_exercises/exercises_how_often`, so DIET learns the topic from the general
and the specific questions together and the ResponseSelector picks the entry. `export` writes
that Rasa training data (and the responses Rasa needs for every retrieval key) to build/rasa/.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from actions.datafile import DataFileError, Entry, read_yaml

# The response key of a topic's general answer: `ask_<topic>/overview`.
OVERVIEW_KEY = "overview"
MAX_QUESTION_CHARS = 60
MIN_EXAMPLES = 3
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,59}$")


@dataclass(frozen=True)
class FaqEntry:
    """One specific question with its own answer."""

    id: str
    topic: str
    question: str
    answer: str
    sources: Tuple[str, ...]
    examples: Tuple[str, ...]
    safety_net: bool = True

    @property
    def intent(self) -> str:
        """The retrieval intent (the topic's intent) this entry's examples train."""
        return f"ask_{self.topic}"

    @property
    def response_key(self) -> str:
        """Rasa's intent-response key: `ask_<topic>/<id>`."""
        return f"{self.intent}/{self.id}"


def load_faq(
    directory: Path, topics: Iterable[str], sources: Iterable[str], reserved: Iterable[str] = ()
) -> Dict[str, FaqEntry]:
    """Loads and validates every data/knowledge/faq/*.yml file.

    Args:
        directory: the faq folder.
        topics: the topic ids an entry may belong to.
        sources: the leaflet ids an entry may name.
        reserved: ids that are taken already (topic ids, reply kinds).

    Raises:
        DataFileError: naming the file, line and entry that is wrong.
    """
    topics, sources, reserved = set(topics), set(sources), set(reserved)
    files = sorted(Path(directory).glob("*.yml"))
    if not files:
        raise DataFileError(directory, "no FAQ files (*.yml) in this folder")
    entries: Dict[str, FaqEntry] = {}
    seen_examples: Dict[str, str] = {}
    for path in files:
        root = Entry(path, read_yaml(path), "file")
        root.version()
        for item in root.entries("entries", lambda i: f"entry #{i + 1}"):
            entry = _entry(item, topics, sources)
            if entry.id in entries or entry.id in reserved:
                raise item.error(f"id '{entry.id}' is used twice (ids must be unique, and not a topic id)")
            for example in entry.examples:
                key = " ".join(example.lower().split())
                if key in seen_examples and seen_examples[key] != entry.id:
                    raise item.error(f"example '{example}' is also an example of '{seen_examples[key]}'")
                seen_examples[key] = entry.id
            entries[entry.id] = entry
    return entries


def _entry(item: Entry, topics: set, sources: set) -> FaqEntry:
    entry_id = item.text("id")
    item.what = f"FAQ entry '{entry_id}'"
    if not ID_PATTERN.match(entry_id):
        raise item.error("the id must be lower-case letters, digits and _ (3 to 60 characters)")
    topic = item.text("topic")
    if topic not in topics:
        raise item.error(f"unknown topic '{topic}' (see answers.yml)")
    question = item.text("question")
    if len(question) > MAX_QUESTION_CHARS:
        raise item.error(f"'question' is a button label: at most {MAX_QUESTION_CHARS} characters")
    named = item.text_list("sources")
    unknown = [source for source in named if source not in sources]
    if unknown:
        raise item.error(f"unknown source id(s) {unknown}; see sources.yml")
    examples = item.text_list("examples")
    if len(examples) < MIN_EXAMPLES:
        raise item.error(f"give at least {MIN_EXAMPLES} examples of how patients ask this")
    answer = item.text("answer")
    if "{" in answer or "}" in answer:
        raise item.error("'answer' may not contain { or }")
    return FaqEntry(
        id=entry_id,
        topic=topic,
        question=question,
        answer=answer,
        sources=tuple(named),
        examples=tuple(examples),
        safety_net=item.data.get("safety_net") is not False,
    )


def retrieval_keys(nlu_files: Sequence[Path]) -> List[str]:
    """The intent-response keys (`intent/key`) used in Rasa NLU files."""
    keys: List[str] = []
    for path in nlu_files:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = str(block.get("intent") or "")
            if "/" in intent and intent not in keys:
                keys.append(intent)
    return keys


def rasa_training_data(entries: Mapping[str, FaqEntry], other_keys: Sequence[str], labels: Mapping[str, str]) -> str:
    """The Rasa NLU data of the FAQ, with a response for every retrieval key.

    The response texts are only labels for Rasa (the answer itself is composed by the actions
    from the FAQ file), so a practice edits an answer in one place.
    """
    lines = [
        "# Generated by `python -m actions.answers.faq export` from data/knowledge/faq/*.yml: do not edit.",
        'version: "3.1"',
        "nlu:",
    ]
    for entry in entries.values():
        lines += [f"- intent: {entry.response_key}", "  examples: |"]
        lines += [f"    - {_one_line(example)}" for example in entry.examples]
    responses: Dict[str, List[Dict[str, str]]] = {}
    for entry in entries.values():
        responses[f"utter_{entry.response_key}"] = [{"text": entry.question}]
    for key in other_keys:
        responses.setdefault(f"utter_{key}", [{"text": labels.get(key, key)}])
    body = yaml.safe_dump({"responses": responses}, allow_unicode=True, sort_keys=False, width=1000)
    return "\n".join(lines) + "\n" + body


def _one_line(text: str) -> str:
    return " ".join(text.split())


def export(out_dir: Path) -> Path:
    """Writes build/rasa/faq.yml from the FAQ files and the retrieval keys of data/nlu."""
    from actions.config import PROJECT_ROOT, get_knowledge

    knowledge = get_knowledge()
    nlu_files = sorted((PROJECT_ROOT / "data" / "nlu").rglob("*.yml"))
    keys = retrieval_keys(nlu_files)
    labels = {f"ask_{a.topic}/{OVERVIEW_KEY}": a.label for a in knowledge.answers.values() if a.label}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "faq.yml"
    text = rasa_training_data(knowledge.faq, keys, labels)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m actions.answers.faq export [folder]`."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "export":
        print("usage: python -m actions.answers.faq export [build/rasa]", file=sys.stderr)
        return 2
    from actions.config import PROJECT_ROOT

    out = Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / "build" / "rasa"
    try:
        path = export(out)
    except DataFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"FAQ training data written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
