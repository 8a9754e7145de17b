"""Issue #11 in a real browser: every main page runs under the site's Content-Security-Policy
(no inline script, style or eval) with zero violations, and its htmx parts still work: the
intake form's grade preview, the board's live refresh, the meeting's inline forms, the 8D
section, the Q chart's SVG, the login, the admin and the API docs (Swagger UI).

A violation is caught twice: Chromium's console line ("Refused to ... because it violates the
following Content Security Policy directive") and the page's securitypolicyviolation event.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from issues.eightd import solving
from issues.models import Problem
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_intake_in_browser import expect_form_ready, expect_preview, fill_a_class_defect
from tests.issues.eightd_factory import graded_problem

pytestmark = pytest.mark.browser

TABLET = {"width": 1280, "height": 900}
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber} ${event.sample || ""}`);
});
"""


class Watched:
    """A page with every CSP violation and script error it meets collected."""

    def __init__(self, page: Page):
        self.page = page
        self.violations: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith(("Refused to", "securitypolicyviolation")):
            self.violations.append(f"{self.page.url}: {text}")

    def assert_clean(self) -> None:
        assert self.violations == []
        assert self.errors == []


@pytest.fixture
def watched(request, browser: Browser, live_server):
    """Factory: a fresh tablet-sized page, in English, whose violations are collected."""
    contexts = []

    def make() -> Watched:
        context = browser.new_context(viewport=TABLET, base_url=live_server.url, locale="en-US", has_touch=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return Watched(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def administrator(db):
    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def problem_with_8d(world, team_leader, quality_engineer) -> Problem:
    problem = graded_problem(world.line_a1, team_leader, "B", occurred_at=timezone.now() - dt.timedelta(hours=2))
    solving.start_report(problem, user=quality_engineer)
    return problem


def test_the_watcher_sees_a_violation(watched, team_leader):
    """The detector itself: an inline style put into the page is reported."""
    tab = watched()
    tab.page.goto("/login/")
    tab.page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")

    expect(tab.page.locator("body")).to_contain_text("x")
    tab.page.wait_for_timeout(300)
    assert any("style" in violation for violation in tab.violations), tab.violations


def test_login_intake_with_its_live_grade_preview_and_the_problem_page(watched, world, team_leader):
    tab = watched()
    log_in(tab.page, "leader")
    tab.page.get_by_test_id("log-problem").click()
    expect_form_ready(tab.page)  # the first preview came through htmx

    fill_a_class_defect(tab.page)
    expect_preview(tab.page, "B", "B: 15 A-class defects intermittently this shift, limit 10 < n ≤ 20")
    tab.page.get_by_test_id("submit-problem").click()
    expect(tab.page.locator(".problemhead .grade")).to_have_text("B")

    tab.assert_clean()


def test_the_board_refreshes_itself_and_tv_mode_turns_under_the_policy(watched, settings, world, quality_engineer):
    settings.QRQC_BOARD_REFRESH_SECONDS = 1
    tab = watched()
    log_in(tab.page, "qe")
    tab.page.goto("/board/")
    tab.page.evaluate("window.boardMarker = 'same page'")

    new = graded_problem(world.line_m1, quality_engineer, "B", occurred_at=timezone.now() - dt.timedelta(minutes=5))
    expect(tab.page.locator(f'[data-number="{new.number}"]')).to_be_visible()
    assert tab.page.evaluate("window.boardMarker") == "same page"  # refreshed in place by htmx

    tab.page.get_by_test_id("filters").locator("summary").click()  # htmx fetches the filter form once
    expect(tab.page.locator(".filterslot form.filterform")).to_be_visible()

    tab.page.get_by_test_id("tv-link").click()
    expect(tab.page.get_by_test_id("tv-row")).to_have_count(1)
    tab.page.wait_for_timeout(1500)  # at least one TV poll
    tab.assert_clean()


def test_q_chart_lists_meeting_and_8d_section_run_without_violations(watched, world, quality_engineer, problem_with_8d):
    tab = watched()
    log_in(tab.page, "qe")

    tab.page.goto("/qchart/")
    expect(tab.page.locator('[data-testid="chart-months"] svg text').first).to_be_visible()
    for path in ("/problems/?grade=B", "/lessons/", "/escalations/", "/notifications/"):
        tab.page.goto(path)
        expect(tab.page.locator("main h1").first).to_be_visible()

    tab.page.goto("/meetings/")
    tab.page.get_by_test_id("place").filter(has_text="Assembly").get_by_test_id("start-meeting").click()
    expect(tab.page.get_by_test_id("meeting")).to_be_visible()
    tab.page.evaluate("window.meetingMarker = 'same page'")
    item = tab.page.locator(f'[data-testid="agenda-item"][data-number="{problem_with_8d.number}"]')
    item.locator('textarea[name="decision"]').fill("Sort the stock; 8D by Friday")
    item.get_by_role("button", name="Record decision").click()
    expect(item.get_by_test_id("item-decision")).to_have_text("Sort the stock; 8D by Friday")
    assert tab.page.evaluate("window.meetingMarker") == "same page"  # swapped in place by htmx

    tab.page.goto(f"/problems/{problem_with_8d.pk}/8d/")
    tab.page.goto(f"/problems/{problem_with_8d.pk}/8d/D0/")
    expect(tab.page.get_by_test_id("answer-form")).to_be_visible()
    tab.page.goto(f"/problems/{problem_with_8d.pk}/")
    expect(tab.page.get_by_test_id("problem-number")).to_have_text(problem_with_8d.number)

    tab.assert_clean()


def test_the_admin_and_the_api_docs_run_without_violations(watched, administrator, problem_with_8d):
    tab = watched()
    tab.page.goto("/admin/login/")
    tab.page.locator("#id_username").fill("admin")
    tab.page.locator("#id_password").fill(PASSWORD)
    tab.page.locator("input[type=submit]").click()
    expect(tab.page.locator("#site-name")).to_be_visible()

    tab.page.goto("/admin/issues/problem/")
    expect(tab.page.locator("#result_list")).to_be_visible()
    tab.page.goto(f"/admin/issues/problem/{problem_with_8d.pk}/change/")
    expect(tab.page.locator("#problem_form")).to_be_visible()
    tab.page.goto(f"/admin/issues/problem/{problem_with_8d.pk}/history/")
    expect(tab.page.locator("#content h1")).to_be_visible()
    tab.page.goto("/admin/axes/accessattempt/")
    expect(tab.page.locator("#content h1")).to_be_visible()
    tab.page.goto("/admin/auth/user/add/")
    expect(tab.page.locator("#user_form")).to_be_visible()

    tab.page.goto("/api/v1/docs/")
    expect(tab.page.locator(".opblock").first).to_be_visible()  # Swagger UI drew the operations
    tab.page.locator(".opblock-summary").first.click()
    expect(tab.page.locator(".opblock-body").first).to_be_visible()

    tab.assert_clean()
