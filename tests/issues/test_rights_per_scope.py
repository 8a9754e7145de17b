"""A right comes from a role and holds only within that role's scope: people with roles in two
places act in each as that place's role allows, in the pages, the meeting and the API.

The people are the issue's: a quality engineer of plant XA2 who is also team leader of SZ1's
line a1 (`dual`), a quality engineer of line m1 who is an operator of line a1, and workshop
directors and plant roles chairing meetings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from issues.common.scope import assign_role
from issues.eightd import solving
from issues.models import AgendaItem, Containment, EightDReport, Meeting, Problem, Role, Section
from issues.problems import lifecycle
from tests.conftest import NOT_APPLICABLE_CHECKLIST, make_person
from tests.issues.eightd_factory import clean_answer, graded_problem, valid_content
from tests.issues.mixed_roles import checklist_post, contained, qe_of_xa2_leading_sz1_a1, take_from_role

pytestmark = pytest.mark.django_db

Status = Problem.Status
RECENT = dt.timedelta(hours=2)


@pytest.fixture
def engineers(plants):
    """A plant-wide quality engineer in each plant: starts 8D reports and writes answers."""
    return {code: make_person(f"{code}-qe", Role.QUALITY_ENGINEER, plant=world.plant) for code, world in plants.items()}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def today() -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo("Asia/Shanghai")).date()


def fresh(problem: Problem) -> Problem:
    return Problem.objects.get(pk=problem.pk)


# --- the problem's lifecycle: (a) the quality engineer of XA2 who leads a line of SZ1 ----------

# action → (url name and extra args, what is posted, whether it was done)
LIFECYCLE = {
    "close": (
        ("problems:close",),
        lambda ctx: {"close-cause_note": "Worn tool", **checklist_post()},
        lambda problem, ctx: problem.status == Status.CLOSED,
    ),
    "cancel": (
        ("problems:cancel",),
        lambda ctx: {"cancel-number": ctx["kept"].number, "cancel-reason": "the same burr"},
        lambda problem, ctx: problem.status == Status.CANCELLED,
    ),
    "assign": (
        ("problems:assign",),
        lambda ctx: {"assign-owner": ctx["owner"].pk, "assign-due_date": today().isoformat()},
        lambda problem, ctx: problem.owner_id == ctx["owner"].pk,
    ),
    "move a stage": (
        ("problems:stage", "cause"),
        lambda ctx: {"cause-text": "Worn deburring tool"},
        lambda problem, ctx: problem.status == Status.ANALYSED,
    ),
}


@pytest.mark.parametrize("action", LIFECYCLE)
@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_a_quality_engineer_of_one_plant_leading_a_line_of_another_acts_only_in_their_own_plant(
    plants, dual, leaders, action, plant, allowed
):
    world, leader = plants[plant], leaders[plant]
    problem = contained(world.line_a1, leader)
    context = {"kept": graded_problem(world.line_a1, leader, "C"), "owner": leader}
    (name, *args), data, done = LIFECYCLE[action]

    response = as_user(dual).post(reverse(name, args=[problem.pk, *args]), data(context))

    assert response.status_code == (302 if allowed else 403)
    assert done(fresh(problem), context) == allowed


@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_reopen_only_their_own_plants_closed_problems(plants, dual, leaders, engineers, plant, allowed):
    problem = contained(plants[plant].line_a1, leaders[plant])
    lifecycle.close_problem(problem, user=engineers[plant], checklist=NOT_APPLICABLE_CHECKLIST, cause_note="tool")

    response = as_user(dual).post(reverse("problems:reopen", args=[problem.pk]), {"reopen-text": "It came back"})

    assert response.status_code == (302 if allowed else 403)
    assert (fresh(problem).status == Status.OPEN) == allowed


def test_the_problem_page_offers_them_no_action_of_the_quality_department_in_the_other_plant(plants, dual, leaders):
    problem = contained(plants["sz1"].line_a1, leaders["sz1"])

    context = as_user(dual).get(reverse("problems:detail", args=[problem.pk])).context

    assert not context.get("can_close") and "assign_form" not in context and "cancel_form" not in context
    assert context["can_contain"]  # what a team leader of the line may do stays


# --- the 8D -----------------------------------------------------------------------------------


@pytest.fixture
def reports(plants, leaders, engineers):
    """An A problem on a1 in each plant, its 8D started by the plant's quality engineer, whose
    D0 answer waits for review."""
    found = {}
    for code, world in plants.items():
        problem = graded_problem(world.line_a1, leaders[code], "A")
        report = solving.start_report(problem, user=engineers[code])
        section = Section.objects.get(report=report, code="D0")
        content = clean_answer(problem, "D0", valid_content("D0", [engineers[code]]))
        solving.submit(section, user=engineers[code], content=content)
        found[code] = report
    return found


@pytest.mark.parametrize(
    ("action", "data", "state"),
    [
        ("accept", {"accept-text": "Good"}, Section.State.ACCEPTED),
        ("return", {"return-text": "Vague"}, Section.State.RETURNED),
    ],
)
@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_review_8d_answers_only_in_their_own_plant(dual, reports, action, data, state, plant, allowed):
    report = reports[plant]

    response = as_user(dual).post(reverse("eightd:section_action", args=[report.problem_id, "D0", action]), data)

    assert response.status_code == (302 if allowed else 403)
    assert (Section.objects.get(report=report, code="D0").state == state) == allowed


@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_edit_the_8d_header_only_in_their_own_plant(dual, reports, plant, allowed):
    report = reports[plant]

    response = as_user(dual).post(
        reverse("eightd:header", args=[report.problem_id]),
        {"customer": "ACME", "part_number": "4711", "part_name": "X"},
    )

    assert response.status_code == (302 if allowed else 403)
    assert (EightDReport.objects.get(pk=report.pk).customer == "ACME") == allowed


@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_start_an_8d_only_in_their_own_plant(plants, dual, leaders, plant, allowed):
    problem = graded_problem(plants[plant].line_a1, leaders[plant], "A")

    response = as_user(dual).post(reverse("eightd:start", args=[problem.pk]))

    assert response.status_code == (302 if allowed else 403)
    assert EightDReport.objects.filter(problem=problem).exists() == allowed


# --- (b) a quality engineer of one line who is an operator of another ---------------------------


@pytest.fixture
def m1_engineer(plants):
    world = plants["sz1"]
    user = make_person("m1-qe", Role.QUALITY_ENGINEER, plant=world.plant, line=world.line_m1)
    assign_role(user, Role.OPERATOR, plant=world.plant, line=world.line_a1)
    return user


@pytest.mark.parametrize(("line", "allowed"), [("line_m1", True), ("line_a1", False)])
def test_a_line_quality_engineer_who_operates_another_line_closes_only_on_their_own_line(
    plants, leaders, m1_engineer, line, allowed
):
    problem = contained(getattr(plants["sz1"], line), leaders["sz1"])
    client = as_user(m1_engineer)

    closed = client.post(
        reverse("problems:close", args=[problem.pk]), {"close-cause_note": "Worn tool", **checklist_post()}
    )

    assert closed.status_code == (302 if allowed else 403)
    assert (fresh(problem).status == Status.CLOSED) == allowed


# --- (c) the meeting: who chairs which --------------------------------------------------------


def _people(plants) -> dict:
    sz1, xa2 = plants["sz1"], plants["xa2"]
    director = make_person("director", Role.WORKSHOP_DIRECTOR, plant=sz1.plant, workshop=sz1.assembly)
    director_elsewhere = make_person("xa2-director", Role.WORKSHOP_DIRECTOR, plant=xa2.plant, workshop=xa2.assembly)
    assign_role(director_elsewhere, Role.OPERATOR, plant=sz1.plant)
    return {
        "workshop director of SZ1 assembly": director,
        "production manager of SZ1": make_person("pm", Role.PRODUCTION_MANAGER, plant=sz1.plant),
        "quality engineer of SZ1 line a1": make_person(
            "a1-qe", Role.QUALITY_ENGINEER, plant=sz1.plant, line=sz1.line_a1
        ),
        "XA2 director, SZ1 operator": director_elsewhere,
        "XA2 quality engineer, SZ1 a1 leader": qe_of_xa2_leading_sz1_a1(sz1, xa2),
    }


@pytest.mark.parametrize(
    ("persona", "plant_meeting", "assembly", "machining"),
    [
        ("workshop director of SZ1 assembly", 403, 302, 403),
        ("production manager of SZ1", 302, 302, 302),
        ("quality engineer of SZ1 line a1", 403, 403, 403),
        ("XA2 director, SZ1 operator", 403, 403, 403),
        ("XA2 quality engineer, SZ1 a1 leader", 403, 403, 403),
    ],
)
def test_a_meeting_is_chaired_by_a_chair_role_over_its_workshop_or_plant(
    plants, persona, plant_meeting, assembly, machining
):
    sz1 = plants["sz1"]
    client = as_user(_people(plants)[persona])

    started = {
        place: client.post(reverse("meetings:start"), {"plant": sz1.plant.pk, **workshop}).status_code
        for place, workshop in (
            ("plant", {}),
            ("assembly", {"workshop": sz1.assembly.pk}),
            ("machining", {"workshop": sz1.machining.pk}),
        )
    }

    assert started == {"plant": plant_meeting, "assembly": assembly, "machining": machining}
    assert Meeting.objects.filter(plant=sz1.plant).count() == [plant_meeting, assembly, machining].count(302)


@pytest.fixture
def director_and_xa2_engineer(plants):
    """Workshop director of SZ1 assembly (chairs its meeting) and quality engineer of XA2 (closes there)."""
    sz1, xa2 = plants["sz1"], plants["xa2"]
    user = make_person("director-qe", Role.WORKSHOP_DIRECTOR, plant=sz1.plant, workshop=sz1.assembly)
    assign_role(user, Role.QUALITY_ENGINEER, plant=xa2.plant)
    return user


def test_the_chair_of_a_workshop_meeting_confirms_no_closure_the_quality_department_has_not_made(
    plants, leaders, director_and_xa2_engineer
):
    problem = contained(plants["sz1"].line_a1, leaders["sz1"], occurred_at=timezone.now() - RECENT)
    Problem.objects.filter(pk=problem.pk).update(cause_note="Worn tool", closure_checklist=NOT_APPLICABLE_CHECKLIST)
    client = as_user(director_and_xa2_engineer)
    started = client.post(
        reverse("meetings:start"), {"plant": plants["sz1"].plant.pk, "workshop": plants["sz1"].assembly.pk}
    )
    meeting = Meeting.objects.get()
    item = AgendaItem.objects.get(meeting=meeting, problem=problem)

    decided = client.post(reverse("meetings:item", args=[meeting.pk, item.pk, "decision"]), {"decision": "Close it"})
    confirmed = client.post(reverse("meetings:item", args=[meeting.pk, item.pk, "closure"]))

    assert started.status_code == decided.status_code == 302  # they chair it
    assert confirmed.status_code == 400
    assert "only the quality department closes" in confirmed.content.decode()
    assert fresh(problem).status == Status.CONTAINED
    assert AgendaItem.objects.get(pk=item.pk).closure_confirmed_at is None


def test_a_chair_role_whose_group_lost_the_right_chairs_nothing_even_with_another_role_that_has_it(
    plants, director_and_xa2_engineer
):
    take_from_role(Role.WORKSHOP_DIRECTOR, "run_meeting")
    client = as_user(director_and_xa2_engineer)

    sz1_assembly = client.post(
        reverse("meetings:start"), {"plant": plants["sz1"].plant.pk, "workshop": plants["sz1"].assembly.pk}
    )
    xa2_plant = client.post(reverse("meetings:start"), {"plant": plants["xa2"].plant.pk})

    assert (sz1_assembly.status_code, xa2_plant.status_code) == (403, 302)
    assert list(Meeting.objects.values_list("plant__code", "workshop")) == [("xa2", None)]


# --- an admin's edit of a role's group counts, for seeing and reporting too ---------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_a_role_whose_group_cannot_read_problems_shows_none_of_its_lines(plants, dual, leaders):
    theirs = graded_problem(plants["sz1"].line_a1, leaders["sz1"], "C")
    ours = graded_problem(plants["xa2"].line_a1, leaders["xa2"], "C")
    take_from_role(Role.TEAM_LEADER, "view_problem")
    api, web = api_for(dual), as_user(dual)

    listed = {item["number"] for item in api.get("/api/v1/problems/").json()["results"]}

    assert listed == {ours.number}
    assert api.get(f"/api/v1/problems/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/problems/{ours.pk}/").status_code == 200
    assert {problem.number for problem in web.get(reverse("problems:list")).context["page"]} == {ours.number}
    assert web.get(reverse("problems:detail", args=[theirs.pk])).status_code == 404


def intake(line) -> dict:
    return {
        "line": line.pk,
        "category": "quality",
        "title": "Burr",
        "occurred_at": (timezone.now() - RECENT).isoformat(),
        "facts": {"defect_class": "A", "defect_count": 3},
    }


def test_a_role_whose_group_cannot_report_offers_none_of_its_lines_to_report_on(plants, dual):
    take_from_role(Role.TEAM_LEADER, "add_problem")
    api = api_for(dual)

    refused = api.post("/api/v1/problems/", intake(plants["sz1"].line_a1), format="json")
    accepted = api.post("/api/v1/problems/", intake(plants["xa2"].line_a1), format="json")
    form_lines = set(as_user(dual).get(reverse("problems:new")).context["form"].fields["line"].queryset)

    assert refused.status_code == 400 and "line" in refused.json()
    assert accepted.status_code == 201
    assert list(Problem.objects.values_list("plant__code", flat=True)) == ["xa2"]
    assert form_lines == {plants["xa2"].line_a1, plants["xa2"].line_a2, plants["xa2"].line_m1}


def test_by_default_the_team_leader_reports_and_contains_on_their_line_of_the_other_plant(plants, dual, leaders):
    created = api_for(dual).post("/api/v1/problems/", intake(plants["sz1"].line_a1), format="json")
    problem = Problem.objects.get(pk=created.json()["id"])

    contained_ = as_user(dual).post(
        reverse("problems:contain", args=[problem.pk]), {"action": "Sorted", "done_by": "Dual", "quantity_secured": "4"}
    )

    assert created.status_code == 201 and contained_.status_code == 302
    assert Containment.objects.filter(problem=problem).count() == 1


@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_containment_needs_the_right_to_report_over_the_problems_line(plants, dual, leaders, plant, allowed):
    take_from_role(Role.TEAM_LEADER, "add_problem")
    problem = graded_problem(plants[plant].line_a1, leaders[plant], "C")

    response = as_user(dual).post(
        reverse("problems:contain", args=[problem.pk]), {"action": "Sorted", "done_by": "Dual", "quantity_secured": "4"}
    )

    assert response.status_code == (302 if allowed else 403)
    assert Containment.objects.filter(problem=problem).exists() == allowed
