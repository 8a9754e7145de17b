"""Issue #2 in a real browser: a team leader on a phone logs a defect, sees the grade while
typing, submits, and reads the grade and why, in English and in Chinese.

Headless Chromium at 390×844 (a phone), driven through Playwright against live_server.
Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from issues.models import Problem, Profile
from issues.problems.intake import shift_at
from tests.browser.conftest import PHONE, log_in, screenshot

pytestmark = pytest.mark.browser

PROBLEM_URL = re.compile(r"/problems/(\d+)/$")

ENGLISH = {
    "locale": "en-US",
    "profile_language": "en",
    "log_problem": "Log a problem",
    "why": "Why this grade",
    "explanation": "B: 15 A-class defects intermittently this shift, limit 10 < n ≤ 20",
}
CHINESE = {
    "locale": "zh-CN",
    "profile_language": "",  # no choice stored: the phone's language (Accept-Language) decides
    "log_problem": "记录问题",
    "why": "定级依据",
    "explanation": "B: 本班 A 类缺陷间断性 15 件，限值 10 < n ≤ 20",
}


def open_intake(page: Page, username: str = "leader") -> None:
    """Log in, then one tap on the home page's big button."""
    log_in(page, username)
    page.get_by_test_id("log-problem").tap()
    expect_form_ready(page)


def expect_form_ready(page: Page) -> None:
    """The page asks for a first preview as soon as its scripts run (line and category are
    prefilled, so it is C); once that is in, typing is live."""
    expect(page.locator("#grade-preview [data-grade]")).to_be_visible()


def quality_fact(page: Page, name: str):
    return page.locator(f'fieldset.facts[data-category="quality"] [name="{name}"]')


def choose_defect_class(page: Page, value: str) -> None:
    """The A/B/C radios are visually hidden; a finger hits the visible chip (its label)."""
    radio = page.locator(f'input[name="defect_class"][value="{value}"]')
    chip = page.locator('fieldset.facts[data-category="quality"] .segmented label').filter(has=radio)
    chip.tap()
    expect(chip.locator("input")).to_be_checked()


def expect_preview(page: Page, grade: str, explanation: str) -> None:
    expect(page.locator("#grade-preview [data-grade]")).to_have_attribute("data-grade", grade)
    expect(page.get_by_test_id("preview-explanation")).to_have_text(explanation)


