"""Issue #4 in a real browser: a quality engineer fills D0–D8 of a graded problem's 8D, a
reviewer returns D4 once, the engineer fixes it, the reviewer accepts everything, the quality
department closes the problem, and the 8D downloads as a PDF whose Chinese text renders.

Headless Chromium, driven through Playwright against live_server; screenshots land in
test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from issues.eightd.solving import start_report
from issues.models import Problem, Role, Section
from issues.problems.lifecycle import assign_owner
from tests.browser.conftest import ARTIFACTS, PHONE, log_in, screenshot
from tests.conftest import make_person
from tests.issues.eightd_factory import as_post, graded_problem, valid_content

pytestmark = pytest.mark.browser
CHINESE_DESCRIPTION = "壳体法兰毛刺 burr on the housing flange"


@pytest.fixture
def reviewer(world):
    return make_person("qm", Role.QUALITY_MANAGER, plant=world.plant)


@pytest.fixture
def owned_problem(world, team_leader, quality_engineer, reviewer):
    """An A problem logged an hour ago; the meeting made the quality engineer its owner."""
    problem = graded_problem(world.line_a1, team_leader, "A", occurred_at=timezone.now() - dt.timedelta(hours=1))
    return assign_owner(
        problem, user=reviewer, owner=quality_engineer, due_date=timezone.localdate() + dt.timedelta(days=14)
    )


def fill_answer(page: Page, code: str, content: dict) -> None:
    """Type an answer into the section editor, field by field, as a person would."""
    for name, value in as_post(code, content).items():
        if name.endswith(("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")):
            continue
        field = page.locator(f'[name="{name}"]')
        kind = field.evaluate("element => element.tagName.toLowerCase() + ':' + (element.type || '')")
        if kind.startswith("select"):
            field.select_option(value)
        elif kind == "input:checkbox":
            field.check()
        else:
            field.fill(value)


def submit_section(page: Page, problem: Problem, code: str, content: dict) -> None:
    page.goto(f"/problems/{problem.pk}/8d/{code}/")
    fill_answer(page, code, content)
    page.get_by_test_id("submit-answer").click()
    expect(page.get_by_test_id("section-state")).to_contain_text("Submitted for review")


def review(page: Page, problem: Problem, code: str, *, returned_because: str = "") -> None:
    page.goto(f"/problems/{problem.pk}/8d/{code}/")
    panel = page.get_by_test_id("review")
    if returned_because:
        panel.locator("form").nth(1).locator("textarea, input[type=text]").fill(returned_because)
        panel.get_by_role("button", name="Return to the team").click()
        expect(page.get_by_test_id("section-state")).to_contain_text("Returned")
    else:
        panel.get_by_role("button", name="Accept").click()
        expect(page.get_by_test_id("section-state")).to_contain_text("Accepted")


def test_an_8d_is_filled_reviewed_closed_and_printed_in_chinese(
    browser, live_server, owned_problem, quality_engineer, reviewer
):
    problem = owned_problem
    people = [quality_engineer]
    answers = {code: valid_content(code, people) for code in ("D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8")}
    answers["D2"]["what"] = CHINESE_DESCRIPTION
    weak_d4 = {**answers["D4"], "escape_evidence": "", "escape_verified": "no"}

    desk = {"viewport": {"width": 1366, "height": 900}, "base_url": live_server.url, "accept_downloads": True}
    engineer_context, reviewer_context = browser.new_context(**desk), browser.new_context(**desk)
    engineer, manager = engineer_context.new_page(), reviewer_context.new_page()
    try:
        log_in(engineer, "qe")
        engineer.goto(f"/problems/{problem.pk}/")
        engineer.get_by_test_id("eightd-start").click()
        expect(engineer.get_by_test_id("eightd-sections")).to_be_visible()

        for code, content in answers.items():
            submit_section(engineer, problem, code, weak_d4 if code == "D4" else content)
        screenshot(engineer, "eightd-1-all-submitted")

        log_in(manager, "qm")
        for code in answers:
            review(
                manager,
                problem,
                code,
                returned_because="逃逸原因未验证 escape cause not verified" if code == "D4" else "",
            )
        assert Section.objects.get(report__problem=problem, code="D4").returns == 1

        engineer.goto(f"/problems/{problem.pk}/8d/D4/")
        expect(engineer.get_by_test_id("review-note")).to_contain_text("escape cause not verified")
        screenshot(engineer, "eightd-2-d4-returned")
        submit_section(engineer, problem, "D4", answers["D4"])

        review(manager, problem, "D4")
        problem.refresh_from_db()
        assert problem.status == Problem.Status.VERIFYING

        manager.goto(f"/problems/{problem.pk}/")
        manager.get_by_test_id("close-form").get_by_role("button", name="Close the problem").click()
        expect(manager.locator(".problemhead")).to_contain_text("Closed")
        screenshot(manager, "eightd-3-closed")
        problem.refresh_from_db()
        assert problem.status == Problem.Status.CLOSED
        assert problem.lesson.lesson == answers["D7"]["lesson"]

        manager.goto(f"/problems/{problem.pk}/8d/")
        with manager.expect_download() as download_info:
            manager.get_by_role("link", name="中文").click()
        pdf = ARTIFACTS / f"8D-{problem.number}-zh-hans.pdf"
        download_info.value.save_as(pdf)
    finally:
        engineer_context.close()
        reviewer_context.close()

    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True)
    assert "壳体法兰毛刺" in text.stdout
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    cjk = [row.split() for row in fonts.splitlines() if "WenQuanYi" in row]
    assert cjk and all(row[-5] == "yes" for row in cjk)  # embedded: no boxes on a PC without the font


def test_the_8d_pages_fit_a_phone(phone_page, owned_problem, quality_engineer):
    """Wide row tables scroll inside their own box; the page itself never scrolls sideways."""
    start_report(owned_problem, user=quality_engineer)
    page = phone_page()
    log_in(page, "qe")
    for path in ("", "D3/", "D4/", "D7/"):
        page.goto(f"/problems/{owned_problem.pk}/8d/{path}")
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    screenshot(page, "eightd-4-phone-d7")
