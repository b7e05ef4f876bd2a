"""The leaflet index: builds it from folders, saves and loads it, and finds the passages that answer a question.

Ranking is BM25 over the analysed terms (lemmas, synonyms, compound parts; heading terms
count `heading_weight` times). Whether the best passage really answers the question is a
separate number, `confidence`: the share of the question's words (weighted by how rare they
are in the leaflets) that the passage contains. A word the leaflets never use counts as
missing with the highest weight, so "wat kost een parkeerplaats?" scores low even when
"wat" and "kost" occur. `min_confidence` in leaflets.yml is calibrated on a separate
question set (`make evaluate`).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from actions.leaflets.analysis import Analyzer
from actions.leaflets.documents import Document, UnreadableLeaflet, leaflet_files, read_document
from actions.leaflets.passages import Passage, split_passages
from actions.leaflets.settings import LeafletSettings

INDEX_FORMAT = 1
RERANK_POOL = 20
HINT_POOL = 50
# A word is "rare" in the leaflets when its idf is at least this share of an unknown word's
# (it occurs in a few passages only).
RARE_SHARE = 0.6
_CODE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DocumentInfo:
    """How a leaflet is named and cited."""

    name: str
    path: str
    format: str
    title: str
    kind: str
    publisher: str


@dataclass(frozen=True)
class Hit:
    """A passage found for a question, its BM25 score and how fully it covers the question (0..1)."""

    passage: Passage
    document: DocumentInfo
    score: float
    confidence: float
    matched: Tuple[str, ...]
    missing: Tuple[str, ...]


@dataclass
class IngestReport:
    """What an ingest read and what it skipped, and why."""

    documents: List[Tuple[str, int]] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    missing_folders: List[str] = field(default_factory=list)

    @property
    def passages(self) -> int:
        """Passages indexed in all."""
        return sum(count for _, count in self.documents)


def fingerprint(folders: Sequence[Path], settings: LeafletSettings, backend: str) -> str:
    """A hash of everything the index depends on: the files, the settings, the language backend and this code."""
    digest = hashlib.sha256(f"{INDEX_FORMAT}|{backend}|{settings.source_text}".encode())
    for source in sorted(settings.catalogue.values(), key=lambda s: s.file):
        digest.update(repr(source).encode())
    for code in sorted(_CODE_DIR.glob("*.py")):
        digest.update(code.read_bytes())
    for folder in folders:
        digest.update(f"|folder:{folder}".encode())
        if folder.is_dir():
            for path in leaflet_files(folder):
                digest.update(f"|{path.relative_to(folder)}:".encode())
                try:
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
                except OSError:
                    digest.update(b"unreadable")
    return digest.hexdigest()


def _cite(document: Document, path: Path, settings: LeafletSettings) -> DocumentInfo:
    known = settings.catalogue.get(path.name)
    default_kind = "de webpagina" if document.format == "html" else "de folder"
    return DocumentInfo(
        name=document.name,
        path=str(path),
        format=document.format,
        title=known.title if known else document.title,
        kind=(known.kind if known else "") or document.kind or default_kind,
        publisher=(known.publisher if known else "") or document.publisher,
    )


class LeafletIndex:
    """Passages with their terms, and BM25 statistics to search them."""

    def __init__(
        self,
        analyzer: Analyzer,
        documents: Dict[str, DocumentInfo],
        passages: List[Passage],
        passage_terms: List[Dict[str, int]],
        settings: LeafletSettings,
        fingerprint_value: str,
        report: Optional[IngestReport] = None,
    ) -> None:
        """Builds the postings and statistics; the analyzer learns the leaflets' vocabulary."""
        self.analyzer = analyzer
        self.documents = documents
        self.passages = passages
        self.passage_terms = passage_terms
        self.settings = settings
        self.fingerprint = fingerprint_value
        self.report = report or IngestReport()
        self.k1, self.b = settings.k1, settings.b
        self._lengths = [sum(terms.values()) for terms in passage_terms]
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        postings: Dict[str, List[Tuple[int, int]]] = defaultdict(list)
        for number, terms in enumerate(passage_terms):
            for term, count in terms.items():
                postings[term].append((number, count))
        self._postings = dict(postings)
        total = len(passages)
        self.idf = {term: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for term, p in postings.items()}
        self.unknown_idf = math.log(1 + (total + 0.5) / 0.5)
        self._position = {passage.id: number for number, passage in enumerate(passages)}
        self._hints: Dict[str, FrozenSet[str]] = {}
        self._by_document: Dict[str, List[Passage]] = defaultdict(list)
        for passage in passages:
            self._by_document[passage.document].append(passage)

    # --- building ------------------------------------------------------------------------

    @classmethod
    def build(cls, folders: Sequence[Path], settings: LeafletSettings, analyzer: Analyzer) -> LeafletIndex:
        """Reads every leaflet in `folders`; unreadable files are reported in `report.skipped` and left out."""
        report = IngestReport()
        documents: Dict[str, DocumentInfo] = {}
        passages: List[Passage] = []
        for folder in folders:
            if not folder.is_dir():
                report.missing_folders.append(str(folder))
                continue
            for path in leaflet_files(folder):
                name = str(path.relative_to(folder))
                if name in documents:
                    name = f"{folder.name}/{name}"
                try:
                    document = read_document(path, name, settings.drop)
                except UnreadableLeaflet as error:
                    report.skipped.append((str(path), str(error)))
                    continue
                known = settings.catalogue.get(path.name)
                if known:
                    document.title = known.title
                found = split_passages(document, settings.passage_words)
                if not found:
                    report.skipped.append((str(path), "no passages of three words or more"))
                    continue
                documents[name] = _cite(document, path, settings)
                passages.extend(found)
                report.documents.append((name, len(found)))
        words = [
            (analyzer.words(passage.heading), analyzer.words(passage.text.replace("• ", ""))) for passage in passages
        ]
        analyzer = analyzer.with_vocabulary(w for heading, body in words for w in heading + body)
        passage_terms = [
            dict(Counter(cls._expand(analyzer, body) + cls._expand(analyzer, heading) * settings.heading_weight))
            for heading, body in words
        ]
        return cls(
            analyzer,
            documents,
            passages,
            passage_terms,
            settings,
            fingerprint(folders, settings, analyzer.backend),
            report,
        )

    @staticmethod
    def _expand(analyzer: Analyzer, words: Iterable[str]) -> List[str]:
        return [key for concept in analyzer.concepts_of(words) for key in concept.terms + concept.parts]

    # --- searching -----------------------------------------------------------------------

    def search(self, question: str, limit: int = 3, hints: Sequence[str] = ()) -> List[Hit]:
        """The best passages for `question`, best first, each with its BM25 score and confidence.

        Args:
            question: the patient's question.
            limit: how many passages.
            hints: texts about what the question is probably about (the answers of the topics NLU
                ranked highest); their words help ranking with `hint_weight`, never the confidence.
        """
        concepts = self.analyzer.concepts(question)
        query_terms = Counter(term for concept in concepts for term in set(concept.terms + concept.parts))
        scores: Dict[int, float] = defaultdict(float)
        for term, weight in query_terms.items():
            for number, count in self._postings.get(term, ()):
                scores[number] += weight * self._weight(term, number, count)
        if hints and scores:
            # Hints only reorder passages that share a word with the question (any other passage
            # has confidence 0 and is never quoted), and only the best of them: cheap.
            hint_keys = frozenset().union(*(self._hint_keys(hint) for hint in hints))
            candidates = sorted(scores.items(), key=lambda item: -item[1])[:HINT_POOL]
            for number, _ in candidates:
                terms = self.passage_terms[number]
                extra = sum(self._weight(t, number, terms[t]) for t in hint_keys.intersection(terms))
                scores[number] += self.settings.hint_weight * extra
        # Rerank the best by BM25 times coverage^coverage_weight: a passage with all the question's
        # words beats one that repeats a single word often (Lucene's classic "coord" factor).
        pool = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[: max(limit, RERANK_POOL)]
        hits = [self._hit(number, score, concepts) for number, score in pool]
        power = self.settings.coverage_weight
        hits.sort(key=lambda hit: (-(hit.score * hit.confidence**power), self._position[hit.passage.id]))
        return hits[:limit]

    def _weight(self, term: str, number: int, count: int) -> float:
        """BM25 weight of a term that occurs `count` times in passage `number`."""
        norm = self.k1 * (1 - self.b + self.b * self._lengths[number] / self._average)
        return self.idf[term] * count * (self.k1 + 1) / (count + norm)

    def _hint_keys(self, hint: str) -> FrozenSet[str]:
        """The search keys of a hint (the answer texts are few and fixed: analysed once)."""
        keys = self._hints.get(hint)
        if keys is None:
            keys = self._hints[hint] = self.analyzer.keys_of(hint)
        return keys

    def _hit(self, number: int, score: float, concepts) -> Hit:
        terms = self.passage_terms[number]
        total = matched_weight = 0.0
        matched: List[str] = []
        missing: List[str] = []
        seen = set()
        for concept in concepts:
            if concept.word in seen:
                continue
            seen.add(concept.word)
            # The word itself, its stem or synonym count in full; the parts of a compound the
            # leaflets never use only as much as the part is worth ('hoofdpijn' is not 'pijn').
            known = [self.idf[t] for t in concept.terms if t in self.idf]
            weight = max(known) if known else self.unknown_idf * self.settings.unknown_word_weight
            found = [self.idf[t] for t in concept.terms if t in terms]
            if not found:
                found = [min(self.idf[t], weight) * 0.5 for t in concept.parts if t in terms]
            total += weight
            if found:
                matched_weight += min(weight, max(found))
                matched.append(concept.word)
            else:
                missing.append(concept.word)
        passage = self.passages[number]
        # A question with little to go on (one common word) cannot be answered with confidence:
        # the evidence must reach `min_evidence` (a share of the weight of the rarest word).
        floor = self.settings.min_evidence * self.unknown_idf
        confidence = matched_weight / max(total, floor) if total else 0.0
        return Hit(passage, self.documents[passage.document], score, confidence, tuple(matched), tuple(missing))

    def best(self, question: str) -> Optional[Hit]:
        """The best passage if it is confident enough (`min_confidence`), else None."""
        hits = self.search(question, limit=1)
        if hits and hits[0].confidence >= self.settings.min_confidence:
            return hits[0]
        return None

    def specific_hit(self, question: str, answer_text: str) -> Optional[Hit]:
        """A passage about something specific the question names and a topic answer does not cover.

        "wat is de ziekte van Scheuermann?" may be recognised as "what is low back pain"; the
        word 'Scheuermann' is rare in the leaflets and absent from that answer, so the passage
        that explains it is the better reply. Returns that passage when it is confident and
        contains every such rare word, else None.
        """
        answer_keys = self._hint_keys(answer_text)
        rare = [
            concept.word
            for concept in self.analyzer.concepts(question)
            if not answer_keys.intersection(concept.terms)
            and self.analyzer.synonym(concept.word) is None  # synonym groups are everyday words, not specifics
            and any(self.idf.get(term, 0.0) >= RARE_SHARE * self.unknown_idf for term in concept.terms)
        ]
        if not rare:
            return None
        hits = self.search(question, limit=1, hints=[answer_text])
        if hits and hits[0].confidence >= self.settings.min_confidence and set(rare) <= set(hits[0].matched):
            return hits[0]
        return None

    def passage(self, passage_id: str) -> Optional[Passage]:
        """The passage with this id, if it is (still) in the index."""
        number = self._position.get(passage_id)
        return None if number is None else self.passages[number]

    def next_passage(self, passage: Passage) -> Optional[Passage]:
        """The passage that follows `passage` in its leaflet."""
        siblings = self._by_document.get(passage.document, [])
        index = siblings.index(passage) if passage in siblings else -1
        return siblings[index + 1] if 0 <= index < len(siblings) - 1 else None

    # --- saving and loading --------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Writes the index as JSON (atomically)."""
        data = {
            "format": INDEX_FORMAT,
            "fingerprint": self.fingerprint,
            "backend": self.analyzer.backend,
            "built": time.strftime("%Y-%m-%d %H:%M:%S"),
            "documents": [asdict(document) for document in self.documents.values()],
            "passages": [
                {**asdict(passage), "terms": terms}
                for passage, terms in zip(self.passages, self.passage_terms, strict=True)
            ],
            "vocabulary": sorted(self.analyzer.vocabulary),
            "report": asdict(self.report),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path, settings: LeafletSettings, analyzer: Analyzer, expected: str) -> Optional[LeafletIndex]:
        """Loads a saved index; None when it is missing, unreadable or built from other files or settings."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or data.get("fingerprint") != expected:
            return None
        analyzer = analyzer.with_vocabulary(data["vocabulary"])
        documents = {item["name"]: DocumentInfo(**item) for item in data["documents"]}
        passages, terms = [], []
        for item in data["passages"]:
            terms.append(item.pop("terms"))
            item["lines"] = tuple(item["lines"])
            passages.append(Passage(**item))
        report = data.get("report") or {}
        restored = IngestReport(
            [tuple(d) for d in report.get("documents", [])],
            [tuple(s) for s in report.get("skipped", [])],
            list(report.get("missing_folders", [])),
        )
        return cls(analyzer, documents, passages, terms, settings, expected, restored)
