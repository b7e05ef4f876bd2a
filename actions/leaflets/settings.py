"""Loads and checks leaflets.yml: which folders to read, how to split and search, synonyms, the score threshold."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from actions.datafile import LINE_KEY, Entry, read_yaml
from actions.knowledge import Source


@dataclass(frozen=True)
class LeafletSettings:
    """The validated contents of leaflets.yml."""

    folders: Tuple[str, ...]
    min_confidence: float
    passage_words: int
    preview_words: int
    k1: float
    b: float
    heading_weight: int
    unknown_word_weight: float
    coverage_weight: float
    min_evidence: float
    hint_weight: float
    stop_words: Tuple[str, ...]
    drop_lines: Tuple[re.Pattern, ...]
    synonyms: Dict[str, List[str]]
    catalogue: Dict[str, Source] = field(default_factory=dict)
    source_text: str = ""

    def drop(self, line: str) -> bool:
        """Whether a line of plain text is noise to leave out (web navigation and the like)."""
        return any(pattern.search(line) for pattern in self.drop_lines)


def _number(entry: Entry, key: str, low: float, high: float, integer: bool = False) -> float:
    value = entry.data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise entry.error(f"'{key}' must be {'a whole number' if integer else 'a number'} (found {value!r})")
    if not low <= value <= high:
        raise entry.error(f"'{key}' must lie between {low} and {high} (found {value})")
    return value


def load_leaflet_settings(path: Path, sources: Dict[str, Source]) -> LeafletSettings:
    """Loads leaflets.yml; `sources` (from sources.yml) names and cites leaflets by file name.

    Raises:
        DataFileError: naming the file, line and setting that is wrong.
    """
    root = Entry(path, read_yaml(path), "file")
    root.version()
    search = Entry(path, root.data.get("search"), "search", root.line)
    patterns = []
    for text in root.text_list("drop_lines", required=False):
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as error:
            raise root.error(f"drop_lines: '{text}' is not a valid regular expression ({error})") from error
    synonyms_entry = Entry(path, root.data.get("synonyms"), "synonyms", root.line)
    synonyms: Dict[str, List[str]] = {}
    for canonical in (key for key in synonyms_entry.data if key != LINE_KEY):
        synonyms[str(canonical)] = synonyms_entry.text_list(canonical)
    return LeafletSettings(
        folders=tuple(root.text_list("folders")),
        min_confidence=_number(search, "min_confidence", 0.0, 1.0),
        passage_words=int(_number(search, "passage_words", 30, 400, integer=True)),
        preview_words=int(_number(search, "preview_words", 20, 400, integer=True)),
        k1=_number(search, "k1", 0.0, 5.0),
        b=_number(search, "b", 0.0, 1.0),
        heading_weight=int(_number(search, "heading_weight", 0, 5, integer=True)),
        unknown_word_weight=_number(search, "unknown_word_weight", 0.0, 5.0),
        coverage_weight=_number(search, "coverage_weight", 0.0, 5.0),
        min_evidence=_number(search, "min_evidence", 0.0, 5.0),
        hint_weight=_number(search, "hint_weight", 0.0, 5.0),
        stop_words=tuple(root.text_list("stop_words", required=False)),
        drop_lines=tuple(patterns),
        synonyms=synonyms,
        catalogue={source.file: source for source in sources.values()},
        source_text=path.read_text(encoding="utf-8"),
    )
