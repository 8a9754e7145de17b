"""Issue #5 in a real browser: the plant's quality engineer runs today's assembly QRQC meeting
on a tablet from start to minutes: starts it, finds the seeded problems under the right agenda
groups, assigns an owner and a closure date inline, records a decision, sets a board status,
confirms a closure, marks a stand-in and an absence, ends the meeting and reads the minutes.
A team leader follows on a phone and signs in.

Headless Chromium, driven through Playwright against live_server; screenshots land in
test-artifacts/ (meeting-tablet.png, meeting-phone.png, and the minutes).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from issues.models import AgendaItem, Attendance, Meeting, Problem, Role, Source
from tests.browser.conftest import ARTIFACTS, PHONE, log_in
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import graded_problem

pytestmark = pytest.mark.browser
TABLET = {"width": 820, "height": 1180}
HOURS = dt.timedelta(hours=1)


def seeded(world, reporter, grade: str, title: str, *, ago: dt.timedelta, **fields) -> Problem:
    problem = graded_problem(world.line_a1, reporter, grade, occurred_at=timezone.now() - ago)
    Problem.objects.filter(pk=problem.pk).update(title=title, **fields)
    return Problem.objects.get(pk=problem.pk)


@pytest.fixture
def problems(world, team_leader, quality_engineer) -> dict[str, Problem]:
    customer = seeded(world, team_leader, "B", "Customer found scratches", ago=3 * HOURS, source=Source.CUSTOMER)
    burr = seeded(world, team_leader, "C", "Burr on the housing", ago=2 * HOURS)
    closed = seeded(world, team_leader, "C", "Loose connector", ago=5 * HOURS)
    close_without_eightd(closed, user=quality_engineer)
    special = seeded(
        world, team_leader, "C", "Third leak this quarter", ago=20 * 24 * HOURS, special_team_required=True
    )
    return {"customer": customer, "burr": burr, "closed": closed, "special": special}


@pytest.fixture
def expected_too(world):
    """An equipment engineer who will be excused, and a section chief nobody signs for."""
    return [
        make_person("equipment", Role.EQUIPMENT_ENGINEER, plant=world.plant, workshop=world.assembly),
        make_person("chief", Role.INSPECTION_SECTION_CHIEF, plant=world.plant),
    ]


def item(page: Page, problem: Problem):
    return page.locator(f'[data-testid="agenda-item"][data-number="{problem.number}"]')


def attendee(page: Page, username: str):
    return page.locator(f'[data-testid="attendee"][data-person="{username}"]')


def test_a_chair_runs_the_daily_meeting_end_to_end(
    browser, live_server, world, problems, quality_engineer, team_leader, workshop_director, expected_too
):
    tablet_context = browser.new_context(viewport=TABLET, base_url=live_server.url, has_touch=True)
    phone_context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, base_url=live_server.url
    )
    chair, phone = tablet_context.new_page(), phone_context.new_page()
    try:
        log_in(chair, "qe")
        chair.goto("/meetings/")
        chair.get_by_test_id("place").filter(has_text="Assembly").get_by_test_id("start-meeting").click()
        expect(chair.get_by_test_id("meeting")).to_be_visible()

        # The agenda built itself: each seeded problem under its group, in the order of docs/meeting.md §Agenda.
        expect(chair.get_by_test_id("group-customer")).to_contain_text(problems["customer"].number)
        expect(chair.get_by_test_id("group-other")).to_contain_text(problems["burr"].number)
        expect(chair.get_by_test_id("group-other")).to_contain_text(problems["closed"].number)
        expect(chair.get_by_test_id("group-special_team")).to_contain_text(problems["special"].number)
        groups = chair.locator("section.agendagroup").evaluate_all("nodes => nodes.map(n => n.dataset.testid)")
        assert groups == ["group-customer", "group-other", "group-special_team"]

        # The timer runs on its own: server-rendered, then ticked by meeting.js.
        timer = chair.get_by_test_id("meeting-timer")
        expect(timer).to_have_class("timer timer-ok")
        clock = timer.locator(".clock")
        expect(clock).not_to_have_text(clock.inner_text())

        # Owner and closure date, inline (htmx swaps the item in place).
        due = timezone.localtime(timezone.now(), ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=7)
        customer = item(chair, problems["customer"])
        customer.locator('input[name="owner"]').fill("Leader (leader)")
        customer.locator('input[name="due_date"]').fill(due.isoformat())
        customer.get_by_test_id("owner-form").get_by_role("button", name="Save").click()
        expect(customer.get_by_test_id("item-owner")).to_have_text("Leader")
        expect(customer.get_by_test_id("item-due")).to_contain_text(due.isoformat())

        # A decision note.
        customer.locator('textarea[name="decision"]').fill("Sort the stock at the customer; 8D by Friday")
        customer.get_by_role("button", name="Record decision").click()
        expect(customer.get_by_test_id("item-decision")).to_have_text("Sort the stock at the customer; 8D by Friday")

        # A board status for a problem without an 8D.
        burr = item(chair, problems["burr"])
        burr.locator("summary", has_text="Board status").click()
        burr.get_by_test_id("board-form").locator('input[name="containment"][value="green"] + .rag').click()
        burr.get_by_test_id("board-form").locator('input[name="root_cause"][value="yellow"] + .rag').click()
        burr.get_by_role("button", name="Save board status").click()
        expect(burr.locator(".steps li").first).to_have_class("rag rag-green")
        expect(burr.locator(".steps li").nth(1)).to_have_class("rag rag-yellow")

        # The meeting confirms a closure.
        closed = item(chair, problems["closed"])
        closed.get_by_role("button", name="Confirm closure").click()
        expect(closed.get_by_test_id("closure-confirmed")).to_be_visible()

        # Sign-in sheet: the director sends a stand-in, the equipment engineer is excused.
        director = attendee(chair, "director")
        director.locator("summary", has_text="Stand-in").click()
        director.locator('input[name="stand_in"]').fill("王伟")
        director.get_by_test_id("mark-stand-in").click()
        expect(attendee(chair, "director").get_by_test_id("attendance-state")).to_have_text("Stand-in")
        expect(attendee(chair, "director")).to_contain_text("王伟")
        attendee(chair, "equipment").get_by_test_id("mark-absent").click()
        expect(attendee(chair, "equipment").get_by_test_id("attendance-state")).to_have_text("Absent, excused")
        chair.evaluate("window.scrollTo(0, 0)")
        chair.screenshot(path=ARTIFACTS / "meeting-tablet.png")
        chair.screenshot(path=ARTIFACTS / "meeting-tablet-full.png", full_page=True)

        # The team leader follows on a phone and signs in.
        meeting = Meeting.objects.get()
        log_in(phone, "leader")
        phone.goto(f"/meetings/{meeting.pk}/")
        expect(phone.get_by_test_id("agenda-item")).to_have_count(4)
        expect(phone.get_by_test_id("owner-form")).to_have_count(0)
        phone.get_by_test_id("i-am-here").click()
        expect(attendee(phone, "leader").get_by_test_id("attendance-state")).to_have_text("Present")
        phone.evaluate("window.scrollTo(0, 0)")
        phone.screenshot(path=ARTIFACTS / "meeting-phone.png")
        phone.screenshot(path=ARTIFACTS / "meeting-phone-full.png", full_page=True)

        # The chair ends the meeting and reads the minutes.
        chair.get_by_test_id("go-end").click()
        chair.get_by_test_id("end-form").locator("textarea").fill("Good meeting")
        chair.get_by_test_id("end-meeting").click()
        minutes = chair.get_by_test_id("minutes")
        expect(minutes).to_be_visible()
        expect(minutes).to_contain_text("Sort the stock at the customer; 8D by Friday")
        expect(minutes).to_contain_text("closure confirmed")
        expect(chair.get_by_test_id("minutes-attendance")).to_contain_text("Stand-in 1")
        expect(chair.get_by_test_id("minutes-attendance")).to_contain_text("Absent, excused 1")
        expect(chair.get_by_test_id("minutes-attendance")).to_contain_text("Absent without leave 1")
        chair.screenshot(path=ARTIFACTS / "meeting-minutes-tablet.png", full_page=True)
        chair.goto("/meetings/")
        expect(chair.get_by_test_id("minutes-link")).to_have_count(1)
    finally:
        tablet_context.close()
        phone_context.close()

    # What the meeting wrote, with its history.
    customer = Problem.objects.get(pk=problems["customer"].pk)
    assert (customer.owner, customer.due_date) == (team_leader, due)
    assert customer.decision == "Sort the stock at the customer; 8D by Friday"
    reasons = list(
        customer.history.filter(history_user=quality_engineer).values_list("history_change_reason", flat=True)
    )
    assert any(reason.endswith(": owner and due date assigned") for reason in reasons)
    assert any(reason.endswith(": decision") for reason in reasons)
    assert Problem.objects.get(pk=problems["burr"].pk).board_status == {"containment": "green", "root_cause": "yellow"}
    assert AgendaItem.objects.get(problem=problems["closed"]).closure_confirmed_at is not None
    meeting = Meeting.objects.get()
    assert (meeting.state, meeting.notes) == (Meeting.State.ENDED, "Good meeting")
    states = dict(meeting.attendances.values_list("person__username", "state"))
    assert states == {
        "qe": Attendance.State.PRESENT,
        "leader": Attendance.State.PRESENT,
        "director": Attendance.State.STAND_IN,
        "equipment": Attendance.State.ABSENT,
        "chief": Attendance.State.ABSENT_WITHOUT_LEAVE,
    }
    assert meeting.attendances.get(person=workshop_director).stand_in_name == "王伟"
