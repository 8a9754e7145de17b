"""The meeting's pages (issues/meetings/views.py): rights per role, starting, the chair's inline
decisions with and without htmx, the sign-in sheet, ending, the minutes, the list and its
filters, bad input, the problem page's meeting decisions, and query counts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from issues.meetings import meeting as verbs
from issues.models import AgendaItem, Attendance, Meeting, Problem, Role
from tests.conftest import make_person
from tests.issues.eightd_factory import graded_problem

pytestmark = pytest.mark.django_db

State = Attendance.State
HTMX = {"HTTP_HX_REQUEST": "true"}


def today() -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def chair(quality_engineer):
    return quality_engineer


@pytest.fixture
def problem(world, team_leader) -> Problem:
    return graded_problem(world.line_a1, team_leader, "B", occurred_at=timezone.now() - dt.timedelta(hours=2))


@pytest.fixture
def meeting(world, chair, problem, team_leader, workshop_director) -> Meeting:
    return verbs.start_meeting(chair, world.plant, world.assembly)


@pytest.fixture
def item(meeting) -> AgendaItem:
    return meeting.items.get()


def as_user(client, user):
    client.force_login(user)
    return client


def item_url(meeting, item, action: str) -> str:
    return reverse("meetings:item", args=[meeting.pk, item.pk, action])


def label(user) -> str:
    return f"{user.profile.display_name} ({user.username})"


# --- who sees and does what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "page", "acts"),
    [
        ("chair", 200, 200),
        ("workshop_director", 200, 200),
        ("team_leader", 200, 403),
        ("operator", 200, 403),
        ("outsider", 404, 404),
    ],
)
def test_each_role_sees_the_meeting_and_only_chairs_act(request, client, meeting, item, persona, page, acts):
    as_user(client, request.getfixturevalue(persona))

    assert client.get(reverse("meetings:detail", args=[meeting.pk])).status_code == page
    assert client.get(reverse("meetings:minutes", args=[meeting.pk])).status_code == page
    response = client.post(item_url(meeting, item, "decision"), {"decision": "Ours"}, **HTMX)
    assert response.status_code == acts
    for url in ("meetings:refresh", "meetings:end"):
        assert client.post(reverse(url, args=[meeting.pk]), **HTMX).status_code in (
            (acts, 302) if acts == 200 else (acts,)
        )
    decided = AgendaItem.objects.get(pk=item.pk).decision
    assert decided == ("Ours" if acts == 200 else "")


def test_anonymous_people_are_sent_to_log_in(client, meeting, item):
    for url in (
        reverse("meetings:list"),
        reverse("meetings:detail", args=[meeting.pk]),
        reverse("meetings:minutes", args=[meeting.pk]),
    ):
        assert client.get(url).status_code == 302
    response = client.post(item_url(meeting, item, "decision"), {"decision": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert AgendaItem.objects.get(pk=item.pk).decision == ""


# --- starting ----------------------------------------------------------------------------------


def test_the_list_offers_the_chair_todays_meetings_and_starting_twice_opens_the_same(client, world, chair, problem):
    as_user(client, chair)
    page = client.get(reverse("meetings:list")).content.decode()
    assert page.count('data-testid="start-meeting"') == 3  # the plant, assembly, machining

    first = client.post(reverse("meetings:start"), {"plant": world.plant.pk, "workshop": world.assembly.pk})
    second = client.post(reverse("meetings:start"), {"plant": world.plant.pk, "workshop": world.assembly.pk})

    meeting = Meeting.objects.get()
    assert first["Location"] == second["Location"] == reverse("meetings:detail", args=[meeting.pk])
    assert "Join (running since" in client.get(reverse("meetings:list")).content.decode()


def test_a_workshop_director_is_offered_their_workshop_only(client, world, workshop_director):
    page = as_user(client, workshop_director).get(reverse("meetings:list")).content.decode()
    assert page.count('data-testid="start-meeting"') == 1
    assert "Assembly" in page


@pytest.mark.parametrize(
    ("persona", "data", "status"),
    [
        ("team_leader", {"plant": "own", "workshop": "assembly"}, 403),
        ("chair", {"plant": "other"}, 404),
        ("chair", {"plant": "own", "workshop": "other"}, 404),
        ("chair", {"plant": "abc"}, 404),
        ("chair", {"plant": "99999999999999999999999"}, 404),
        ("chair", {}, 404),
        ("workshop_director", {"plant": "own"}, 403),
    ],
)
def test_starting_a_meeting_one_may_not_chair_is_refused(request, client, world, other_world, persona, data, status):
    places = {"own": world.plant.pk, "other": other_world.plant.pk, "assembly": world.assembly.pk}
    places_workshop = {"assembly": world.assembly.pk, "other": other_world.assembly.pk}
    posted = {}
    if "plant" in data:
        posted["plant"] = places.get(data["plant"], data["plant"])
    if "workshop" in data:
        posted["workshop"] = places_workshop[data["workshop"]]
    as_user(client, request.getfixturevalue(persona))

    assert client.post(reverse("meetings:start"), posted).status_code == status
    assert not Meeting.objects.exists()


def test_start_is_post_only(client, chair):
    assert as_user(client, chair).get(reverse("meetings:start")).status_code == 405


# --- the running meeting --------------------------------------------------------------------


def test_the_meeting_page_shows_the_agenda_the_sheet_and_the_timer(client, chair, meeting, problem):
    page = as_user(client, chair).get(reverse("meetings:detail", args=[meeting.pk])).content.decode()

    assert problem.number in page
    assert 'data-testid="group-other"' in page and "Other internal problems" in page
    assert 'data-testid="meeting-timer"' in page and "timer-ok" in page and "0:0" in page
    assert 'data-testid="sign-in-sheet"' in page and "Leader" in page and "Director" in page
    assert 'data-testid="owner-form"' in page and 'data-testid="board-form"' in page
    assert 'list="plant-people"' in page and "Leader (leader)" in page


def test_a_reader_who_does_not_chair_sees_no_forms_but_may_sign_in(client, meeting, team_leader):
    page = as_user(client, team_leader).get(reverse("meetings:detail", args=[meeting.pk])).content.decode()

    assert 'data-testid="owner-form"' not in page and 'data-testid="end-form"' not in page
    assert 'data-testid="i-am-here"' in page

    response = client.post(reverse("meetings:sign_in", args=[meeting.pk]), **HTMX)

    assert response.status_code == 200 and 'data-testid="sign-in-sheet"' in response.content.decode()
    assert meeting.attendances.get(person=team_leader).state == State.PRESENT


def test_the_chair_assigns_inline_and_gets_the_item_back(client, chair, meeting, item, team_leader):
    due = today() + dt.timedelta(days=5)
    response = as_user(client, chair).post(
        item_url(meeting, item, "owner"), {"owner": label(team_leader), "due_date": due.isoformat()}, **HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<article") and f'id="item-{item.pk}"' in body
    assert "Leader" in body and due.isoformat() in body and "Owner and closure date saved." in body
    problem = Problem.objects.get(pk=item.problem_id)
    assert (problem.owner, problem.due_date) == (team_leader, due)
    assert problem.history.first().history_user == chair


def test_without_javascript_an_action_comes_back_to_the_page(client, chair, meeting, item):
    response = as_user(client, chair).post(item_url(meeting, item, "decision"), {"decision": "Stop the line"})

    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk]) + f"#item-{item.pk}"
    assert Problem.objects.get(pk=item.problem_id).decision == "Stop the line"


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("owner", {"owner": "Nobody Known", "due_date": "2099-01-01"}, "among the plant"),
        ("owner", {"owner": "", "due_date": "2099-01-01"}, "among the plant"),
        ("owner", {"owner": "leader", "due_date": "2026-13-45"}, "valid date"),
        ("owner", {"owner": "leader", "due_date": "2001-01-01"}, "cannot be before today"),
        ("owner", {"owner": "outsider"}, "among the plant"),
        ("decision", {"decision": "   "}, "Write the decision"),
        ("decision", {}, "Write the decision"),
        ("board", {"containment": "purple"}, "Choose red"),
        ("board", {"closure": "green"}, "Closure turns green"),
        ("closure", {}, "cannot be closed yet"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    client, chair, meeting, item, outsider, action, data, message
):
    as_user(client, chair)
    url = item_url(meeting, item, action)

    inline = client.post(url, data, **HTMX)
    plain = client.post(url, data)

    assert inline.status_code == 200 and message in inline.content.decode()
    assert 'data-testid="item-error"' in inline.content.decode()
    assert plain.status_code == 400 and message in plain.content.decode()
    problem = Problem.objects.get(pk=item.problem_id)
    assert (problem.owner, problem.decision, problem.board_status, problem.status) == (None, "", {}, "open")
    assert AgendaItem.objects.get(pk=item.pk).discussed_at is None


def test_a_blocked_closure_lists_what_is_missing(client, chair, meeting, item):
    body = as_user(client, chair).post(item_url(meeting, item, "closure"), **HTMX).content.decode()
    assert "No containment is recorded." in body


@pytest.mark.parametrize("action", ["close", "delete", "owner/"])
def test_an_unknown_action_is_not_found(client, chair, meeting, item, action):
    url = reverse("meetings:detail", args=[meeting.pk]) + f"items/{item.pk}/{action}/"
    assert as_user(client, chair).post(url, {}).status_code == 404


def test_an_item_of_another_meeting_is_not_found(client, world, chair, meeting, item):
    other = verbs.start_meeting(chair, world.plant, world.machining)
    url = reverse("meetings:item", args=[other.pk, item.pk, "decision"])
    assert as_user(client, chair).post(url, {"decision": "x"}).status_code == 404


def test_the_board_status_form_sets_the_colours(client, chair, meeting, item):
    data = {"containment": "green", "root_cause": "yellow", "actions": "red", "verification": "white", "closure": "red"}
    response = as_user(client, chair).post(item_url(meeting, item, "board"), data, **HTMX)

    assert response.status_code == 200 and "rag-green" in response.content.decode()
    assert Problem.objects.get(pk=item.problem_id).board_status == {
        "containment": "green",
        "root_cause": "yellow",
        "verification": "white",
    }


@pytest.mark.parametrize(("minutes", "state"), [(3, "timer-ok"), (12, "timer-closing"), (16, "timer-over")])
def test_the_timer_is_rendered_with_its_colour_for_pages_without_javascript(client, chair, meeting, minutes, state):
    Meeting.objects.filter(pk=meeting.pk).update(started_at=timezone.now() - dt.timedelta(minutes=minutes, seconds=5))

    page = as_user(client, chair).get(reverse("meetings:detail", args=[meeting.pk])).content.decode()

    assert f"timer {state}" in page
    assert f'<span class="clock">{minutes}:0' in page
    assert 'data-closing-s="600"' in page and 'data-over-s="900"' in page  # what meeting.js counts with


def test_refreshing_the_agenda_adds_a_problem_logged_during_the_meeting(client, world, chair, meeting, team_leader):
    late = graded_problem(world.line_a2, team_leader, "A", occurred_at=timezone.now() - dt.timedelta(minutes=1))

    response = as_user(client, chair).post(reverse("meetings:refresh", args=[meeting.pk]))

    assert response.status_code == 302
    assert meeting.items.filter(problem=late).exists()
    assert late.number in client.get(response["Location"]).content.decode()


def test_starting_a_meeting_that_ended_today_shows_its_minutes(client, world, chair, meeting):
    verbs.end_meeting(meeting, user=chair)
    response = as_user(client, chair).post(
        reverse("meetings:start"), {"plant": world.plant.pk, "workshop": world.assembly.pk}
    )
    assert response["Location"] == reverse("meetings:minutes", args=[meeting.pk])


# --- the sign-in sheet ----------------------------------------------------------------------


def test_the_chair_marks_a_stand_in_by_name_or_as_a_person(
    client, world, chair, meeting, team_leader, workshop_director, operator
):
    as_user(client, chair)
    leader_row = meeting.attendances.get(person=team_leader)
    director_row = meeting.attendances.get(person=workshop_director)

    by_person = client.post(
        reverse("meetings:attendance", args=[meeting.pk, leader_row.pk]),
        {"state": "stand_in", "stand_in": label(operator)},
        **HTMX,
    )
    by_name = client.post(
        reverse("meetings:attendance", args=[meeting.pk, director_row.pk]), {"state": "stand_in", "stand_in": "王伟"}
    )

    assert by_person.status_code == 200 and 'id="sheet"' in by_person.content.decode()
    assert by_name.status_code == 302
    leader_row.refresh_from_db()
    director_row.refresh_from_db()
    assert (leader_row.state, leader_row.stand_in, leader_row.stand_in_name) == (State.STAND_IN, operator, "")
    assert (director_row.state, director_row.stand_in, director_row.stand_in_name) == (State.STAND_IN, None, "王伟")


@pytest.mark.parametrize("data", [{"state": "stand_in"}, {"state": "sleeping"}, {}])
def test_a_wrong_attendance_is_refused(client, chair, meeting, team_leader, data):
    row = meeting.attendances.get(person=team_leader)
    url = reverse("meetings:attendance", args=[meeting.pk, row.pk])
    as_user(client, chair)

    assert 'data-testid="sheet-error"' in client.post(url, data, **HTMX).content.decode()
    assert client.post(url, data).status_code == 400
    assert Attendance.objects.get(pk=row.pk).state == State.UNKNOWN


def test_a_row_of_another_meeting_is_not_found(client, world, chair, meeting, team_leader):
    other = verbs.start_meeting(chair, world.plant, world.machining)
    row = meeting.attendances.get(person=team_leader)
    url = reverse("meetings:attendance", args=[other.pk, row.pk])
    assert as_user(client, chair).post(url, {"state": "present"}).status_code == 404


def test_only_the_chair_marks_others_and_an_outsider_finds_nothing(
    client, meeting, team_leader, workshop_director, outsider
):
    row = meeting.attendances.get(person=workshop_director)
    url = reverse("meetings:attendance", args=[meeting.pk, row.pk])

    assert as_user(client, team_leader).post(url, {"state": "awol"}).status_code == 403
    assert as_user(client, outsider).post(url, {"state": "awol"}).status_code == 404
    assert as_user(client, outsider).post(reverse("meetings:sign_in", args=[meeting.pk])).status_code == 404
    assert Attendance.objects.get(pk=row.pk).state == State.UNKNOWN


def test_the_chair_adds_a_guest_once(client, chair, meeting, operator):
    as_user(client, chair)
    url = reverse("meetings:guest", args=[meeting.pk])

    client.post(url, {"person": label(operator)}, **HTMX)
    client.post(url, {"person": label(operator)}, **HTMX)
    refused = client.post(url, {"person": "Somebody Else"}, **HTMX)

    assert meeting.attendances.filter(person=operator, expected=False, state=State.PRESENT).count() == 1
    assert "among the plant" in refused.content.decode()


# --- ending and the minutes -----------------------------------------------------------------------


def test_ending_leads_to_the_minutes_and_the_meeting_no_longer_changes(client, chair, meeting, item, team_leader):
    as_user(client, chair)
    client.post(item_url(meeting, item, "decision"), {"decision": "Contain by sorting"})

    response = client.post(reverse("meetings:end", args=[meeting.pk]), {"notes": "Quick"})

    assert response["Location"] == reverse("meetings:minutes", args=[meeting.pk])
    assert meeting.attendances.get(person=team_leader).state == State.ABSENT_WITHOUT_LEAVE
    assert client.get(reverse("meetings:detail", args=[meeting.pk]))["Location"] == response["Location"]
    minutes = client.get(response["Location"]).content.decode()
    assert "Contain by sorting" in minutes and "Absent without leave" in minutes and "Quick" in minutes
    late = client.post(item_url(meeting, item, "decision"), {"decision": "Changed later"})
    assert late.status_code == 302 and late["Location"] == response["Location"]
    inline = client.post(item_url(meeting, item, "decision"), {"decision": "Changed later"}, **HTMX)
    assert "has ended" in inline.content.decode()
    assert AgendaItem.objects.get(pk=item.pk).decision == "Contain by sorting"


def test_the_list_shows_past_meetings_filtered_and_links_their_minutes(client, world, chair, meeting):
    verbs.end_meeting(meeting, user=chair)
    as_user(client, chair)

    page = client.get(reverse("meetings:list")).content.decode()
    assert reverse("meetings:minutes", args=[meeting.pk]) in page and 'data-testid="meeting-row"' in page

    later = (meeting.day + dt.timedelta(days=1)).isoformat()
    assert (
        'data-testid="meeting-row"' not in client.get(reverse("meetings:list"), {"day_after": later}).content.decode()
    )
    assert (
        'data-testid="meeting-row"' in client.get(reverse("meetings:list"), {"plant": world.plant.pk}).content.decode()
    )
    assert 'data-testid="meeting-row"' in client.get(reverse("meetings:list"), {"chair": chair.pk}).content.decode()


@pytest.mark.parametrize(
    "query",
    [{"page": "abc"}, {"page": "999"}, {"day_after": "not-a-date"}, {"plant": "x"}, {"chair": "99999999999999999999"}],
)
def test_the_list_takes_bad_parameters_without_a_500(client, chair, meeting, query):
    assert as_user(client, chair).get(reverse("meetings:list"), query).status_code == 200


def test_an_outsider_sees_no_meeting_in_the_list(client, meeting, outsider):
    page = as_user(client, outsider).get(reverse("meetings:list")).content.decode()
    assert 'data-testid="meeting-row"' not in page and 'data-testid="start-meeting"' in page  # their own plant


def test_the_problem_page_shows_the_meetings_decisions_and_their_history(client, chair, meeting, item, team_leader):
    verbs.record_decision(item, user=chair, text="Change the tool every shift")
    verbs.set_board_status(item, user=chair, colours={"containment": "yellow"})

    page = as_user(client, team_leader).get(reverse("problems:detail", args=[item.problem_id])).content.decode()

    assert 'data-testid="meeting-decisions"' in page
    assert "Change the tool every shift" in page
    assert reverse("meetings:detail", args=[meeting.pk]) in page
    assert "QRQC meeting " in page and ": decision" in page  # the history's reason
    assert "Containment Y" in page  # the board status as words, not JSON


def test_the_pages_render_in_chinese(client, chair, meeting):
    as_user(client, chair)
    client.cookies["django_language"] = "zh-hans"
    for url in (
        reverse("meetings:list"),
        reverse("meetings:detail", args=[meeting.pk]),
        reverse("meetings:minutes", args=[meeting.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and 'lang="zh-CN"' in response.content.decode()


# --- query counts ----------------------------------------------------------------------------


def grow_agenda(meeting, template: Problem, count: int, owner) -> None:
    """`count` more problems on the meeting's agenda, copies of `template`, half with an owner."""
    start = Problem.objects.count()
    copies = []
    for index in range(count):
        copy = Problem.objects.get(pk=template.pk)
        copy.pk = None
        copy.number = f"{template.number}-{start + index}"
        copy.owner = owner if index % 2 else None
        copy.board_status = {"containment": "yellow"} if index % 3 else {}
        copies.append(copy)
    created = Problem.objects.bulk_create(copies)
    last = meeting.items.count()
    AgendaItem.objects.bulk_create(
        AgendaItem(
            meeting=meeting,
            problem=copy,
            group="other",
            reasons=["other"],
            position=last + i + 1,
            decision="ok" if i % 2 else "",
        )
        for i, copy in enumerate(created)
    )


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["meetings:detail", "meetings:minutes"])
def test_the_meeting_pages_cost_the_same_queries_for_5_or_500_items(client, chair, meeting, problem, team_leader, page):
    as_user(client, chair)
    url = reverse(page, args=[meeting.pk])
    grow_agenda(meeting, problem, 4, team_leader)
    client.get(url)  # session, permissions and scope warm up as in real use
    few = count_queries(client, url)

    grow_agenda(meeting, problem, 495, team_leader)
    many = count_queries(client, url)

    assert meeting.items.count() == 500
    assert few == many


