"""Splits a leaflet into passages: short runs of text under one heading, small enough to quote in a chat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Sequence

from actions.leaflets.documents import HEADING, ITEM, Block, Document

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý0-9\"'(])")


@dataclass(frozen=True)
class Passage:
    """A quotable piece of a leaflet: its heading, its text (lines; list items start with '• ') and place."""

    id: str
    document: str
    heading: str
    lines: tuple
    position: int

    @property
    def text(self) -> str:
        """The passage as chat text."""
        return "\n".join(self.lines)

    @property
    def words(self) -> int:
        """Its length in words."""
        return sum(len(line.split()) for line in self.lines)


def _units(blocks: Sequence[Block]) -> List[List[str]]:
    """Groups a section's blocks into units that stay together: a paragraph, or a list with its intro line."""
    units: List[List[str]] = []
    for block in blocks:
        line = f"• {block.text}" if block.kind == ITEM else block.text
        starts_list = block.kind == ITEM and units and (units[-1][-1].startswith("• ") or units[-1][-1].endswith(":"))
        if starts_list:
            units[-1].append(line)
        else:
            units.append([line])
    return units


def _split_long(unit: List[str], max_words: int) -> List[List[str]]:
    """Splits a unit longer than `max_words` at list items or sentence ends."""
    pieces = unit if len(unit) > 1 else SENTENCE_END.split(unit[0])
    glue = len(unit) == 1
    parts: List[List[str]] = [[]]
    for piece in pieces:
        if parts[-1] and sum(len(p.split()) for p in parts[-1]) + len(piece.split()) > max_words:
            parts.append([])
        parts[-1].append(piece)
    return [[" ".join(part)] if glue else part for part in parts if part]


def split_passages(document: Document, max_words: int = 110) -> List[Passage]:
    """Splits a document at its headings, then packs each section's paragraphs into passages of at most `max_words`.

    A paragraph or list is kept whole unless it alone is longer than `max_words`.
    """
    sections: List[tuple] = []
    heading, blocks = document.title, []
    for block in document.blocks:
        if block.kind == HEADING:
            if blocks:
                sections.append((heading, blocks))
            heading, blocks = block.text, []
        else:
            blocks.append(block)
    if blocks:
        sections.append((heading, blocks))
    passages: List[Passage] = []
    for heading, section_blocks in sections:
        chunks: List[List[str]] = [[]]
        for unit in _units(section_blocks):
            for part in _split_long(unit, max_words) if sum(len(u.split()) for u in unit) > max_words else [unit]:
                size = sum(len(line.split()) for line in chunks[-1])
                if chunks[-1] and size + sum(len(line.split()) for line in part) > max_words:
                    chunks.append([])
                chunks[-1].extend(part)
        for chunk in chunks:
            if sum(len(line.split()) for line in chunk) < 3:
                continue
            position = len(passages)
            passages.append(Passage(f"{document.name}#{position}", document.name, heading, tuple(chunk), position))
    return passages
