"""The admin pages of QRQC meetings: kept to the plants the staff user works in, read-only
but for the general notes and corrections to the sign-in sheet (with history), never added
or deleted there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from issues.models import AgendaItem, Attendance, Meeting, Role
from tests.conftest import make_person
from tests.issues.eightd_factory import graded_problem

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2025, 3, 5, 0, 30, tzinfo=dt.UTC)


def staff(user):
    """Staff of the admin; what they may do there comes from their roles (every role reads
    meetings; the quality department's corrects them)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def meeting_of(world, chair, team_leader) -> Meeting:
    meeting = Meeting.objects.create(
        plant=world.plant,
        workshop=world.assembly,
        day=dt.date(2025, 3, 5),
        chair=chair,
        started_at=STARTED,
        ended_at=STARTED + dt.timedelta(minutes=13),
        state=Meeting.State.ENDED,
        escalations_since=STARTED - dt.timedelta(days=1),
    )
    AgendaItem.objects.create(
        meeting=meeting,
        problem=graded_problem(world.line_a1, team_leader, "A"),
        group="customer",
        reasons=["customer"],
        position=1,
        decision="Sort all stock",
    )
    Attendance.objects.create(
        meeting=meeting,
        person=team_leader,
        role=Role.TEAM_LEADER,
        department="production",
        state=Attendance.State.ABSENT_WITHOUT_LEAVE,
    )
    return meeting


@pytest.fixture
def ours(world, team_leader):
    return meeting_of(world, make_person("chair", Role.QUALITY_MANAGER, plant=world.plant), team_leader)


@pytest.fixture
def theirs(other_world):
    chair = make_person("their-chair", Role.QUALITY_MANAGER, plant=other_world.plant)
    leader = make_person("their-leader", Role.TEAM_LEADER, plant=other_world.plant, line=other_world.line_a1)
    return meeting_of(other_world, chair, leader)


@pytest.fixture
def quality_manager(world):
    return staff(make_person("qm", Role.QUALITY_MANAGER, plant=world.plant))


def url(name: str, meeting: Meeting, *more) -> str:
    return reverse(f"admin:issues_meeting_{name}", args=[meeting.pk, *more])


def test_staff_see_only_their_plants_meetings(client, quality_manager, ours, theirs):
    client.force_login(quality_manager)

    listed = client.get(reverse("admin:issues_meeting_changelist"))

    assert listed.status_code == 200 and set(listed.context["cl"].queryset) == {ours}
    assert "13 min" in listed.content.decode()
    change = client.get(url("change", theirs))
    assert change.status_code == 302 and change.url == reverse("admin:index")  # "does not exist"
    assert client.get(url("history", theirs)).status_code == 404
    version = theirs.history.first().history_id
    assert client.get(url("simple_history", theirs, version)).status_code == 404
    assert client.get(url("history", ours)).status_code == 200


def test_a_superuser_sees_every_plants_meetings(admin_client, ours, theirs):
    listed = admin_client.get(reverse("admin:issues_meeting_changelist"))

    assert set(listed.context["cl"].queryset) == {ours, theirs}
    assert admin_client.get(url("change", theirs)).status_code == 200
    assert admin_client.get(url("history", theirs)).status_code == 200


def test_the_meeting_page_shows_the_agenda_and_the_sign_in_sheet_read_only(client, world, ours):
    # A staff production manager may read meetings in the admin but not correct them.
    client.force_login(staff(make_person("pm", Role.PRODUCTION_MANAGER, plant=world.plant)))

    response = client.get(url("change", ours))

    assert response.status_code == 200
    agenda, sheet = response.context["inline_admin_formsets"]
    assert [item.instance.decision for item in agenda.formset.forms] == ["Sort all stock"]
    assert [row.instance.state for row in sheet.formset.forms] == [Attendance.State.ABSENT_WITHOUT_LEAVE]
    assert not sheet.has_change_permission and not agenda.has_change_permission
    assert "attendances-0-state" not in response.content.decode()


def test_meetings_are_never_added_or_deleted_in_the_admin(admin_client, ours):
    assert admin_client.get(reverse("admin:issues_meeting_add")).status_code == 403

    response = admin_client.post(url("delete", ours), {"post": "yes"})

    assert response.status_code == 403 and Meeting.objects.filter(pk=ours.pk).exists()


def test_the_quality_department_corrects_the_sign_in_sheet_and_its_history_says_who(client, world, ours):
    corrector = staff(make_person("corrector", Role.QUALITY_MANAGER, plant=world.plant))  # the role gives the right
    client.force_login(corrector)
    page = client.get(url("change", ours))
    form = page.context["adminform"].form
    data = {"notes": "Leave approved afterwards"}
    for formset in (inline.formset for inline in page.context["inline_admin_formsets"]):
        management = formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[management.add_prefix(name)] = management[name].value()
        for row in formset.forms:
            data[row.add_prefix("id")] = row.instance.pk
            data[row.add_prefix("meeting")] = ours.pk
            for name in row.fields:
                if name not in ("id", "meeting"):
                    data[row.add_prefix(name)] = row[name].value() or ""
    data["attendances-0-state"] = Attendance.State.ABSENT
    data["attendances-0-note"] = "leave approved by the GM"
    assert "notes" in form.fields

    response = client.post(url("change", ours), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    row = ours.attendances.get()
    assert (row.state, row.note) == (Attendance.State.ABSENT, "leave approved by the GM")
    assert row.history.first().history_user == corrector
    ours.refresh_from_db()
    assert ours.notes == "Leave approved afterwards" and ours.state == Meeting.State.ENDED