def test_the_list_costs_the_same_queries_for_5_or_50_meetings(client, world, chair, meeting):
    as_user(client, chair)
    url = reverse("meetings:list")

    def more_meetings(count: int) -> None:
        first = Meeting.objects.order_by("day").first().day
        Meeting.objects.bulk_create(
            Meeting(
                plant=world.plant,
                workshop=world.assembly,
                day=first - dt.timedelta(days=index + 1),
                chair=chair,
                state=Meeting.State.ENDED,
                started_at=timezone.now() - dt.timedelta(days=index + 1),
                ended_at=timezone.now() - dt.timedelta(days=index + 1) + dt.timedelta(minutes=12),
                escalations_since=timezone.now() - dt.timedelta(days=index + 2),
            )
            for index in range(count)
        )

    more_meetings(4)
    client.get(url)
    few = count_queries(client, url)
    more_meetings(45)
    many = count_queries(client, url)

    assert Meeting.objects.count() == 50
    assert few == many


def test_a_plant_of_many_people_does_not_weigh_down_the_page(client, world, chair, meeting, problem, team_leader):
    """The people to name are one <datalist>, not a <select> per item."""
    for number in range(30):
        make_person(f"worker{number}", Role.OPERATOR, plant=world.plant, line=world.line_a1)
    grow_agenda(meeting, problem, 19, team_leader)

    page = as_user(client, chair).get(reverse("meetings:detail", args=[meeting.pk])).content.decode()

    assert page.count("Worker7 (worker7)") == 1
