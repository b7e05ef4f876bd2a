"""The staff console end to end in a real headless Chromium, beside a patient on the website widget.

A front-desk admin logs in; a patient reports a red flag in the widget; the escalation appears in
the queue without a reload; the admin opens the transcript, replies (the reply reaches the
patient's widget and the assistant pauses), marks it handled (the queue empties and the assistant
answers again) and looks at the insight page and its CSV. Screenshots: results/desk/.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_browser import CHROMIUM_FLAGS, TIMEOUT_MS, Chat, browser  # noqa: F401 - the shared browser fixture

pytestmark = pytest.mark.server

SCREENSHOTS = ROOT / "results" / "desk"
RED_FLAG = "Ik kan sinds vanochtend niet meer plassen en mijn billen voelen doof. Ik ben Jan de Vries, 06-12345678."


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def admin_password(live) -> str:
    return (Path(live.log_dir) / "desk-admin-password").read_text(encoding="utf-8").strip()


def log_in(page, live, name: str, password: str) -> None:
    page.goto(f"{live.web_url}desk/")
    assert "/desk/login" in page.url
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#queue")


def test_the_front_desk_answers_an_escalation_end_to_end(live, browser):  # noqa: F811 - the fixture
    desk_context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="nl-NL")
    desk = desk_context.new_page()
    desk.set_default_timeout(TIMEOUT_MS)
    desk.on("dialog", lambda dialog: dialog.accept())

    # A wrong password is refused; the right one opens the console.
    desk.goto(f"{live.web_url}desk/")
    desk.fill("#name", "admin")
    desk.fill("#password", "not-the-password")
    desk.click("#login-form button[type=submit]")
    assert "klopt niet" in desk.inner_text("main")
    shot(desk, "01-login-refused")
    log_in(desk, live, "admin", admin_password(live))
    shot(desk, "02-console")

    # The question box gives the assistant's own answer, its topic and source.
    desk.fill("#q", "is bewegen schadelijk?")
    desk.click("form.ask button")
    result = desk.inner_text("#ask-result")
    assert "bewegen" in result.lower() and "movement_harmful" in result, result
    shot(desk, "03-question-box")

    # A patient reports a red flag on the website.
    patient_context = browser.new_context(viewport={"width": 420, "height": 800}, locale="nl-NL")
    patient = Chat(patient_context.new_page(), live).open()
    patient.answer_after(0)
    answer = patient.ask(RED_FLAG)
    assert "bel" in answer.lower(), answer
    session = patient.session_id()

    # It appears in the queue by itself (no reload), most urgent first, without the name or number.
    row = desk.locator(f"#queue tr[data-id='{session}']")
    row.wait_for(timeout=TIMEOUT_MS)
    text = row.inner_text()
    assert "Website" in text and "plassen" in text, text
    assert "06-12345678" not in text and "Jan de Vries" not in text, text
    assert re.search(r"112|Spoed|huisarts", text), text
    shot(desk, "04-escalation-in-queue")

    # The whole transcript.
    row.locator("a.open").click()
    desk.wait_for_selector("#transcript li.patient")
    transcript = desk.inner_text("#transcript")
    assert "niet meer plassen" in transcript and "[telefoonnummer]" in transcript, transcript
    shot(desk, "05-transcript")

    # A reply from the desk reaches the patient's widget; the assistant pauses.
    before = len(patient.responses())
    desk.fill("#reply-text", "Dit is de praktijk. Wij bellen u binnen 5 minuten. Blijft u bereikbaar?")
    desk.click("form.reply button")
    desk.wait_for_selector("#transcript li.staff")
    assert "de assistent wacht" in desk.inner_text("#status")
    reply = patient.answer_after(before)
    assert "medewerker" in reply.lower() and "Wij bellen u binnen 5 minuten" in reply, reply
    shot(patient.page, "06-staff-reply-in-patient-widget")
    shot(desk, "07-replied")

    # Handled: the item leaves the queue and the assistant answers the patient again.
    desk.click("text=Afgehandeld")
    desk.wait_for_selector("#queue")
    assert desk.locator(f"#queue tr[data-id='{session}']").count() == 0
    shot(desk, "08-handled")
    answer = patient.ask("is bewegen schadelijk?")
    assert "bewegen" in answer.lower(), answer

    # Insight: charts and a CSV download.
    desk.click("nav >> text=Inzicht")
    desk.wait_for_selector("#chart-per_day svg")
    assert int(desk.inner_text("#total-conversations")) >= 1
    for chart in ("per_day", "topics", "faq", "tiers", "channels"):
        assert desk.locator(f"#chart-{chart} svg").count() == 1, chart
    shot(desk, "09-insight")
    with desk.expect_download() as download:
        desk.click("#csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) > 3 and "plassen" not in str(rows)

    # The audit log holds every step, without patient text.
    desk.click("nav >> text=Logboek")
    log = desk.inner_text("main")
    for action in ("login_failed", "login", "ask", "open_conversation", "reply", "handled", "insight", "insight_csv"):
        assert re.search(rf"\b{action}\b", log), action
    assert "plassen" not in log and "bereikbaar" not in log
    shot(desk, "10-audit-log")
    patient_context.close()
    desk_context.close()
