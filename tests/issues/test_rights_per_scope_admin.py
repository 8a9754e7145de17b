"""The admin under rights per scope: a staff member reads, changes, adds and deletes a plant's
settings only where a role of theirs carries the right over that plant, whatever they may do
elsewhere; the admin's choices and list filters name no other plant.

The person is the issue's: a quality engineer of XA2 who is also team leader of SZ1's line a1.
The escalation rights are given to the quality engineers' role, as a plant's admin would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from escalation.models import AlarmRule, EscalationEvent, EscalationPolicy, WebhookEndpoint
from escalation.sweep import sweep
from issues.common.scope import assign_role
from issues.models import FailureMode, Lesson, Meeting, Problem, Role, SolvingPolicy, ThresholdTable
from tests.conftest import build_plant, make_person
from tests.issues.eightd_factory import graded_problem
from tests.issues.mixed_roles import SZ1_NAMES, give_to_role, staff

pytestmark = pytest.mark.django_db

ESCALATION_RIGHTS = (
    "view_escalationpolicy",
    "change_escalationpolicy",
    "view_escalationtier",
    "change_escalationtier",
    "view_alarmrule",
    "change_alarmrule",
    "add_alarmrule",
    "view_webhookendpoint",
    "change_webhookendpoint",
    "add_webhookendpoint",
    "view_escalationevent",
    "view_notification",
)


@pytest.fixture(autouse=True)
def quality_engineers_keep_escalation_settings(db):
    give_to_role(Role.QUALITY_ENGINEER, *ESCALATION_RIGHTS)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_url(obj, view: str = "change", *more) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk, *more])


def posted_back(client, url: str, **changes) -> dict:
    """What the browser posts from an admin change page (its form and inline rows as rendered),
    with `changes` applied."""
    response = client.get(url)
    assert response.status_code == 200
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        data |= {management.add_prefix(name): management[name].value() for name in management.fields}
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = "on" if value is True else value
    return {**data, **changes}


# --- one table of a plant's settings -----------------------------------------------------------


def _lesson(world, leader) -> Lesson:
    problem = graded_problem(world.line_a1, leader, "C")
    return Lesson.objects.create(
        plant=world.plant, problem=problem, title="Burr", lesson="Count tool life", learned_on=dt.date(2025, 3, 20)
    )


def _meeting(world, leader) -> Meeting:
    started = timezone.now() - dt.timedelta(hours=3)
    return Meeting.objects.create(
        plant=world.plant,
        day=started.date(),
        chair=leader,
        state=Meeting.State.ENDED,
        started_at=started,
        ended_at=started + dt.timedelta(minutes=15),
        escalations_since=started - dt.timedelta(days=1),
    )


# setting → (the plant's row, what the edit posts, whether each part of the edit was stored)
SETTINGS = {
    "threshold table": (
        lambda world, leader: ThresholdTable.objects.current_for(world.plant),
        {"note": "tighter scrap limits"},
        lambda obj: ThresholdTable.objects.filter(plant=obj.plant, version__gt=obj.version).exists(),
    ),
    "solving policy and deadlines": (
        lambda world, leader: world.plant.solving_policy,
        {"rework_days": "9", "deadlines-0-days": "6"},
        lambda obj: (SolvingPolicy.objects.get(pk=obj.pk).rework_days == 9, obj.deadlines.filter(days=6).exists()),
    ),
    "failure mode": (
        lambda world, leader: FailureMode.objects.create(plant=world.plant, category="quality", name_en="Flash"),
        {"reviewed": "on", "name_en": "Flash on rim"},
        lambda obj: FailureMode.objects.filter(pk=obj.pk, name_en="Flash on rim").exists(),
    ),
    "lesson": (
        _lesson,
        {"lesson": "Count tool life, in the TPM plan"},
        lambda obj: Lesson.objects.get(pk=obj.pk).lesson.endswith("TPM plan"),
    ),
    "meeting's notes": (
        _meeting,
        {"notes": "Corrected afterwards"},
        lambda obj: Meeting.objects.get(pk=obj.pk).notes == "Corrected afterwards",
    ),
    "escalation policy": (
        lambda world, leader: EscalationPolicy.objects.get(plant=world.plant, category="quality"),
        {"ceiling_b": "2"},
        lambda obj: EscalationPolicy.objects.get(pk=obj.pk).ceiling_b == 2,
    ),
    "alarm rule": (
        lambda world, leader: AlarmRule.objects.filter(plant=world.plant).order_by("pk").first(),
        {"after_minutes": "77"},
        lambda obj: AlarmRule.objects.get(pk=obj.pk).after_minutes == 77,
    ),
    "group webhook": (
        lambda world, leader: WebhookEndpoint.objects.create(
            plant=world.plant, name="Line chat", kind="wecom", url="https://chat.example/hook", secret="s3cret"
        ),
        {"name": "Renamed chat"},
        lambda obj: WebhookEndpoint.objects.get(pk=obj.pk).name == "Renamed chat",
    ),
}


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_change_a_plants_settings_only_where_their_role_carries_the_right(
    plants, dual, leaders, admin_client, setting, plant, allowed
):
    make, changes, stored = SETTINGS[setting]
    obj = make(plants[plant], leaders[plant])
    data = posted_back(admin_client, admin_url(obj), **changes)
    client = as_user(dual)

    page = client.get(admin_url(obj))
    history = client.get(admin_url(obj, "history"))
    response = client.post(admin_url(obj), data)

    if allowed:
        assert page.status_code == history.status_code == 200
        assert response.status_code == 302 and response["Location"] != reverse("admin:index")
    else:  # not theirs to see: "does not exist" on the page and its history
        assert page.status_code == response.status_code == 302
        assert page["Location"] == response["Location"] == reverse("admin:index")
        assert history.status_code == 404 or history["Location"] == reverse("admin:index")
    outcome = stored(obj)
    assert set(outcome if isinstance(outcome, tuple) else (outcome,)) == {allowed}


# --- what the forms offer, and the filters name -------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("issues_failuremode", ["plant"]),
        ("escalation_webhookendpoint", ["plant", "workshop"]),
        ("escalation_alarmrule", ["plant"]),
    ],
)
def test_an_add_form_offers_only_the_places_where_they_may_add(plants, dual, model, fields):
    form = as_user(dual).get(reverse(f"admin:{model}_add")).context["adminform"].form

    offered = {name: {getattr(row, "plant_id", row.pk) for row in form.fields[name].queryset} for name in fields}

    assert offered == {name: {plants["xa2"].plant.pk} for name in fields}


@pytest.mark.parametrize(("plant", "allowed"), [("sz1", False), ("xa2", True)])
def test_they_add_a_reviewed_failure_mode_only_to_their_own_plant(plants, dual, plant, allowed):
    data = {"plant": plants[plant].plant.pk, "category": "quality", "name_en": "Porosity", "reviewed": "on"}

    response = as_user(dual).post(reverse("admin:issues_failuremode_add"), data)

    assert response.status_code == (302 if allowed else 200)
    if not allowed:
        assert "plant" in response.context["adminform"].form.errors
    assert FailureMode.objects.filter(name_en="Porosity").exists() == allowed


@pytest.fixture
def everything(plants, leaders):
    """One of each setting in both plants, so any page that leaks shows an SZ1 name."""
    for code, world in plants.items():
        for make, _changes, _stored in SETTINGS.values():
            make(world, leaders[code])


@pytest.mark.parametrize(
    "changelist",
    [
        "issues_failuremode",
        "issues_thresholdtable",
        "issues_solvingpolicy",
        "issues_lesson",
        "issues_meeting",
        "escalation_escalationpolicy",
        "escalation_alarmrule",
        "escalation_webhookendpoint",
    ],
)
def test_their_lists_and_list_filters_name_no_plant_they_hold_no_right_over(dual, everything, changelist):
    page = as_user(dual).get(reverse(f"admin:{changelist}_changelist")).content.decode()

    assert not [name for name in SZ1_NAMES if name in page]
    assert "Xian Plant 2" in page


def test_the_problem_admin_lists_what_their_line_role_reads_and_its_filter_names_only_those_plants(
    plants, dual, leaders
):
    sz1, xa2 = plants["sz1"], plants["xa2"]
    theirs_a1 = graded_problem(sz1.line_a1, leaders["sz1"], "C")
    graded_problem(sz1.line_m1, leaders["sz1"], "C")
    ours = graded_problem(xa2.line_m1, leaders["xa2"], "C")
    other = build_third_plant_problem()

    response = as_user(dual).get(reverse("admin:issues_problem_changelist"))

    assert set(response.context["cl"].result_list) == {theirs_a1, ours}
    plant_filter = next(spec for spec in response.context["cl"].filter_specs if spec.field_path == "plant")
    assert {label for _pk, label in plant_filter.lookup_choices} == {str(sz1.plant), str(xa2.plant)}
    assert str(other.plant) not in response.content.decode()


def build_third_plant_problem() -> Problem:
    third = build_plant("gz3", "Guangzhou Plant 3", "广州三厂")
    return graded_problem(third.line_a1, make_person("gz3-leader", Role.TEAM_LEADER, plant=third.plant), "C")


# --- actions, history, the ledger -----------------------------------------------------------------


@pytest.fixture
def curator_here_deleter_there(plants):
    """Quality engineer of XA2 and inspection section chief of SZ1: keeps both plants' failure
    modes, but only the quality engineers' role may delete them."""
    user = staff(make_person("curator", Role.QUALITY_ENGINEER, plant=plants["xa2"].plant))
    assign_role(user, Role.INSPECTION_SECTION_CHIEF, plant=plants["sz1"].plant)
    give_to_role(Role.QUALITY_ENGINEER, "delete_failuremode")
    return user


