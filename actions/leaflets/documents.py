"""Reads leaflets (PDF, HTML, Markdown, plain text) into headed blocks, repairing what real files break.

Real leaflets arrive as text pulled out of PDFs and web pages: lines wrapped at a fixed width,
words hyphenated or split at line ends, bullets turned into '\ufffd' or private-use glyphs,
page headers and numbers on every page, web navigation ("Lees meer: ..."), phone lists. The
readers below turn each file into a `Document`: a title and a list of `Block`s, each a heading,
a paragraph or a list item, in reading order.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

HEADING, PARAGRAPH, ITEM = "heading", "paragraph", "item"
SUPPORTED_SUFFIXES = (".pdf", ".html", ".htm", ".md", ".markdown", ".txt", ".text")
MAX_FILE_BYTES = 20_000_000


class UnreadableLeaflet(Exception):
    """A leaflet file that cannot be read; the message says why, in a way the practice's IT person can act on."""


@dataclass(frozen=True)
class Block:
    """One heading, paragraph or list item of a leaflet."""

    kind: str
    text: str


@dataclass
class Document:
    """A leaflet: where it came from, how to cite it, and its blocks in reading order."""

    name: str
    format: str
    title: str = ""
    kind: str = ""
    publisher: str = ""
    blocks: List[Block] = field(default_factory=list)


# --- characters ------------------------------------------------------------------------------

_REPLACEMENTS = {
    "\r\n": "\n", "\r": "\n", "\t": " ", "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ",
    "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\ufffd": "",
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "`": "'", "\u2018": "'", "\u2019": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
}  # fmt: skip
_REPLACE_RE = re.compile("|".join(re.escape(key) for key in sorted(_REPLACEMENTS, key=len, reverse=True)))
# Glyphs of symbol fonts (PDF bullets) land in Unicode's private use area.
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MOJIBAKE = re.compile("Ã[\x80-\xbf]|â€")


def repair_characters(text: str) -> str:
    """Fixes broken characters: mojibake, ligatures, soft hyphens, odd spaces, PDF bullet glyphs.

    '\ufffd' (what an extractor writes for a glyph it could not map) is dropped; a private-use
    glyph at the start of a line becomes a bullet.
    """
    if _MOJIBAKE.search(text):
        try:
            text = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    text = _REPLACE_RE.sub(lambda match: _REPLACEMENTS[match.group()], text)
    text = re.sub(r"(?m)^([ ]*)[\ue000-\uf8ff]+", r"\1• ", text)
    text = _PRIVATE_USE.sub("", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def decode_bytes(data: bytes) -> str:
    """Decodes a text file: UTF-8 (with or without BOM), else Windows-1252; refuses binary data."""
    if b"\x00" in data[:4096]:
        raise UnreadableLeaflet("binary data, not text (is the file name's extension right?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# --- plain text ------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[•●▪■◦○·∙‣⁃*\-–—]|o(?=\s))\s*")
_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]?\s+(?=[A-ZÀ-Ý])")
_PAGE_NUMBER = re.compile(r"^\s*(?:pagina|page|blz\.?)?\s*\d{1,3}(?:\s*(?:van|of|/)\s*\d{1,3})?\s*$", re.IGNORECASE)
_PHONE = re.compile(r"(?:\+31|\b0)\d{1,3}[\s\-]?\d{5,8}\b|\b0\d{2,3}[\s\-]\d{2,3}[\s\-]?\d{2,4}\b")
_END_OF_SENTENCE = (".", "!", "?", ":", ";")
_WORD_CHARS = "A-Za-zÀ-ÖØ-öø-ÿ"
_LINE_END_HYPHEN = re.compile(rf"([{_WORD_CHARS}]+)-[ ]*\n[ ]*(?:\n[ ]*)?([{_WORD_CHARS}]+)")
_LINE_END_SPLIT = re.compile(r"\b([a-zà-ÿ]{2,})[ ]+\n[ ]*([a-zà-ÿ]{2,})\b")
_WORDS = re.compile(rf"[{_WORD_CHARS}]+")


