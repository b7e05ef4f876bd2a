"""Words a passage found in the leaflets as a chat reply: the source first, a readable excerpt, "Meer lezen"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from actions.compose import Reply, contact_list
from actions.knowledge import Knowledge
from actions.leaflets.index import DocumentInfo, LeafletIndex
from actions.leaflets.passages import SENTENCE_END, Passage
from actions.practice import PracticeConfig

LEAFLET_TOPIC = "leaflet"
# The slot that keeps where the reader is: set by every reply that quotes a passage.
PASSAGE_SLOT = "leaflet_passage"
READ_MORE_PAYLOAD = "/read_more"


@dataclass(frozen=True)
class Position:
    """Where a reader is in the leaflets: a passage and how many of its segments were shown."""

    passage_id: str
    shown: int

    def encode(self) -> str:
        """The slot value ('<passage id>@<segments shown>')."""
        return f"{self.passage_id}@{self.shown}"

    @staticmethod
    def decode(value: Optional[str]) -> Optional[Position]:
        """Reads a slot value; None when empty or malformed."""
        passage_id, _, shown = (value or "").rpartition("@")
        return Position(passage_id, int(shown)) if passage_id and shown.isdigit() else None


def segments(passage: Passage) -> List[Tuple[int, str]]:
    """The passage as (line number, sentence or list item) pairs, the units a preview is cut at."""
    result = []
    for number, line in enumerate(passage.lines):
        pieces = [line] if line.startswith("• ") else SENTENCE_END.split(line)
        result.extend((number, piece) for piece in pieces if piece.strip())
    return result


def render(pieces: List[Tuple[int, str]]) -> str:
    """Joins segments: sentences of one line with a space, lines with a line break."""
    lines: List[str] = []
    last = None
    for number, text in pieces:
        if number == last:
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(text)
        last = number
    return "\n".join(lines)


def excerpt(passage: Passage, start: int, max_words: int) -> Tuple[str, int, bool]:
    """Up to `max_words` words of a passage from segment `start` (at least one segment).

    Returns:
        The text, the number of segments shown so far, and whether more of the passage is left.
    """
    parts = segments(passage)
    chosen: List[Tuple[int, str]] = []
    words = 0
    index = start
    while index < len(parts):
        size = len(parts[index][1].split())
        if chosen and words + size > max_words:
            break
        chosen.append(parts[index])
        words += size
        index += 1
    return render(chosen), index, index < len(parts)


def leaflet_name(knowledge: Knowledge, document: DocumentInfo) -> str:
    """How a leaflet is named: de folder 'Lage rugpijn' van FysioMaatwerk."""
    if document.publisher:
        return knowledge.message("leaflet_name", kind=document.kind, title=document.title, publisher=document.publisher)
    return knowledge.message("leaflet_name_no_publisher", kind=document.kind, title=document.title)


def citation(knowledge: Knowledge, document: DocumentInfo, heading: str) -> str:
    """The line before a quote: Uit de folder 'Lage rugpijn' van FysioMaatwerk, bij 'Adviezen':."""
    name = leaflet_name(knowledge, document)
    if not heading or heading == document.title:
        return knowledge.message("leaflet_cite_no_heading", name=name)
    return knowledge.message("leaflet_cite", name=name, heading=heading)


def _read_more_buttons(knowledge: Knowledge) -> List[dict]:
    return [{"title": knowledge.message("leaflet_read_more"), "payload": READ_MORE_PAYLOAD}]


def _focus(index: LeafletIndex, passage: Passage, question: str) -> int:
    """The segment of the passage that holds most of the question's words (the first on a tie)."""
    wanted = {key for concept in index.analyzer.concepts(question) for key in concept.terms}
    best, best_count = 0, 0
    for number, (_, text) in enumerate(segments(passage)):
        count = len(wanted & {key for c in index.analyzer.concepts(text) for key in c.terms})
        if count > best_count:
            best, best_count = number, count
    return best