def assert_fits_phone(page: Page) -> None:
    """No sideways scrolling on the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"


def intake_posts(page: Page) -> list:
    """The form submissions the browser sends from now on (not the preview's requests)."""
    posts = []

    def seen(request):
        if request.method == "POST" and request.url.endswith("/problems/new/"):
            posts.append(request)

    page.on("request", seen)
    return posts


def fill_a_class_defect(page: Page, count: str = "15") -> None:
    page.locator("#id_title").fill("Burr on flange, station 3")
    choose_defect_class(page, "A")
    quality_fact(page, "defect_count").fill(count)


@pytest.mark.parametrize("language", [ENGLISH, CHINESE], ids=["en", "zh"])
def test_team_leader_logs_a_defect_on_a_phone(phone_page, world, team_leader, language):
    # The login applies the language stored on the profile (make_person stores "en").
    Profile.objects.filter(user=team_leader).update(language=language["profile_language"])
    page = phone_page(language["locale"])
    log_in(page, "leader")
    log_button = page.get_by_test_id("log-problem")
    expect(log_button).to_contain_text(language["log_problem"])
    log_button.tap()
    expect_form_ready(page)

    # Where and when are already filled in: the leader's own line, the shift running now.
    expect(page.locator("#id_line")).to_have_value(str(world.line_a1.pk))
    expect(page.locator("#id_shift")).to_have_value(str(shift_at(world.plant, timezone.now()).pk))
    expect(page.locator('input[name="category"][value="quality"]')).to_be_checked()

    fill_a_class_defect(page)
    expect_preview(page, "B", language["explanation"])
    suffix = "en" if language is ENGLISH else "zh"
    screenshot(page, f"intake-phone-{suffix}")
    assert_fits_phone(page)

    page.get_by_test_id("submit-problem").tap()
    expect(page).to_have_url(PROBLEM_URL)
    expect(page.locator(".problemhead .grade")).to_have_text("B")
    expect(page.locator(".why h2")).to_have_text(language["why"])
    expect(page.get_by_test_id("grade-explanation")).to_have_text(language["explanation"])
    screenshot(page, f"problem-phone-{suffix}")
    assert_fits_phone(page)

    problem = Problem.objects.get()  # exactly one
    assert PROBLEM_URL.search(page.url).group(1) == str(problem.pk)
    expect(page.get_by_test_id("problem-number")).to_have_text(problem.number)
    assert (problem.grade, problem.line_id, problem.reported_by_id) == ("B", world.line_a1.pk, team_leader.pk)
    assert problem.facts == {"defect_class": "A", "defect_count": 15}


def test_equipment_shows_its_own_facts_and_grades_downtime(phone_page, world, team_leader):
    page = phone_page()
    open_intake(page)
    quality = page.locator('fieldset.facts[data-category="quality"]')
    equipment = page.locator('fieldset.facts[data-category="equipment"]')
    expect(quality).to_be_visible()
    expect(equipment).to_be_hidden()

    fill_a_class_defect(page)
    expect_preview(page, "B", ENGLISH["explanation"])

    page.locator("label.chip", has_text="Equipment").tap()
    expect(page.locator('input[name="category"][value="equipment"]')).to_be_checked()
    expect(quality).to_be_hidden()
    expect(equipment).to_be_visible()
    # The quality facts typed before no longer count.
    expect_preview(page, "C", "C: no B or A alarm limit reached; tracked and improved")

    page.locator("#fact-equipment-downtime_minutes").fill("130")
    expect_preview(page, "A", "A: 130 min unplanned downtime, limit n > 120")
    screenshot(page, "intake-phone-equipment")

    page.get_by_test_id("submit-problem").tap()
    expect(page).to_have_url(PROBLEM_URL)
    expect(page.get_by_test_id("grade-explanation")).to_have_text("A: 130 min unplanned downtime, limit n > 120")
    problem = Problem.objects.get()
    assert (problem.category, problem.grade, problem.facts) == ("equipment", "A", {"downtime_minutes": 130})


def test_invalid_submit_keeps_the_facts_and_the_preview(phone_page, world, team_leader):
    page = phone_page()
    open_intake(page)
    posts = intake_posts(page)
    title = page.locator("#id_title")
    choose_defect_class(page, "A")
    quality_fact(page, "defect_count").fill("15")
    expect_preview(page, "B", ENGLISH["explanation"])

    # Empty title: the browser itself refuses (the input is `required`); nothing is sent.
    page.get_by_test_id("submit-problem").tap()
    assert title.evaluate("input => input.validity.valueMissing")
    expect(page.get_by_test_id("submit-problem")).to_be_enabled()
    assert posts == []

    # Blanks only: the browser lets it through, the server says no and shows the form again.
    title.fill("   ")
    page.get_by_test_id("submit-problem").tap()
    expect(page.locator(".field.invalid").filter(has=page.locator("#id_title"))).to_contain_text(
        "This field is required."
    )
    assert len(posts) == 1
    assert posts[0].response().status == 400
    screenshot(page, "intake-phone-invalid")
    # What was typed is still there, and the preview runs again at once (title still blank).
    expect(quality_fact(page, "defect_class").and_(page.locator('[value="A"]'))).to_be_checked()
    expect(quality_fact(page, "defect_count")).to_have_value("15")
    expect_preview(page, "B", ENGLISH["explanation"])
    quality_fact(page, "defect_count").fill("25")
    expect_preview(page, "A", "A: 25 A-class defects intermittently this shift, limit n > 20")
    assert Problem.objects.count() == 0

    title.fill("Burr on flange, station 3")
    page.get_by_test_id("submit-problem").tap()
    expect(page).to_have_url(PROBLEM_URL)
    expect(page.locator(".problemhead .grade")).to_have_text("A")
    assert Problem.objects.get().facts == {"defect_class": "A", "defect_count": 25}


def test_double_tap_and_resubmit_log_one_problem(phone_page, live_server, world, team_leader):
    page = phone_page()
    open_intake(page)
    fill_a_class_defect(page)
    expect_preview(page, "B", ENGLISH["explanation"])
    # What the browser would send, kept to send it again below.
    sent = page.locator("#intake-form").evaluate(
        "form => Object.fromEntries([...new FormData(form)].filter(([, value]) => typeof value === 'string'))"
    )
    posts = intake_posts(page)

    page.get_by_test_id("submit-problem").dblclick()
    expect(page).to_have_url(PROBLEM_URL)
    expect(page.locator(".problemhead .grade")).to_have_text("B")
    assert 1 <= len(posts) <= 2
    problem = Problem.objects.get()

    # The same form once more (a retry after a dropped connection, a back-and-resubmit):
    # the idempotency key sends it to the problem already logged.
    again = page.request.post(f"{live_server.url}/problems/new/", multipart=sent)
    assert again.ok
    assert again.url == f"{live_server.url}/problems/{problem.pk}/"
    assert "was already logged; nothing was added." in again.text()
    assert Problem.objects.count() == 1
