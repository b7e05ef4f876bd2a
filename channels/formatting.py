"""How a reply reads on each channel: Markdown, links, buttons as numbered choices, length limits.

The answers are written once (data/knowledge/) in plain text with light Markdown (`**bold**`,
`[text](url)`, lines starting with "- "). The website widget renders Markdown itself; Telegram
gets HTML, WhatsApp its own `*bold*`, and channels without buttons a numbered list that the
patient answers with the number (see channels/choices.py). No Rasa types here.
"""

from __future__ import annotations

import html
import re
from typing import Any, Dict, List, Sequence

BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|tel:|mailto:)[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def _link_as_text(match: re.Match) -> str:
    label, url = match.group(1), match.group(2)
    target = url.split(":", 1)[1] if url.startswith(("tel:", "mailto:")) else url
    same = re.sub(r"\W", "", label) == re.sub(r"\W", "", target)  # "0413-263002" and tel:0413263002
    return label if same else f"{label}: {target}"


def to_plain(text: str) -> str:
    """Markdown removed: bold as is, links as "label: address", no heading marks (SMS, Twilio)."""
    text = HEADING.sub("", text)
    text = LINK.sub(_link_as_text, text)
    return BOLD.sub(r"\1", text)


def to_whatsapp(text: str) -> str:
    """WhatsApp's own mark-up: `*bold*`; links as "label: address" (WhatsApp makes them clickable)."""
    text = HEADING.sub("", text)
    text = LINK.sub(_link_as_text, text)
    return BOLD.sub(r"*\1*", text)


def to_telegram_html(text: str) -> str:
    """Telegram's HTML parse mode: the text escaped, `**bold**` as <b>, links as <a href>."""
    parts: List[str] = []
    position = 0
    for match in LINK.finditer(text):
        parts.append(_bold_html(text[position : match.start()]))
        label, url = match.group(1), match.group(2)
        parts.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>')
        position = match.end()
    parts.append(_bold_html(text[position:]))
    return HEADING.sub("", "".join(parts))


def _bold_html(text: str) -> str:
    escaped = html.escape(text, quote=False)
    return BOLD.sub(r"<b>\1</b>", escaped)


def numbered_choices(text: str, buttons: Sequence[Dict[str, Any]], prompt: str, line: str) -> str:
    """The text with the buttons' titles below it as a numbered list (1, 2, 3 ...).

    `prompt` and `line` come from messages.yml (`choose_by_number`, `choice_line`).
    """
    if not buttons:
        return text
    lines = [line.format(number=number, title=button.get("title", "")) for number, button in enumerate(buttons, 1)]
    choices = "\n".join([prompt, *lines]) if prompt else "\n".join(lines)
    return f"{text.strip()}\n\n{choices}" if text.strip() else choices


def split_text(text: str, limit: int) -> List[str]:
    """Splits a text into parts of at most `limit` characters.

    It cuts at a paragraph, line, sentence or word boundary where there is one; a part is never
    empty and nothing is lost but the spaces between parts.
    """
    if limit < 20:
        raise ValueError("limit must be at least 20 characters")
    text = text.strip()
    parts: List[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", ". ", "? ", "! ", " "):
            found = window.rfind(separator, 0, limit)
            if found > limit // 3:
                cut = found + (1 if separator in (". ", "? ", "! ") else 0)
                break
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts
