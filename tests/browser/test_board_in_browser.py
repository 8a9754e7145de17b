"""Issue #5 in a real browser: the daily QRQC board on a 1080p screen and on a phone, and TV
mode, which shows a newly logged problem, an escalation and a stalled sweep within 10 seconds
without reloading the page.

Headless Chromium driven through Playwright against live_server. Screenshots land in
test-artifacts/ (board-desktop.png, board-phone.png, board-tv.png, and the Chinese ones).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from escalation.models import SweepRun
from issues.eightd import solving
from issues.models import Problem, Role
from issues.problems import lifecycle
from issues.problems.intake import Report, report_problem
from tests.browser.conftest import ARTIFACTS, PHONE, log_in, screenshot
from tests.conftest import close_without_eightd, make_person

pytestmark = pytest.mark.browser

FULL_HD = {"width": 1920, "height": 1080}
DEFECTS = {"C": 10, "B": 15, "A": 21}  # A-class defects, intermittent: the count decides the grade
LIVE = 10_000  # ms: a new or escalated problem shows on open boards within 10 seconds


def log(line, reporter, grade: str, title: str, hours: float) -> Problem:
    report = Report(
        line=line,
        category="quality",
        title=title,
        occurred_at=timezone.now() - dt.timedelta(hours=hours),
        facts={"defect_class": "A", "defect_count": DEFECTS[grade]},
    )
    problem = report_problem(report, reporter=reporter)[0]
    assert problem.grade == grade
    # Logged a few minutes after it happened, as on the shop floor (intake stamps "now").
    logged = min(report.occurred_at + dt.timedelta(minutes=5), timezone.now())
    Problem.objects.filter(pk=problem.pk).update(reported_at=logged)
    problem.refresh_from_db()
    return problem


@pytest.fixture
def sweep_running(db):
    """The escalation sweep ran just now (and for the next hour): no stalled banner."""
    return SweepRun.objects.create(name="sweep", last_run_at=timezone.now() + dt.timedelta(hours=1))


@pytest.fixture
def busy_board(world, quality_engineer, team_leader, workshop_director, sweep_running):
    """A plant's morning: problems of every grade, state and age the meeting meets."""
    chen = make_person("chen", Role.PRODUCTION_MANAGER, plant=world.plant)
    a1, a2, m1 = world.line_a1, world.line_a2, world.line_m1
    now = timezone.now()
    today = timezone.localdate(now, world.plant.zone)

    customer = log(a1, quality_engineer, "A", "Customer claim: leaking pump cover, O-ring missing", 30)
    lifecycle.assign_owner(customer, user=quality_engineer, owner=workshop_director, due_date=today, now=now)
    report = solving.start_report(customer, user=quality_engineer, now=now)
    d1 = report.sections.get(code="D1")
    solving.save_answer(d1, user=quality_engineer, content={"leader": quality_engineer.pk})
    lifecycle.contain(customer, action="Sorted 1,200 covers", done_by="QA", quantity_secured=1200, user=chen)
    Problem.objects.filter(pk=customer.pk).update(escalation_level=2)

    line_stop = log(m1, quality_engineer, "A", "Line stop: spindle crash on CNC 4", 2.5)
    Problem.objects.filter(pk=line_stop.pk).update(escalation_level=3)

    torque = log(a2, quality_engineer, "B", "Torque out of spec on M8 bolts", 70)
    lifecycle.assign_owner(torque, user=quality_engineer, owner=team_leader, due_date=today - dt.timedelta(days=1))
    lifecycle.contain(torque, action="100% re-torque", done_by="line", quantity_secured=300, user=team_leader)
    Problem.objects.filter(pk=torque.pk).update(status=Problem.Status.ACTING, escalation_level=4)

    scratch = log(a1, team_leader, "B", "Scratches on painted side panel", 8)
    lifecycle.assign_owner(scratch, user=quality_engineer, owner=chen, due_date=today + dt.timedelta(days=5))

    log(a2, team_leader, "C", "Label printer skips lot number", 0.4)
    burr = log(m1, team_leader, "C", "Burr on housing flange", 20)
    lifecycle.assign_owner(burr, user=quality_engineer, owner=team_leader, due_date=today + dt.timedelta(days=2))
    lifecycle.contain(burr, action="Deburr by hand", done_by="line", quantity_secured=40, user=team_leader)
    gauge = log(a1, team_leader, "C", "Go/no-go gauge out of calibration", 5)
    close_without_eightd(gauge, user=quality_engineer)
    log(a2, team_leader, "C", "Wrong torque program loaded after changeover", 12)
    for line, title, hours in (
        (a1, "Screw missing on rear bracket", 15),
        (m1, "Oversize bore on housing, 3 parts", 9),
        (a2, "Connector not fully seated", 7),
        (m1, "Chips in coolant filter, surface marks", 4),
        (a1, "Packaging label in wrong language", 3),
    ):
        log(line, team_leader, "C", title, hours)
    return {"customer": customer, "line_stop": line_stop, "scratch": scratch}


