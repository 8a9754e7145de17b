"""Issue #3 in a real browser: a team leader reached by an escalation sees the bell's count,
opens the notification centre, taps "I'm on it", and finds the tier on the problem's ladder
with a countdown to the next one that runs without reloading.

Headless Chromium at 390×844 (a phone), driven through Playwright against live_server; events
are written by the real sweep and dispatch. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalation.dispatch import dispatch
from escalation.models import Notification
from escalation.sweep import sweep
from issues.problems.intake import Report, report_problem
from tests.browser.conftest import PHONE, log_in, screenshot

pytestmark = pytest.mark.browser
CLOCK = re.compile(r"^in \d{1,2}:\d{2}$")  # "in 19:58", as the page's script writes it


@pytest.fixture
def escalated(settings, world, team_leader, quality_engineer):
    """A B problem on the leader's line, 10 minutes old: level 4 fired, level 3 next at +30 min."""
    settings.QRQC_GATEWAY = {"URL": "", "TOKEN": ""}
    report = Report(
        line=world.line_a1,
        category="quality",
        title="Burr on flange",
        occurred_at=timezone.now() - dt.timedelta(minutes=10),
        facts={"defect_class": "A", "defect_count": 15},
    )
    problem = report_problem(report, reporter=quality_engineer)[0]
    now = timezone.now()
    sweep(now)
    for _ in range(4):
        dispatch(now)
    return problem


def test_a_team_leader_acknowledges_an_escalation_from_the_bell(phone_page, escalated, team_leader):
    page = phone_page()
    log_in(page, "leader")

    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    screenshot(page, "escalation-1-bell")
    page.get_by_test_id("bell").tap()

    note = page.get_by_test_id("notification")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(escalated.number)
    expect(note).to_have_class("note unread")
    expect(page.get_by_test_id("bell-count")).to_have_count(0)  # opened: read
    screenshot(page, "escalation-2-notifications")
    note.get_by_test_id("acknowledge").tap()

    expect(note.get_by_test_id("acknowledged")).to_contain_text("On it")
    expect(note.get_by_test_id("acknowledge")).to_have_count(0)
    expect(page.get_by_test_id("bell-count")).to_have_count(0)
    screenshot(page, "escalation-3-acknowledged")
    assert (
        Notification.objects.filter(
            recipient=team_leader, event__problem=escalated, acknowledged_at__isnull=True
        ).count()
        == 0
    )

    note.locator("a.notebody").tap()
    expect(page).to_have_url(re.compile(rf"/problems/{escalated.pk}/$"))
    reached = page.get_by_test_id("rung-4")
    expect(reached).to_have_attribute("data-state", "fired")
    expect(reached).to_contain_text("Level 4 — line")
    expect(reached).to_contain_text("Leader")
    expect(reached.get_by_test_id("acknowledged").first).to_be_visible()
    expect(page.get_by_test_id("rung-3")).to_have_attribute("data-state", "next")
    countdown = page.get_by_test_id("countdown")
    expect(countdown).to_have_text(CLOCK)
    expect(countdown).not_to_have_text(countdown.inner_text())  # ticking in the page, no reload
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_test_id("escalation").scroll_into_view_if_needed()
    screenshot(page, "escalation-4-ladder")