def test_the_delete_action_is_refused_when_any_chosen_row_lies_outside_the_right(plants, curator_here_deleter_there):
    modes = {
        code: FailureMode.objects.create(plant=world.plant, category="quality", name_en="Crack")
        for code, world in plants.items()
    }
    client = as_user(curator_here_deleter_there)
    changelist = reverse("admin:issues_failuremode_changelist")

    both = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [m.pk for m in modes.values()], "post": "yes"}
    )
    assert both.status_code == 403
    assert FailureMode.objects.filter(name_en="Crack").count() == 2

    own = client.post(changelist, {"action": "delete_selected", "_selected_action": [modes["xa2"].pk], "post": "yes"})
    assert own.status_code == 302
    assert list(FailureMode.objects.filter(name_en="Crack").values_list("plant__code", flat=True)) == ["sz1"]


def test_a_version_from_history_is_restored_only_with_the_right_to_change(plants, admin_client, dual):
    reader = staff(make_person("reader", Role.QUALITY_ENGINEER, plant=plants["xa2"].plant))
    assign_role(reader, Role.OPERATOR, plant=plants["sz1"].plant)
    give_to_role(Role.OPERATOR, "view_failuremode")  # operators of SZ1 may read its failure modes
    mode = FailureMode.objects.create(plant=plants["sz1"].plant, category="quality", name_en="Dent")
    admin_client.post(admin_url(mode), posted_back(admin_client, admin_url(mode), name_en="Dent on lid"))
    first = mode.history.order_by("history_id").first()
    version = admin_url(mode, "simple_history", first.history_id)
    data = posted_back(admin_client, version)
    client = as_user(reader)

    assert client.get(admin_url(mode, "history")).status_code == 200
    assert client.get(version).status_code == 200
    assert client.post(version, data).status_code == 403
    assert as_user(dual).post(version, data).status_code == 404
    assert FailureMode.objects.get(pk=mode.pk).name_en == "Dent on lid"


def test_the_escalation_ledger_shows_only_the_plants_whose_ledger_their_role_may_read(plants, dual, leaders):
    for code, world in plants.items():
        graded_problem(world.line_a1, leaders[code], "A", occurred_at=timezone.now() - dt.timedelta(minutes=10))
    sweep(timezone.now())
    theirs = EscalationEvent.objects.filter(problem__plant=plants["sz1"].plant).first()
    client = as_user(dual)

    listed = client.get(reverse("admin:escalation_escalationevent_changelist"))

    assert {event.problem.plant.code for event in listed.context["cl"].result_list} == {"xa2"}
    assert client.get(admin_url(theirs)).status_code == 302  # "does not exist"
    assert not [name for name in SZ1_NAMES if name in listed.content.decode()]


def test_a_superuser_still_reads_the_history_of_a_deleted_row(plants, admin_client):
    mode = FailureMode.objects.create(plant=plants["sz1"].plant, category="quality", name_en="Scratch")
    history = admin_url(mode, "history")
    mode.delete()

    assert admin_client.get(history).status_code == 200
