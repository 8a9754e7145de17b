"""Issue #5 in a real browser: the Q chart colours today red once an A problem is logged.

A workshop director has the Q chart open on a desktop; a team leader logs an A defect through
the intake form on a phone; the director reloads and today's cell is red, a click on it lists
the problem under the calendar (htmx, the URL follows). On the phone the same chart fits the
screen. Screenshots: test-artifacts/qchart-desktop.png and qchart-phone.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from issues.models import Problem
from tests.browser.conftest import ARTIFACTS, log_in, screenshot
from tests.browser.test_intake_in_browser import assert_fits_phone, expect_form_ready, fill_a_class_defect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def desktop_page(browser: Browser, live_server):
    context = browser.new_context(viewport=DESKTOP, locale="en-US", base_url=live_server.url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def today_cell(page: Page):
    return page.get_by_test_id("qchart-today")


def test_the_q_chart_colours_a_day_red_after_an_a_problem(
    desktop_page, phone_page, world, workshop_director, team_leader
):
    desk = desktop_page
    log_in(desk, "director")
    desk.goto("/qchart/")
    expect(desk.get_by_test_id("qchart-subject")).to_have_text("Assembly · Test Plant")
    expect(today_cell(desk)).to_have_attribute("data-colour", "green")

    # The team leader logs 25 A-class defects in the shift (A: more than 20) on the phone.
    phone = phone_page()
    log_in(phone, "leader")
    phone.get_by_test_id("log-problem").tap()
    expect_form_ready(phone)
    fill_a_class_defect(phone, count="25")
    expect(phone.locator("#grade-preview [data-grade]")).to_have_attribute("data-grade", "A")
    phone.get_by_test_id("submit-problem").tap()
    expect(phone).to_have_url(re.compile(r"/problems/\d+/$"))
    problem = Problem.objects.get()
    assert problem.grade == "A"

    desk.reload()
    expect(today_cell(desk)).to_have_attribute("data-colour", "red")
    expect(today_cell(desk)).to_contain_text("A1")
    today_cell(desk).locator("a").click()
    panel = desk.get_by_test_id("qchart-day")
    expect(panel).to_contain_text(problem.number)
    expect(panel).to_contain_text("Burr on flange, station 3")
    expect(desk).to_have_url(re.compile(r"/qchart/\?workshop=\d+&day=\d{4}-\d\d-\d\d$"))  # htmx pushed it
    expect(desk.locator("#qchart-months-clip")).to_have_count(1)  # the charts stayed: only the month was swapped
    expect(desk.get_by_test_id("chart-categories")).to_contain_text("Quality")
    desk.screenshot(path=ARTIFACTS / "qchart-desktop.png", full_page=True)

    # The day's problem opens from the list.
    panel.get_by_text(problem.number).click()
    expect(desk).to_have_url(re.compile(rf"/problems/{problem.pk}/$"))

    # On the phone: the leader's own workshop by default, the whole month on the screen.
    phone.goto("/qchart/")
    expect(today_cell(phone)).to_have_attribute("data-colour", "red")
    assert_fits_phone(phone)
    today_cell(phone).locator("a").tap()
    expect(phone.get_by_test_id("qchart-day")).to_contain_text(problem.number)
    assert_fits_phone(phone)
    screenshot(phone, "qchart-phone")