@pytest.fixture
def screen(request, browser: Browser, live_server):
    """Factory: a new page of the given size and locale, in its own context (cookies, language)."""
    contexts = []

    def make(viewport=FULL_HD, locale: str = "en-US", **options) -> Page:
        context = browser.new_context(viewport=viewport, locale=locale, base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for number, context in enumerate(contexts):
        for page in context.pages if failed else []:
            page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}-{number}.png", full_page=True)
        context.close()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("locale", "suffix", "machining"), [("en-US", "", "Machining"), ("zh-CN", "-zh", "机加车间")])
def test_the_board_on_a_1080p_screen_lists_every_problem_and_shows_a_new_one_without_a_reload(
    screen, busy_board, world, quality_engineer, locale, suffix, machining
):
    page = screen(locale=locale)
    log_in(page, "qe")
    page.goto("/board/")

    rows = page.get_by_test_id("board-row")
    expect(rows).to_have_count(13)
    expect(rows.first).to_contain_text(busy_board["customer"].number)  # A first, oldest first
    expect(rows.first.get_by_test_id("level")).to_have_text("L2")
    expect(rows.first.get_by_test_id("cell-containment")).to_have_attribute("data-colour", "yellow")  # D1 is a draft
    expect(page.get_by_test_id("count-a")).to_contain_text("2")
    expect(page.get_by_test_id("no-owner").first).to_be_visible()
    expect(page.get_by_test_id("overdue")).to_have_count(1)
    no_sideways_scroll(page)
    page.screenshot(path=ARTIFACTS / f"board-desktop{suffix}.png", full_page=True)

    page.evaluate("window.boardMarker = 'still the same page'")
    new = log(world.line_m1, quality_engineer, "B", "Coolant leak at washer exit", 0)
    expect(page.locator(f'[data-number="{new.number}"]')).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("count-b")).to_have_text("3")
    assert page.evaluate("window.boardMarker") == "still the same page"  # refreshed in place

    page.get_by_test_id("board-pick").select_option(label=f"\u2003{machining}")  # submits itself
    expect(rows).to_have_count(5)
    expect(page.get_by_test_id("board-scope")).to_have_text(machining)
    page.get_by_test_id("tv-link").click()
    expect(page.get_by_test_id("tv-row")).to_have_count(5)


@pytest.mark.parametrize(("locale", "suffix", "yellow"), [("en-US", "", "Y"), ("zh-CN", "-zh", "黄")])
def test_the_board_on_a_phone_is_a_list_of_cards(screen, busy_board, locale, suffix, yellow):
    page = screen(viewport=PHONE, locale=locale, device_scale_factor=2, is_mobile=True, has_touch=True)
    log_in(page, "qe")
    page.goto("/board/")

    card = page.get_by_test_id("board-row").first
    expect(card).to_be_visible()
    expect(card.get_by_test_id("cell-containment")).to_have_text(yellow)
    expect(page.locator("table.board thead")).to_be_hidden()
    box = card.bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] > 120  # a card, not a squeezed table row
    no_sideways_scroll(page)
    screenshot(page, f"board-phone{suffix}")

    page.locator("details.filters summary").tap()
    page.locator('input[name="grade"][value="A"]').check()
    page.locator("details.filters button[type=submit]").tap()
    expect(page).to_have_url(re.compile(r"/board/\?.*grade=A"))
    expect(page.get_by_test_id("board-row")).to_have_count(2)
    no_sideways_scroll(page)
    screenshot(page, f"board-phone-filtered{suffix}")


