"""The "Status and owner" card on the problem page (issues/problems/lifecycle_views.py): rights per role,
assigning an owner and a closure date, the manual stages, closing with the D7 checklist,
cancelling as a duplicate, reopening, the history it leaves, the list's owner filters, and
the no-owner flag's rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from issues.eightd import solving
from issues.eightd.rules import CHECKLIST, checklist_from
from issues.models import Problem, Role
from issues.problems import lifecycle
from issues.problems.flags import closure_overdue, days_without_owner
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import complete_report, graded_problem, valid_content

pytestmark = pytest.mark.django_db

Status = Problem.Status
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
TWO_DAYS = dt.timedelta(days=2)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def c_problem(world, team_leader) -> Problem:
    """A C problem (the plant needs no 8D for it), contained."""
    problem = graded_problem(world.line_a1, team_leader, "C")
    lifecycle.contain(problem, action="Sorted the batch", done_by="line", quantity_secured=20, user=team_leader)
    return fresh(problem)


@pytest.fixture
def a_problem(world, team_leader) -> Problem:
    return graded_problem(world.line_a1, team_leader, "A")


def fresh(problem: Problem) -> Problem:
    return Problem.objects.get(pk=problem.pk)


def url(name: str, problem: Problem, *args) -> str:
    return reverse(name, args=[problem.pk, *args])


def as_user(client, user):
    client.force_login(user)
    return client


def today() -> dt.date:
    """Today where the test plant is (conftest: Asia/Shanghai)."""
    return timezone.localtime(timezone.now(), ZoneInfo("Asia/Shanghai")).date()


def checklist_post(**overrides) -> dict:
    """Every document not applicable with a reason, unless `overrides` say otherwise."""
    data = {}
    for item in CHECKLIST:
        data[f"close-{item}_status"] = "na"
        data[f"close-{item}_reason"] = "no such document for this part"
    data.update({f"close-{key}": value for key, value in overrides.items()})
    return data


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "assigns", "closes"),
    [
        ("quality_engineer", 302, 302),
        ("team_leader", 403, 403),
        ("workshop_director", 302, 403),
        ("general_manager", 302, 403),
        ("operator", 403, 403),
        ("outsider", 404, 404),
    ],
)
def test_each_role_may_assign_and_close_only_as_its_rights_say(
    request, client, c_problem, team_leader, persona, assigns, closes
):
    as_user(client, request.getfixturevalue(persona))

    assigned = client.post(
        url("problems:assign", c_problem), {"assign-owner": team_leader.pk, "assign-due_date": today().isoformat()}
    )
    closed = client.post(url("problems:close", c_problem), {"close-cause_note": "Worn tool", **checklist_post()})

    assert (assigned.status_code, closed.status_code) == (assigns, closes)
    problem = fresh(c_problem)
    assert (problem.owner_id == team_leader.pk) == (assigns == 302)
    assert (problem.status == Status.CLOSED) == (closes == 302)


def test_a_signed_out_visitor_is_sent_to_the_login_page(client, c_problem):
    for name in ("problems:assign", "problems:close", "problems:cancel", "problems:reopen"):
        response = client.post(url(name, c_problem))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_actions_need_a_post_with_a_csrf_token(c_problem, quality_engineer):
    client = as_user(Client(enforce_csrf_checks=True), quality_engineer)

    assert client.get(url("problems:close", c_problem)).status_code == 405
    refused = client.post(url("problems:close", c_problem), {"close-cause_note": "Worn tool", **checklist_post()})

    assert refused.status_code == 403
    assert fresh(c_problem).status == Status.CONTAINED


def test_the_problem_page_offers_each_person_only_the_actions_they_may_take(client, c_problem, team_leader):
    page = as_user(client, team_leader).get(url("problems:detail", c_problem)).content.decode()

    assert 'data-testid="lifecycle"' in page
    assert 'data-testid="close-form"' not in page and 'data-testid="assign-form"' not in page
    assert 'data-testid="stage-cause"' not in page  # not the owner, no chair's or quality right


# --- owner and closure date -----------------------------------------------------------------


def test_the_chair_assigns_an_owner_and_a_closure_date_and_the_page_shows_them(
    client, c_problem, workshop_director, team_leader
):
    due = today() + dt.timedelta(days=5)
    response = as_user(client, workshop_director).post(
        url("problems:assign", c_problem), {"assign-owner": team_leader.pk, "assign-due_date": due.isoformat()}
    )

    assert response.status_code == 302
    problem = fresh(c_problem)
    assert (problem.owner, problem.due_date) == (team_leader, due)
    page = client.get(url("problems:detail", c_problem)).content.decode()
    assert "Leader" in page and due.isoformat() in page
    assert 'data-testid="no-owner-flag"' not in page


def test_an_owner_from_another_plant_is_refused(client, c_problem, quality_engineer, outsider):
    response = as_user(client, quality_engineer).post(
        url("problems:assign", c_problem), {"assign-owner": outsider.pk, "assign-due_date": today().isoformat()}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert fresh(c_problem).owner is None


def test_a_closure_date_in_the_past_is_refused_with_a_clear_error(client, c_problem, quality_engineer, team_leader):
    yesterday = today() - dt.timedelta(days=1)
    response = as_user(client, quality_engineer).post(
        url("problems:assign", c_problem), {"assign-owner": team_leader.pk, "assign-due_date": yesterday.isoformat()}
    )

    assert response.status_code == 400
    assert f"The closure date cannot be before today ({today().isoformat()})." in response.content.decode()
    assert fresh(c_problem).owner is None


def test_an_overdue_date_may_stay_when_only_the_owner_changes(client, c_problem, quality_engineer, team_leader):
    overdue = today() - dt.timedelta(days=3)
    Problem.objects.filter(pk=c_problem.pk).update(due_date=overdue)

    page = as_user(client, quality_engineer).get(url("problems:detail", c_problem)).content.decode()
    response = client.post(
        url("problems:assign", c_problem), {"assign-owner": team_leader.pk, "assign-due_date": overdue.isoformat()}
    )

    assert 'data-testid="overdue-flag"' in page
    assert response.status_code == 302
    assert fresh(c_problem).owner == team_leader


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("problems:assign", {"assign-owner": "99999999999999999999999", "assign-due_date": "2099-01-01"}),
        ("problems:assign", {"assign-owner": "abc", "assign-due_date": "2099-01-01"}),
        ("problems:assign", {"assign-owner": "", "assign-due_date": "not a date"}),
        ("problems:cancel", {"cancel-number": "TP1\x00"}),
        ("problems:cancel", {"cancel-number": "x" * 41}),
        ("problems:close", {"close-cause_note": "Tool", "close-pfmea_status": "maybe"}),
    ],
)
def test_malformed_input_is_a_400_never_a_server_error(client, c_problem, quality_engineer, name, data):
    response = as_user(client, quality_engineer).post(url(name, c_problem), data)

    assert response.status_code == 400
    assert fresh(c_problem).status == Status.CONTAINED


# --- the manual stages ----------------------------------------------------------------------


def test_the_owner_moves_a_problem_without_an_8d_through_its_stages(client, c_problem, operator, quality_engineer):
    lifecycle.assign_owner(c_problem, user=quality_engineer, owner=operator, due_date=None)
    as_user(client, operator)

    no_note = client.post(url("problems:stage", c_problem, "cause"), {"cause-text": "  "})
    assert no_note.status_code == 400 and fresh(c_problem).status == Status.CONTAINED

    steps = [
        ("cause", {"cause-text": "Worn deburring tool"}, Status.ANALYSED),
        ("actions", {}, Status.ACTING),
        ("verify", {}, Status.VERIFYING),
        ("failed", {"failed-text": "Burrs on the next batch"}, Status.ACTING),
    ]
    for action, data, status in steps:
        assert client.post(url("problems:stage", c_problem, action), data).status_code == 302
        assert fresh(c_problem).status == status
    assert fresh(c_problem).cause_note == "Worn deburring tool"


def test_a_stage_that_does_not_follow_from_the_status_is_refused_with_its_reason(client, c_problem, quality_engineer):
    response = as_user(client, quality_engineer).post(url("problems:stage", c_problem, "verify"))

    assert response.status_code == 400
    assert "cannot become" in response.content.decode()
    assert fresh(c_problem).status == Status.CONTAINED


def test_someone_who_is_neither_owner_nor_chair_may_not_move_the_stages(client, c_problem, operator):
    response = as_user(client, operator).post(url("problems:stage", c_problem, "cause"), {"cause-text": "Tool"})

    assert response.status_code == 403
    assert fresh(c_problem).status == Status.CONTAINED


def test_a_problem_with_an_8d_moves_by_its_8d_and_says_so(client, a_problem, quality_engineer):
    lifecycle.contain(a_problem, action="Sorted", done_by="line", quantity_secured=0, user=quality_engineer)
    solving.start_report(a_problem, user=quality_engineer)
    as_user(client, quality_engineer)

    page = client.get(url("problems:detail", a_problem)).content.decode()
    refused = client.post(url("problems:stage", a_problem, "cause"), {"cause-text": "Tool"})

    assert 'data-testid="moves-by-8d"' in page and 'data-testid="stage-cause"' not in page
    assert refused.status_code == 400
    assert "This problem moves on as its 8D answers are accepted." in refused.content.decode()
    assert fresh(a_problem).status == Status.CONTAINED


# --- closing --------------------------------------------------------------------------------


def test_a_c_problem_closes_with_a_cause_note_and_the_checklist(client, c_problem, quality_engineer):
    data = {"close-cause_note": "Worn deburring tool", **checklist_post()}
    data.update({"close-pfmea_status": "updated", "close-pfmea_reference": "PFMEA-12 rev C", "close-pfmea_reason": ""})

    response = as_user(client, quality_engineer).post(url("problems:close", c_problem), data)

    assert response.status_code == 302
    problem = fresh(c_problem)
    assert problem.status == Status.CLOSED
    assert problem.cause_note == "Worn deburring tool"
    assert problem.closure_checklist["pfmea"] == {"status": "updated", "reference": "PFMEA-12 rev C", "reason": ""}
    assert problem.closure_checklist["dfmea"]["status"] == "na"
    page = client.get(url("problems:detail", c_problem)).content.decode()
    assert 'data-testid="closed-checklist"' in page and "PFMEA-12 rev C" in page
    assert 'data-testid="close-form"' not in page and 'data-testid="reopen-form"' in page
    history = page.split('class="history"', 1)[1]
    assert "status: Contained → Closed" in history
    assert "closure checklist" not in history and "{&#x27;" not in history  # shown in the card, not as JSON


def test_an_updated_document_without_its_reference_is_a_400_and_nothing_changes(client, c_problem, quality_engineer):
    data = {"close-cause_note": "Worn deburring tool", **checklist_post(control_plan_status="updated")}

    response = as_user(client, quality_engineer).post(url("problems:close", c_problem), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("Give the reference of the updated document.") == 1
    assert "Worn deburring tool" in page  # the input is kept
    problem = fresh(c_problem)
    assert (problem.status, problem.cause_note, problem.closure_checklist) == (Status.CONTAINED, "", {})


def test_a_document_left_without_a_choice_is_named_on_its_row(client, c_problem, quality_engineer):
    data = {"close-cause_note": "Tool", **checklist_post(work_instruction_status="")}

    response = as_user(client, quality_engineer).post(url("problems:close", c_problem), data)

    assert response.status_code == 400
    assert "Updated or not applicable?" in response.content.decode()


def test_an_a_problem_without_an_8d_cannot_close_and_the_page_says_why(client, a_problem, quality_engineer):
    lifecycle.contain(a_problem, action="Sorted", done_by="line", quantity_secured=0, user=quality_engineer)
    as_user(client, quality_engineer)

    page = client.get(url("problems:detail", a_problem)).content.decode()
    response = client.post(url("problems:close", a_problem), checklist_post())

    assert 'data-testid="closure-blockers"' in page and "This grade needs an 8D report." in page
    assert 'data-testid="close-form"' not in page
    assert response.status_code == 400
    assert "This grade needs an 8D report." in response.content.decode()
    assert fresh(a_problem).status == Status.CONTAINED


def test_an_8d_problem_closes_with_the_checklist_of_its_d7_once_nothing_is_missing(
    client, a_problem, quality_engineer, general_manager
):
    complete_report(a_problem, quality_engineer, general_manager)
    as_user(client, quality_engineer)

    page = client.get(url("problems:detail", a_problem)).content.decode()
    response = client.post(url("problems:close", a_problem))

    assert 'data-testid="closure-ready"' in page and "The D7 checklist comes from the 8D report." in page
    assert response.status_code == 302
    problem = fresh(a_problem)
    assert problem.status == Status.CLOSED
    assert problem.closure_checklist == checklist_from(valid_content("D7", [quality_engineer, general_manager]))


# --- cancel as a duplicate, reopen ----------------------------------------------------------


def test_a_problem_is_cancelled_as_a_duplicate_and_both_pages_link_each_other(
    client, world, c_problem, team_leader, quality_engineer
):
    kept = graded_problem(world.line_a1, team_leader, "C")
    as_user(client, quality_engineer)

    response = client.post(url("problems:cancel", c_problem), {"cancel-number": kept.number, "cancel-reason": "same"})

    assert response.status_code == 302
    problem = fresh(c_problem)
    assert (problem.status, problem.duplicate_of) == (Status.CANCELLED, kept)
    cancelled_page = client.get(url("problems:detail", c_problem)).content.decode()
    kept_page = client.get(url("problems:detail", kept)).content.decode()
    assert url("problems:detail", kept) in cancelled_page
    assert c_problem.number in kept_page.split('data-testid="lifecycle-duplicates"')[1]


def test_a_kept_problem_of_another_plant_is_refused(client, other_world, c_problem, quality_engineer, outsider):
    elsewhere = graded_problem(other_world.line_a1, outsider, "C")

    response = as_user(client, quality_engineer).post(
        url("problems:cancel", c_problem), {"cancel-number": elsewhere.number}
    )

    assert response.status_code == 400
    assert "No problem with this number that you can see." in response.content.decode()
    assert fresh(c_problem).status == Status.CONTAINED


def test_the_plant_rule_of_cancelling_shows_as_a_refusal(client, other_world, c_problem, outsider):
    """A person who sees both plants still cannot cancel across them: the verb refuses."""
    elsewhere = graded_problem(other_world.line_a1, outsider, "C")
    admin = make_person("admin", None)
    admin.is_superuser = True
    admin.save()

    response = as_user(client, admin).post(url("problems:cancel", c_problem), {"cancel-number": elsewhere.number})

    assert response.status_code == 400
    assert "Choose another problem of the same plant." in response.content.decode()
    assert fresh(c_problem).status == Status.CONTAINED


def test_reopening_needs_a_reason(client, c_problem, quality_engineer):
    close_without_eightd(c_problem, user=quality_engineer)

    response = as_user(client, quality_engineer).post(url("problems:reopen", c_problem), {"reopen-text": " "})

    assert response.status_code == 400
    assert fresh(c_problem).status == Status.CLOSED


def test_the_history_shows_who_reopened_and_why(client, c_problem, quality_engineer):
    close_without_eightd(c_problem, user=quality_engineer)

    response = as_user(client, quality_engineer).post(
        url("problems:reopen", c_problem), {"reopen-text": "Customer found burrs"}
    )

    assert response.status_code == 302
    assert fresh(c_problem).status == Status.OPEN
    page = client.get(url("problems:detail", c_problem)).content.decode()
    history = page.split('class="history"')[1]
    entry = next(item for item in history.split("<li>") if "reopened: Customer found burrs" in item)
    assert "Qe" in entry  # the quality engineer's display name


def test_a_team_leader_may_not_reopen_or_cancel(client, world, c_problem, team_leader, quality_engineer):
    kept = graded_problem(world.line_a1, team_leader, "C")
    as_user(client, team_leader)

    assert client.post(url("problems:cancel", c_problem), {"cancel-number": kept.number}).status_code == 403
    close_without_eightd(c_problem, user=quality_engineer)
    assert client.post(url("problems:reopen", c_problem), {"reopen-text": "Why"}).status_code == 403
    assert fresh(c_problem).status == Status.CLOSED


# --- the problem list -----------------------------------------------------------------------


def listed(client, query: str) -> set[str]:
    response = client.get(reverse("problems:list") + query)
    assert response.status_code == 200
    return {problem.number for problem in response.context["page"]}


def test_the_list_filters_problems_without_an_owner_and_overdue_ones(client, world, team_leader, quality_engineer):
    owned, unowned, late, late_but_closed = (graded_problem(world.line_a1, team_leader, "C") for _ in range(4))
    yesterday = today() - dt.timedelta(days=1)
    for problem in (owned, late, late_but_closed):
        lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=today())
    Problem.objects.filter(pk__in=[late.pk, late_but_closed.pk]).update(due_date=yesterday)
    close_without_eightd(late_but_closed, user=quality_engineer)
    as_user(client, quality_engineer)

    assert listed(client, "?no_owner=true") == {unowned.number}
    assert listed(client, "?overdue=true") == {late.number}
    assert listed(client, f"?owner={team_leader.pk}") == {owned.number, late.number, late_but_closed.number}
    page = client.get(reverse("problems:list")).content.decode()
    assert page.count('data-testid="no-owner-flag"') == 1  # the unowned one, logged long ago
    assert page.count('data-testid="overdue-flag"') == 1


def test_the_owner_filter_offers_only_people_of_the_readers_plants(client, quality_engineer, outsider):
    response = as_user(client, quality_engineer).get(reverse("problems:list") + f"?owner={outsider.pk}")

    assert response.status_code == 200
    assert "owner" in response.context["filter"].form.errors


# --- the rules behind the flags -------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "has_owner", "status", "flag"),
    [
        (TWO_DAYS - SECOND, False, Status.OPEN, None),
        (TWO_DAYS, False, Status.OPEN, 2),
        (TWO_DAYS + dt.timedelta(days=1), False, Status.CONTAINED, 3),
        (TWO_DAYS, True, Status.OPEN, None),
        (TWO_DAYS, False, Status.CLOSED, None),
        (TWO_DAYS, False, Status.CANCELLED, None),
    ],
)
def test_the_no_owner_flag_rises_at_exactly_two_days(age, has_owner, status, flag):
    occurred = NOW - age
    assert days_without_owner(status=status, has_owner=has_owner, occurred_at=occurred, plan={}, now=NOW) == flag


def test_the_no_owner_flag_follows_the_plants_no_owner_alarm():
    plan = {"alarms": [{"kind": "no_owner", "after_minutes": 60}, {"kind": "rejected_twice", "after_minutes": None}]}

    def flag(age):
        return days_without_owner(status=Status.OPEN, has_owner=False, occurred_at=NOW - age, plan=plan, now=NOW)

    assert flag(dt.timedelta(minutes=59)) is None
    assert flag(dt.timedelta(minutes=60)) == 0


@pytest.mark.parametrize(
    ("due", "status", "overdue"),
    [
        (NOW.date() - dt.timedelta(days=1), Status.ACTING, True),
        (NOW.date(), Status.ACTING, False),
        (None, Status.ACTING, False),
        (NOW.date() - dt.timedelta(days=1), Status.CLOSED, False),
    ],
)
def test_a_closure_date_is_overdue_from_the_next_day_on_until_closed(due, status, overdue):
    assert closure_overdue(status=status, due_date=due, today=NOW.date()) == overdue


def test_a_line_scoped_reader_sees_the_card_but_no_duplicate_outside_their_lines(
    client, world, c_problem, quality_engineer
):
    """A duplicate on another line stays out of the kept problem's list for a line-scoped reader."""
    other_line = graded_problem(world.line_m1, quality_engineer, "C")
    lifecycle.cancel_as_duplicate(other_line, user=quality_engineer, duplicate_of=c_problem)
    leader = make_person("leader2", Role.TEAM_LEADER, plant=world.plant, line=world.line_a1)

    page = as_user(client, leader).get(url("problems:detail", c_problem)).content.decode()

    assert 'data-testid="lifecycle"' in page
    assert other_line.number not in page
