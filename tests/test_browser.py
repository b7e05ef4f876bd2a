"""The website widget end to end in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Loads the demo page, asks a question and reads the Dutch answer, chooses an answer button with
the mouse and one with the keyboard, reloads and goes on with the same conversation, reports a
red flag and sees the escalation, and does it at a phone's width. Screenshots: results/browser/.
Without chromium the tests say why and skip, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Iterator, List
from urllib.parse import urlsplit

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.server

SCREENSHOTS = ROOT / "results" / "browser"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TIMEOUT_MS = 30_000
BOT_MESSAGES = ".rw-message:not(.rw-typing-indication) .rw-response"


def chromium_path() -> str:
    path = os.environ.get("BACKBOT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reason = "chromium is not installed (Debian/Ubuntu: apt-get install chromium; `make install` does it as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs the browser test: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Chat:
    """The demo page with the widget, and every request the page made."""

    def __init__(self, page, live) -> None:
        self.page = page
        self.live = live
        self.requests: List[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(TIMEOUT_MS)

    def open(self) -> Chat:
        self.page.goto(self.live.web_url)
        launcher = self.page.locator(".rw-launcher")
        launcher.wait_for()
        if self.page.locator(".rw-new-message").count() == 0:
            launcher.click()
        self.page.locator(".rw-new-message").wait_for()
        return self

    def responses(self) -> List[str]:
        return self.page.locator(BOT_MESSAGES).all_inner_texts()

    def ask(self, text: str) -> str:
        """Types a question, sends it with Enter and returns the assistant's answer (all its messages)."""
        before = len(self.responses())
        box = self.page.locator(".rw-new-message")
        box.fill(text)
        box.press("Enter")
        return self.answer_after(before)

    def answer_after(self, before: int) -> str:
        """The assistant's messages after the first `before` ones (waits until no more are coming)."""
        self.page.wait_for_function(
            f"n => document.querySelectorAll('{BOT_MESSAGES}').length > n", arg=before, timeout=TIMEOUT_MS
        )
        count = -1
        while count != len(self.responses()) or self.page.locator(".rw-typing-indication").count():
            count = len(self.responses())
            self.page.wait_for_timeout(1500)  # an answer can come in several messages
        return "\n".join(self.responses()[before:])

    def session_id(self) -> str:
        stored = self.page.evaluate("() => window.localStorage.getItem('chat_session')")
        return json.loads(stored)["session_id"]

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def third_party_requests(self) -> List[str]:
        own = {urlsplit(self.live.web_url).netloc, urlsplit(self.live.chat_url).netloc}
        return [url for url in self.requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                and urlsplit(url).netloc not in own]  # fmt: skip


def user_turns(live, session_id: str) -> List[str]:
    url = f"{live.rasa_url}/conversations/{session_id}/tracker?token={live.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [event.get("text") for event in events if event["event"] == "user"]


def test_a_patient_chats_on_the_website(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    chat = Chat(page, live).open()
    assert "rugklachten" in chat.answer_after(0).lower()  # the greeting (initPayload)
    chat.shot("01-greeting")

    answer = chat.ask("is bewegen schadelijk?")
    assert "bewegen" in answer.lower() and "geen diagnose" in answer.lower(), answer
    chat.shot("02-answer")

    # An answer with buttons: which location's number? Choose one with the mouse.
    answer = chat.ask("wat is het telefoonnummer van de praktijk?")
    buttons = page.locator(".rw-reply")
    assert buttons.count() >= 2, answer
    chosen = buttons.nth(1).inner_text()
    before = len(chat.responses())
    chat.shot("03-buttons")
    buttons.nth(1).click()
    answer = chat.answer_after(before)
    assert chosen in answer and any(char.isdigit() for char in answer), answer
    chat.shot("04-button-chosen")

    # A page reload keeps the conversation, and the chat goes on in the same one on the server.
    session = chat.session_id()
    page.reload()
    chat.open()
    page.wait_for_function(
        f"n => document.querySelectorAll('{BOT_MESSAGES}').length >= n", arg=before + 1, timeout=TIMEOUT_MS
    )
    assert chosen in "\n".join(chat.responses())
    answer = chat.ask("moet ik een foto laten maken?")
    assert "foto" in answer.lower() or "röntgen" in answer.lower(), answer
    assert chat.session_id() == session
    turns = user_turns(live, session)
    assert "is bewegen schadelijk?" in turns and "moet ik een foto laten maken?" in turns, turns
    chat.shot("05-after-reload")

    # A red flag is escalated at once.
    answer = chat.ask("ik kan sinds vanochtend niet meer plassen en mijn billen voelen doof")
    assert "112" in answer or "huisarts" in answer.lower(), answer
    assert "bel" in answer.lower(), answer
    chat.shot("06-red-flag")

    assert chat.third_party_requests() == []
    context.close()


def test_the_widget_works_with_the_keyboard_at_a_phones_width(live, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="nl-NL", is_mobile=True)
    page = context.new_page()
    chat = Chat(page, live).open()
    chat.answer_after(0)
    box = page.locator(".rw-new-message")
    assert box.get_attribute("placeholder").startswith("Typ hier uw vraag")
    width = page.evaluate("() => document.querySelector('.rw-conversation-container').getBoundingClientRect().width")
    assert width <= 375
    chat.ask("wat is het telefoonnummer?")
    reply = page.locator(".rw-reply").first
    chosen = reply.inner_text()
    before = len(chat.responses())
    reply.focus()
    page.keyboard.press("Enter")
    answer = chat.answer_after(before)
    assert chosen in answer, answer
    chat.shot("07-phone-keyboard")
    assert chat.third_party_requests() == []
    context.close()


def test_the_page_allows_no_third_party_content(live):
    with urllib.request.urlopen(live.web_url, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
        page = response.read().decode("utf-8")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "googleapis" not in page
    with urllib.request.urlopen(f"{live.web_url}webchat.js", timeout=10) as response:
        bundle = response.read().decode("utf-8")
    assert "fonts.googleapis.com" not in bundle and "WebChat" in bundle