def passage_reply(
    knowledge: Knowledge,
    index: LeafletIndex,
    passage: Passage,
    start: int = 0,
    continued: bool = False,
    question: str = "",
) -> Reply:
    """Quotes a passage (from segment `start`) with its source, the not-a-diagnosis line and "Meer lezen".

    The reply sets the `leaflet_passage` slot to where the reader now is.

    Args:
        knowledge: the messages.
        index: the index the passage comes from (to know whether the leaflet goes on).
        passage: the passage.
        start: the first segment to show (after an earlier "Meer lezen").
        continued: whether this continues an earlier excerpt (says "verder" instead of citing anew).
        question: the question; when the passage is longer than the preview, the preview starts
            near the part that holds the question's words.
    """
    document = index.documents[passage.document]
    text, shown, more = excerpt(passage, start, index.settings.preview_words)
    focus = _focus(index, passage, question) if question and more and start == 0 else 0
    if focus >= shown:  # the words asked about come later: the passage's first sentence, then from just before them
        first = render(segments(passage)[:1])
        text, shown, more = excerpt(passage, max(1, focus - 1), index.settings.preview_words)
        text = f"{first}\n…\n{text}"
    if continued:
        intro = knowledge.message("leaflet_continued", heading=passage.heading) if start == 0 else ""
    else:
        intro = citation(knowledge, document, passage.heading)
    body = f"{intro}\n\n{text}" if intro else text
    can_read_on = more or index.next_passage(passage) is not None
    reply = Reply(
        topic=LEAFLET_TOPIC,
        texts=[f"{body}{' …' if more else ''}", knowledge.disclaimer],
        buttons=_read_more_buttons(knowledge) if can_read_on else [],
        medical=True,
        slots={PASSAGE_SLOT: Position(passage.id, shown).encode()},
    )
    return reply


def read_more_reply(knowledge: Knowledge, index: LeafletIndex, position: Optional[Position]) -> Reply:
    """Goes on where the reader stopped: the rest of the passage, else the next passage of the leaflet."""
    passage = index.passage(position.passage_id) if position else None
    if position is None or passage is None:
        return Reply(topic=LEAFLET_TOPIC, texts=[knowledge.message("leaflet_nothing_to_read")])
    if position.shown < len(segments(passage)):
        return passage_reply(knowledge, index, passage, position.shown, continued=True)
    following = index.next_passage(passage)
    if following is None:
        title = index.documents[passage.document].title
        return Reply(topic=LEAFLET_TOPIC, texts=[knowledge.message("leaflet_end", title=title)])
    return passage_reply(knowledge, index, following, 0, continued=True)


def topic_hints(
    knowledge: Knowledge, ranking: Iterable[Tuple[Optional[str], float]], limit: int = 2, min_confidence: float = 0.05
) -> List[str]:
    """The answers (label and text) of the medical topics NLU ranked highest: what a question is probably about."""
    hints: List[str] = []
    for intent, confidence in ranking:
        answer = knowledge.answer_for_intent(intent)
        if confidence >= min_confidence and answer is not None and answer.kind == "medical":
            hints.append(f"{answer.label}. {answer.text}")
        if len(hints) == limit:
            break
    return hints


def not_covered_reply(knowledge: Knowledge, practice: PracticeConfig, user_text: str) -> Reply:
    """Says honestly that the leaflets do not answer the question and how to reach the practice."""
    return Reply(
        topic="not_covered",
        texts=[knowledge.message("leaflet_not_covered", contact_list=contact_list(knowledge, practice, user_text))],
    )


def source_of_passage(knowledge: Knowledge, index: LeafletIndex, position: Optional[Position]) -> Optional[Reply]:
    """Answers "Waar staat dat?" after a quoted passage; None when no passage was quoted."""
    passage = index.passage(position.passage_id) if position else None
    if passage is None:
        return None
    document = index.documents[passage.document]
    text = knowledge.message(
        "leaflet_source", name=leaflet_name(knowledge, document), heading=passage.heading, file=document.name
    )
    return Reply(topic=LEAFLET_TOPIC, texts=[text])