def _is_bullet(line: str) -> bool:
    return bool(_BULLET.match(line) or _NUMBERED.match(line))


def _strip_bullet(line: str) -> str:
    return _NUMBERED.sub("", _BULLET.sub("", line, count=1), count=1).strip()


def _is_caps(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 3 and all(ch.isupper() for ch in letters)


def dehyphenate(text: str) -> str:
    r"""Joins words broken at line ends: 'be-\\nhandeling' -> 'behandeling', 'onder \\nzoek' -> 'onderzoek'.

    A hyphen stays where Dutch writes one ('a-\\nspecifiek' -> 'a-specifiek') or where the
    document spells the word with a hyphen elsewhere. A space-broken word is joined only when
    the joined word occurs elsewhere in the document.
    """
    vocabulary = Counter(word.lower() for word in _WORDS.findall(text))
    hyphenated = set(re.findall(rf"[{_WORD_CHARS}]+-[{_WORD_CHARS}]+", text.lower()))

    def join_hyphen(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        if right[0].isupper() and not left.isupper():
            return f"{left}-\n{right}"  # a dash before a new line or name, not a broken word
        keep = len(left) <= 1 or f"{left}-{right}".lower() in hyphenated
        return f"{left}-{right}" if keep else f"{left}{right}"

    def join_split(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        if vocabulary[(left + right).lower()] and not vocabulary[right.lower()] > 1:
            return f"{left}{right}"
        return match.group()

    return _LINE_END_SPLIT.sub(join_split, _LINE_END_HYPHEN.sub(join_hyphen, text))


def _drop_page_furniture(pages: List[List[str]]) -> List[List[str]]:
    """Removes page numbers and the header and footer lines that repeat on most pages."""
    furniture: set = set()
    if len(pages) >= 2:
        counts: Counter = Counter()
        for lines in pages:
            content = [line.strip() for line in lines if line.strip()]
            edge = set(content[:2] + content[-2:])
            counts.update(re.sub(r"\d+", "#", line) for line in edge if len(line) <= 80)
        furniture = {line for line, n in counts.items() if n >= max(2, (len(pages) + 1) // 2)}
    return [
        [line for line in lines if not _PAGE_NUMBER.match(line) and re.sub(r"\d+", "#", line.strip()) not in furniture]
        for lines in pages
    ]


def _wrap_width(lines: Sequence[str]) -> int:
    """The width text was wrapped at (90th percentile of line lengths); 0 when it has one paragraph per line."""
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    if not lengths or sum(length > 120 for length in lengths) > 0.05 * len(lengths):
        return 0
    return lengths[int(len(lengths) * 0.9)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_phone_list(lines: Sequence[str]) -> bool:
    return len(lines) >= 4 and sum(bool(_PHONE.search(line)) for line in lines) * 3 >= len(lines)


def _phone_units(lines: List[str]) -> Tuple[List[str], Optional[str]]:
    """Pairs 'name' + 'Tel: number' lines; a last line without digits is the next heading."""
    trailing = None
    if lines and not re.search(r"\d", lines[-1]) and len(lines[-1]) <= 60:
        trailing = lines.pop().strip()
    units: List[str] = []
    for line in lines:
        if units and _PHONE.search(line) and not _PHONE.search(units[-1]) and len(line) <= 40:
            units[-1] = f"{units[-1]} – {line.strip()}"
        else:
            units.append(line)
    return units, trailing


@dataclass
class _Unit:
    text: str
    bullet: bool
    alone: bool = False  # the only unit between blank lines


def _continues(text: str, bullet: bool, previous_line: str, line: str, wrapped_width: int) -> bool:
    """Whether `line` goes on with the paragraph or item `text` whose last line was `previous_line`."""
    stripped = line.strip()
    lower = stripped[:1].islower()
    if not wrapped_width:  # one paragraph per line (web text): only a lower-case start continues
        return lower and not text.endswith(_END_OF_SENTENCE)
    if lower:
        return True
    if _is_caps(stripped) != _is_caps(text) or text.endswith(":") or abs(_indent(line) - _indent(previous_line)) >= 2:
        return False
    if bullet:
        return True  # the second line of a list item ('• Jordi Koning' / 'Fysiotherapie en Dry Needling')
    full = len(previous_line.rstrip()) / wrapped_width
    # A line that ends a sentence and is not full ends its paragraph; a short line without a
    # full stop is a heading or a list line.
    return full >= 0.8 if text.endswith(_END_OF_SENTENCE) else full >= 0.5


def _units(lines: List[str], drop: Callable[[str], bool]) -> List[_Unit]:
    """Joins wrapped lines into paragraphs and list items."""
    wrapped_width = _wrap_width(lines)
    groups: List[List[str]] = [[]]
    for line in lines:
        if not line.strip():
            if groups[-1]:
                groups.append([])
        elif not drop(line.strip()):
            groups[-1].append(line.rstrip())
    units: List[_Unit] = []
    for group in (g for g in groups if g):
        if _is_phone_list(group):
            phone_units, trailing = _phone_units(list(group))
            units.extend(_Unit(text.strip(), bullet=True) for text in phone_units)
            if trailing:
                units.append(_Unit(trailing, bullet=False, alone=True))
            continue
        start = len(units)
        previous_line = ""
        for line in group:
            stripped = line.strip()
            bullet = _is_bullet(line)
            if (
                len(units) > start
                and not bullet
                and _continues(units[-1].text, units[-1].bullet, previous_line, line, wrapped_width)
            ):
                units[-1].text = f"{units[-1].text} {stripped}"
            elif (
                len(units) == start
                and units
                and stripped[:1].islower()
                and not bullet
                and not units[-1].text.endswith(_END_OF_SENTENCE)
            ):
                # A paragraph or item that a blank line cut in two ('... werkzaamheden\n\nuitvoeren ...').
                units[-1].text = f"{units[-1].text} {stripped}"
                start -= 1
            else:
                units.append(_Unit(_strip_bullet(line) if bullet else stripped, bullet=bullet))
            previous_line = line
        if len(units) - start == 1:
            units[-1].alone = True
    for unit in units:
        unit.text = re.sub(r"\s{2,}", " ", unit.text).strip()
    return [unit for unit in units if unit.text]


def _sentence_like(unit: Optional[_Unit]) -> bool:
    return unit is not None and (unit.text.endswith((".", "!", ":")) or len(unit.text) > 90)


def _is_heading(unit: _Unit, following: Optional[_Unit], wrapped: bool) -> bool:
    text = unit.text
    if unit.bullet or len(text) > 90 or len(text.split()) > 12 or text.endswith((".", ",", ";", ":")):
        return False
    if not text[:1].isupper() and not text[:1].isdigit():
        return False
    if _is_caps(text) or text.endswith("?"):
        return True
    if wrapped:
        short = len(text.split()) <= 8
        return unit.alone or (short and following is not None and (following.bullet or _sentence_like(following)))
    return _sentence_like(following) or (following is not None and following.bullet and unit.alone)


def text_blocks(text: str, drop: Callable[[str], bool] = lambda line: False) -> List[Block]:
    r"""Reads plain text (also text extracted from a PDF, pages separated by form feeds) into blocks.

    Args:
        text: the text; '\\f' separates pages.
        drop: says which lines are noise to leave out (web navigation and the like).
    """
    text = dehyphenate(repair_characters(text))
    pages = _drop_page_furniture([page.split("\n") for page in text.split("\f")])
    lines: List[str] = []
    for page in pages:
        lines.extend(page + [""])
    wrapped_width = _wrap_width(lines)
    units = _units(lines, drop)
    blocks: List[Block] = []
    for index, unit in enumerate(units):
        following = units[index + 1] if index + 1 < len(units) else None
        if _is_heading(unit, following, wrapped_width > 0):
            heading = unit.text.rstrip()
            if _is_caps(heading):
                heading = heading.capitalize()
                if blocks and blocks[-1].kind == HEADING and _is_caps(units[index - 1].text):
                    heading = f"{blocks.pop().text} {heading.lower()}"
            blocks.append(Block(HEADING, heading))
        elif unit.bullet or _list_line(unit, blocks):
            blocks.append(Block(ITEM, unit.text))
        else:
            blocks.append(Block(PARAGRAPH, unit.text))
    return blocks


def _list_line(unit: _Unit, blocks: Sequence[Block]) -> bool:
    """A short line without a full stop after a line ending in ':' or after such a line: a list item."""
    if not blocks or len(unit.text.split()) > 12 or unit.text.endswith((".", "!", "?")):
        return False
    previous = blocks[-1]
    return previous.kind == ITEM or (previous.kind == PARAGRAPH and previous.text.endswith(":"))


# --- Markdown --------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_INLINE = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<[^>]+>"), ""),
    (re.compile(r"(\*\*|__|`)"), ""),
    (re.compile(r"(?<![\w*])[*_](\S(?:.*?\S)?)[*_](?![\w*])"), r"\1"),
    (re.compile(r"^\s*>\s?"), ""),
]


def _md_inline(text: str) -> str:
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text.replace("|", " ").strip()


def split_front_matter(text: str) -> Tuple[Dict[str, str], str]:
    """Splits YAML front matter ('---' ... '---' at the very top) from the body."""
    match = re.match(r"^---[ ]*\n(.*?)\n---[ ]*\n", text, re.DOTALL)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise UnreadableLeaflet(f"the front matter between the '---' lines is not valid YAML ({error})") from error
    if not isinstance(meta, dict):
        raise UnreadableLeaflet("the front matter between the '---' lines must be 'key: value' lines")
    return {str(k): str(v) for k, v in meta.items() if v is not None}, text[match.end() :]


def markdown_blocks(text: str) -> List[Block]:
    """Reads Markdown: ATX and setext headings, paragraphs, '-', '*', '+' and numbered lists."""
    text = repair_characters(text)
    text = re.sub(r"(?s)```.*?```", "", text)
    blocks: List[Block] = []
    current: Optional[List[str]] = None
    kind = PARAGRAPH

    def flush() -> None:
        nonlocal current
        if current:
            joined = _md_inline(" ".join(current))
            if joined:
                blocks.append(Block(kind, re.sub(r"\s{2,}", " ", joined)))
        current = None

    for line in text.split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            flush()
            blocks.append(Block(HEADING, _md_inline(heading.group(2))))
        elif _MD_SETEXT.match(line) and current and kind == PARAGRAPH and len(current) == 1:
            title = _md_inline(current[0])
            current = None
            blocks.append(Block(HEADING, title))
        elif not line.strip() or re.match(r"^\s*(\*\s*){3,}$|^\s*(-\s*){3,}$", line):
            flush()
        elif _MD_BULLET.match(line):
            flush()
            kind, current = ITEM, [_MD_BULLET.sub("", line, count=1)]
        elif current is not None:
            current.append(line.strip())
        else:
            kind, current = PARAGRAPH, [line.strip()]
    flush()
    return [block for block in blocks if block.text]


# --- HTML ------------------------------------------------------------------------------------

_SKIPPED_TAGS = {"script", "style", "nav", "footer", "aside", "form", "noscript", "template", "svg", "button", "select"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = _HEADING_TAGS | {
    "p", "li", "dd", "dt", "td", "th", "blockquote", "figcaption", "pre", "div", "section", "article",
    "main", "header", "ul", "ol", "dl", "table", "tr", "br", "hr", "body", "caption",
}  # fmt: skip
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "wbr", "source", "area", "col", "embed"}


class _HtmlReader(HTMLParser):
    """Collects headings, paragraphs and list items of an HTML page, and its title and meta tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: List[Block] = []
        self.meta: Dict[str, str] = {}
        self.title = ""
        self._stack: List[str] = []
        self._skip_depth = 0
        self._buffer: List[str] = []
        self._in_title = False

    def _kind(self) -> str:
        for tag in reversed(self._stack):
            if tag in _HEADING_TAGS:
                return HEADING
            if tag in ("li", "dd", "dt"):
                return ITEM
        return PARAGRAPH

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._buffer)).strip()
        self._buffer = []
        if text:
            self.blocks.append(Block(self._kind(), text))

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "meta":
            name = (values.get("name") or values.get("property") or "").lower()
            if name and values.get("content"):
                self.meta[name] = values["content"].strip()
            return
        if self._skip_depth or tag in _SKIPPED_TAGS:
            if tag not in _VOID_TAGS:
                self._skip_depth += 1
            return
        if tag == "title":
            self._in_title = True
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag not in _VOID_TAGS:
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag in _SKIPPED_TAGS or tag not in _VOID_TAGS:
                self._skip_depth -= 1
            return
        if tag == "title":
            self._in_title = False
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip_depth:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(text: str) -> Tuple[List[Block], Dict[str, str]]:
    """Reads an HTML page: its headings, paragraphs and list items; menus, scripts and footers are skipped.

    Returns:
        The blocks and the page's metadata ('title', and meta tags such as 'publisher', 'kind').
    """
    reader = _HtmlReader()
    try:
        reader.feed(repair_characters(text))
        reader.close()
    except Exception as error:  # noqa: BLE001 - html.parser raises assorted errors on broken markup
        raise UnreadableLeaflet(f"broken HTML ({error})") from error
    meta = dict(reader.meta)
    if reader.title.strip():
        meta.setdefault("title", re.sub(r"\s+", " ", reader.title).strip())
    return reader.blocks, meta


# --- PDF -------------------------------------------------------------------------------------


def pdf_text(path: Path) -> Tuple[str, Dict[str, str]]:
    """Extracts the text of a PDF, pages separated by form feeds, and its title from the metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableLeaflet("the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title).strip() if info is not None and info.title else ""
    except UnreadableLeaflet:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as error:
        raise UnreadableLeaflet(f"not a readable PDF ({type(error).__name__}: {error})") from error
    meta = {"title": title} if title and not re.search(r"\.(docx?|pptx?|indd)$|^microsoft", title, re.I) else {}
    return "\f".join(pages), meta


# --- files -----------------------------------------------------------------------------------


def _pretty_name(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip().capitalize()


def read_document(path: Path, name: str, drop: Callable[[str], bool] = lambda line: False) -> Document:
    """Reads one leaflet file.

    Args:
        path: the file.
        name: how the file is named in the index and in reports (its path relative to the folder).
        drop: says which lines of plain text are noise to leave out.

    Raises:
        UnreadableLeaflet: the file's type is not supported, or it is empty, binary, broken or too large.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableLeaflet(f"unsupported file type '{suffix or '(none)'}'; use {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableLeaflet(f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
        if suffix == ".pdf":
            text, meta = pdf_text(path)
            document = Document(name, "pdf", blocks=text_blocks(text, drop))
        else:
            raw = decode_bytes(path.read_bytes())
            if suffix in (".html", ".htm"):
                blocks, meta = html_blocks(raw)
                document = Document(name, "html", blocks=blocks)
            elif suffix in (".md", ".markdown"):
                meta, body = split_front_matter(raw.lstrip("\ufeff"))
                document = Document(name, "markdown", blocks=markdown_blocks(body))
            else:
                meta, body = split_front_matter(raw.lstrip("\ufeff"))
                document = Document(name, "text", blocks=text_blocks(body, drop))
    except OSError as error:
        raise UnreadableLeaflet(f"cannot be read ({error.strerror or error})") from error
    if sum(len(block.text.split()) for block in document.blocks) < 5:
        raise UnreadableLeaflet("no text found (empty, or a scanned image without text)")
    first_heading = next((b.text for b in document.blocks[:3] if b.kind == HEADING), "")
    document.title = meta.get("title") or first_heading or _pretty_name(path)
    document.kind = meta.get("kind", "")
    document.publisher = meta.get("publisher") or meta.get("author") or meta.get("og:site_name", "")
    return document


def leaflet_files(folder: Path) -> Iterable[Path]:
    """The files of a leaflet folder and its subfolders, in a stable order; hidden and temporary files are left out."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith((".", "~", "_")) for part in relative.parts):
            continue
        if path.is_file():
            yield path