def test_tv_mode_shows_a_new_problem_an_escalation_and_a_stalled_sweep_without_reloading(
    screen, settings, busy_board, world, quality_engineer, sweep_running
):
    settings.QRQC_TV_PAGE_SECONDS = 120  # page 1 (of 10 rows) stays on screen for the whole test
    page = screen()
    log_in(page, "qe")
    page.goto("/board/tv/")
    expect(page.get_by_test_id("tv-row")).to_have_count(10)
    expect(page.get_by_test_id("tv-page")).to_have_text("page 1/2")  # the new C problem will be on page 2
    expect(page.get_by_test_id("tv-stalled")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "board-tv.png")
    page.evaluate("window.boardMarker = 'still the same page'")

    new = log(world.line_m1, quality_engineer, "C", "Coolant leak at washer exit", 0)
    expect(page.get_by_test_id("tv-latest")).to_contain_text(new.number, timeout=LIVE)
    expect(page.get_by_test_id("count-c")).to_have_text("10")

    scratch = page.locator(f'[data-testid="tv-row"][data-number="{busy_board["scratch"].number}"]')
    expect(scratch.get_by_test_id("level")).to_have_count(0)
    Problem.objects.filter(pk=busy_board["scratch"].pk).update(escalation_level=3)
    expect(scratch.get_by_test_id("level")).to_have_text("L3", timeout=LIVE)

    SweepRun.objects.filter(pk=sweep_running.pk).update(last_run_at=timezone.now() - dt.timedelta(minutes=5))
    expect(page.get_by_test_id("tv-stalled")).to_be_visible(timeout=LIVE)
    page.screenshot(path=ARTIFACTS / "board-tv-stalled.png")
    assert page.evaluate("window.boardMarker") == "still the same page"  # updated in place, never reloaded


def test_tv_mode_turns_its_pages_and_reads_in_chinese(screen, settings, busy_board):
    settings.QRQC_BOARD_REFRESH_SECONDS = 1
    settings.QRQC_TV_PAGE_SECONDS = 1
    page = screen(locale="zh-CN")
    log_in(page, "qe")
    page.goto("/board/tv/")
    expect(page.get_by_test_id("tv-row").first.get_by_test_id("cell-containment")).to_have_text("黄")
    page.screenshot(path=ARTIFACTS / "board-tv-zh.png")

    expect(page.get_by_test_id("tv-live")).to_have_attribute("data-page", "2", timeout=LIVE)
    expect(page.get_by_test_id("tv-row")).to_have_count(3)  # 13 problems, 10 a page
    expect(page.get_by_test_id("tv-live")).to_have_attribute("data-page", "1", timeout=LIVE)
    expect(page.get_by_test_id("tv-row")).to_have_count(10)


def test_a_tv_that_loses_the_server_says_so_and_recovers(screen, settings, busy_board):
    settings.QRQC_BOARD_REFRESH_SECONDS = 1
    page = screen()
    log_in(page, "qe")
    page.goto("/board/tv/")
    offline = page.get_by_test_id("board-offline")
    expect(offline).to_be_hidden()

    page.route("**/board/tv/rows/**", lambda route: route.abort())
    expect(offline).to_be_visible(timeout=LIVE)
    page.unroute("**/board/tv/rows/**")
    expect(offline).to_be_hidden(timeout=LIVE)
    expect(page.get_by_test_id("tv-row")).to_have_count(10)


def test_a_tv_whose_session_ended_shows_the_login_page_not_a_login_form_inside_the_board(screen, settings, busy_board):
    settings.QRQC_BOARD_REFRESH_SECONDS = 1
    page = screen()
    log_in(page, "qe")
    page.goto("/board/tv/?grade=A")
    expect(page.get_by_test_id("tv-row")).to_have_count(2)

    page.context.clear_cookies()

    expect(page).to_have_url(re.compile(r"/login/\?next=/board/tv/%3Fgrade%3DA"), timeout=LIVE)
    expect(page.get_by_test_id("tv-live")).to_have_count(0)
    expect(page.locator("#id_username")).to_be_visible()
