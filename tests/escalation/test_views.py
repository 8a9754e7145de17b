"""What people see of escalation (issue #3, "What users see"): the ladder on the problem page,
the containment form that stops the clock, the in-app notification centre with its bell, the
escalations list with filters and exports, /healthz and the stalled banner.

Events are real: problems are logged through intake, then escalation.sweep.sweep(now) and
escalation.dispatch.dispatch(now) write and send them. The phone/SMS gateway is not configured,
so phone and SMS fail for good and fall back (SMS, then e-mail, which fails without an address);
in-app always delivers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from escalation.dispatch import acknowledge, dispatch
from escalation.models import EscalationEvent, Notification, SweepRun
from escalation.sweep import sweep
from issues.models import Containment, Problem, Role
from issues.problems.intake import Report, report_problem
from tests.conftest import close_without_eightd, make_person

pytestmark = pytest.mark.django_db

B_FACTS = {"defect_class": "A", "defect_count": 15}  # grade B: climbs to level 3
A_FACTS = {"defect_class": "A", "defect_count": 25}  # grade A: climbs to level 1
LIST_HEADER = [
    "Fired at",
    "Problem number",
    "Grade",
    "Line",
    "Tier / alarm",
    "Recipients",
    "Channels",
    "Delivered",
    "Failed",
    "Fell through",
]


@pytest.fixture(autouse=True)
def site_time_zone_afterwards():
    """Requests activate the plant's zone (PlantTimezoneMiddleware) and leave it active in the
    thread; later tests expect the site's zone."""
    yield
    timezone.deactivate()


@pytest.fixture(autouse=True)
def no_gateway(settings):
    """No carrier or PBX: phone and SMS fail for good, so every fallback is exercised."""
    settings.QRQC_GATEWAY = {"URL": "", "TOKEN": ""}


def log(line, reporter, minutes_ago: float, *, facts=None, title: str = "Burr on flange", inapp_only=False):
    report = Report(
        line=line,
        category="quality",
        title=title,
        occurred_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        facts=B_FACTS if facts is None else facts,
    )
    problem = report_problem(report, reporter=reporter)[0]
    if inapp_only:  # the plan copied onto the problem is what the sweep follows
        for tier in problem.escalation_plan["tiers"]:
            tier["channels"] = ["inapp"]
        problem.save(update_fields=["escalation_plan"])
    return problem


def climb(now: dt.datetime | None = None) -> list[EscalationEvent]:
    """One sweep, then dispatch until the fallbacks (phone → SMS → e-mail) have been tried."""
    now = now or timezone.now()
    events = sweep(now)
    for _ in range(4):
        dispatch(now)
    return events


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def part(html: str, testid: str) -> str:
    """The HTML from an element with data-testid=testid up to the next rung (or the section's end)."""
    start = html.index(f'data-testid="{testid}"')
    ends = [html.find(marker, start + 1) for marker in ('data-testid="rung-', "</section>", 'data-testid="alarm"')]
    return html[start : min(end for end in ends if end != -1)]


def local_hm(moment: dt.datetime) -> str:
    return timezone.localtime(moment, timezone.get_fixed_timezone(8 * 60)).strftime("%H:%M")


@pytest.fixture
def people(team_leader, workshop_director, quality_engineer):
    """Level 4 (team leader, quality engineer) and level 3 (workshop director) of line A1."""
    return {"leader": team_leader, "director": workshop_director, "qe": quality_engineer}


# --- the ladder on the problem page ------------------------------------------------------


def test_problem_page_shows_each_tier_reached_who_was_told_how_and_whether_it_arrived(world, people):
    problem = log(world.line_a1, people["qe"], 40)
    climb()

    response = client_for(people["director"]).get(f"/problems/{problem.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    ladder = response.context["escalation"]
    assert [(rung.level, rung.state) for rung in ladder.rungs] == [(4, "fired"), (3, "fired")]  # B stops at 3
    line = part(html, "rung-4")
    assert "Level 4 — line" in line and "Leader" in line and "Qe" in line and "Team leader" in line
    assert re.search(r"In-app\s+✓", line)
    assert re.search(r"Phone call\s+✗ failed", line)
    assert "no phone/SMS gateway configured" in line  # why it failed, for the manager
    assert "↳</span> SMS" in line  # the fallback channel
    assert "no e-mail address on the profile" in line
    assert "35 min after due" in line  # logged 40 min after it occurred: the 5-min tier fired late
    workshop = part(html, "rung-3")
    assert "Director" in workshop and "Leader" not in workshop
    assert "Nobody holds Inspection / process section chief here." in workshop
    assert "Every tier for grade B has been reached and it is still not contained." in html
    assert 'data-testid="countdown"' not in html
    assert "Grade B climbs up to Level 3 — workshop" in html


def test_next_tier_and_its_countdown(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    climb()
    problem.refresh_from_db()

    response = client_for(people["leader"]).get(f"/problems/{problem.pk}/")

    html = response.content.decode()
    assert [(rung.level, rung.state) for rung in response.context["escalation"].rungs] == [(4, "fired"), (3, "next")]
    assert problem.escalate_at == problem.occurred_at + dt.timedelta(minutes=30)
    assert f"Next: Level 3 — workshop at {local_hm(problem.escalate_at)}" in html
    countdown = re.search(r'data-testid="countdown" data-deadline-ms="(\d+)" data-now-ms="(\d+)"', html)
    assert int(countdown.group(1)) == int(problem.escalate_at.timestamp() * 1000)
    assert 0 < int(countdown.group(1)) - int(countdown.group(2)) <= 20 * 60 * 1000
    assert f'hx-get="/problems/{problem.pk}/escalation/"' in html  # the ladder refreshes when it runs out
    assert "Will reach: Workshop director, Inspection / process section chief" in part(html, "rung-3")


def test_a_fresh_problem_shows_its_first_tier_as_next_and_the_rest_later(world, people):
    problem = log(world.line_a1, people["leader"], 1, facts=A_FACTS)

    response = client_for(people["leader"]).get(f"/problems/{problem.pk}/")

    assert [(rung.level, rung.state) for rung in response.context["escalation"].rungs] == [
        (4, "next"),
        (3, "waiting"),
        (2, "waiting"),
        (1, "waiting"),
    ]
    assert "Will reach: Team leader, Quality / process engineer" in part(response.content.decode(), "rung-4")


def test_the_ladder_fragment_refreshes_on_its_own(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    climb()

    response = client_for(people["leader"]).get(f"/problems/{problem.pk}/escalation/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card escalation" id="escalation"')
    assert "<html" not in html


def test_acknowledgements_show_on_the_ladder_and_the_person_told_can_acknowledge_there(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    (event,) = climb()
    acknowledge(people["qe"], event)

    html = client_for(people["leader"]).get(f"/problems/{problem.pk}/").content.decode()

    line = part(html, "rung-4")
    qe_row = line[line.index("<b>Qe</b>") :]
    assert "✔ On it" in qe_row.split('data-testid="told"')[0]
    assert f'action="/escalations/{event.pk}/acknowledge/"' in line  # the leader's own row offers "I'm on it"
    assert "not acknowledged yet" not in line.split("<b>Qe</b>")[0].split("(you)")[-1]


def test_a_tier_nobody_holds_falls_through_and_says_so(world, workshop_director):
    machining_director = make_person("mdirector", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.machining)
    problem = log(world.line_m1, machining_director, 10)
    climb()

    html = client_for(machining_director).get(f"/problems/{problem.pk}/").content.decode()

    line = part(html, "rung-4")
    assert "Nobody holds Team leader, Quality / process engineer here: the next holder up was told." in line
    assert "Mdirector" in line


def test_alarms_raised_are_listed_with_whom_they_reached(world, people):
    problem = log(world.line_a1, people["leader"], 2 * 24 * 60 + 5)  # no owner after 2 days
    climb()

    response = client_for(people["leader"]).get(f"/problems/{problem.pk}/")

    (alarm,) = response.context["escalation"].alarms
    assert alarm.event.kind == "no_owner"
    html = response.content.decode()
    alarm_html = html[html.index('data-testid="alarm"') :]
    assert "No owner" in alarm_html
    assert "Nobody could be told" in alarm_html  # no inspection section chief in this plant


# --- containment --------------------------------------------------------------------------


def test_the_containment_form_stops_the_clock(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    climb()
    client = client_for(people["leader"])

    response = client.post(
        f"/problems/{problem.pk}/contain/",
        {
            "action": "Suspect parts quarantined, 100% check at station 3",
            "done_by": "Wang Wei",
            "quantity_secured": "120",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/problems/{problem.pk}/#escalation"
    problem.refresh_from_db()
    assert problem.status == Problem.Status.CONTAINED
    assert problem.contained_at is not None and problem.escalate_at is None
    containment = Containment.objects.get(problem=problem)
    assert (containment.done_by, containment.quantity_secured, containment.recorded_by) == (
        "Wang Wei",
        120,
        people["leader"],
    )
    page = client.get(f"/problems/{problem.pk}/")
    html = page.content.decode()
    assert f"Containment recorded: escalation stopped at {local_hm(problem.contained_at)}." in html
    assert f"Stopped: contained at {local_hm(problem.contained_at)}" in html
    assert [(rung.level, rung.state) for rung in page.context["escalation"].rungs] == [(4, "fired"), (3, "stopped")]
    assert 'data-testid="countdown"' not in html
    assert "Suspect parts quarantined" in html and "by Wang Wei · 120 secured" in html
    # the workshop tier never comes
    assert climb(timezone.now() + dt.timedelta(hours=3)) == []
    assert problem.escalation_events.count() == 1


def test_the_containment_form_proposes_the_current_user_as_the_one_who_did_it(world, people):
    problem = log(world.line_a1, people["qe"], 10)

    response = client_for(people["leader"]).get(f"/problems/{problem.pk}/")

    form = response.context["containment_form"]
    assert form.initial["done_by"] == "Leader"
    assert 'name="done_by" value="Leader"' in response.content.decode()


def test_an_invalid_containment_re_renders_the_page_with_errors_and_stops_nothing(world, people):
    problem = log(world.line_a1, people["leader"], 10)

    response = client_for(people["leader"]).post(
        f"/problems/{problem.pk}/contain/", {"action": "  ", "done_by": "Wang Wei", "quantity_secured": "-3"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what was done." in html
    assert "Ensure this value is greater than or equal to 0." in html
    assert 'data-testid="escalation"' in html  # the whole problem page, not a bare form
    assert 'value="Wang Wei"' in html  # what was typed stays
    problem.refresh_from_db()
    assert problem.contained_at is None and problem.escalate_at is not None
    assert not Containment.objects.exists()


def test_a_second_containment_is_recorded_without_moving_the_stop_time(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    client = client_for(people["leader"])
    client.post(f"/problems/{problem.pk}/contain/", {"action": "Sorted", "done_by": "Li", "quantity_secured": "5"})
    problem.refresh_from_db()
    first = problem.contained_at

    response = client.post(
        f"/problems/{problem.pk}/contain/", {"action": "Supplier lot blocked", "done_by": "Li", "quantity_secured": "0"}
    )

    assert response.status_code == 302
    problem.refresh_from_db()
    assert problem.contained_at == first
    assert Containment.objects.filter(problem=problem).count() == 2
    assert "Record another action" in client.get(f"/problems/{problem.pk}/").content.decode()


def test_containment_needs_scope_and_the_right_to_report(world, other_world, people, outsider):
    problem = log(world.line_a1, people["leader"], 10)
    data = {"action": "Sorted", "done_by": "X", "quantity_secured": "1"}
    other_line_leader = make_person("m1leader", Role.TEAM_LEADER, plant=world.plant, line=world.line_m1)
    # In scope through a role whose group an admin took the right to report from.
    no_rights = make_person("norights", Role.UTILITIES_ENGINEER, plant=world.plant)
    Group.objects.get(name=Role.UTILITIES_ENGINEER).permissions.remove(Permission.objects.get(codename="add_problem"))

    assert client_for(outsider).post(f"/problems/{problem.pk}/contain/", data).status_code == 404
    assert client_for(other_line_leader).post(f"/problems/{problem.pk}/contain/", data).status_code == 404
    assert client_for(no_rights).post(f"/problems/{problem.pk}/contain/", data).status_code == 403
    anonymous = Client().post(f"/problems/{problem.pk}/contain/", data)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert client_for(people["leader"]).get(f"/problems/{problem.pk}/contain/").status_code == 405
    assert not Containment.objects.exists()


def test_containment_is_protected_by_csrf(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["leader"])

    response = client.post(f"/problems/{problem.pk}/contain/", {"action": "x", "done_by": "y", "quantity_secured": 1})

    assert response.status_code == 403
    assert not Containment.objects.exists()


def test_a_closed_problem_offers_no_containment_form(world, people):
    problem = log(world.line_a1, people["leader"], 10)
    close_without_eightd(problem, user=people["leader"])
    client = client_for(people["leader"])

    page = client.get(f"/problems/{problem.pk}/")
    response = client.post(f"/problems/{problem.pk}/contain/", {"action": "x", "done_by": "y", "quantity_secured": 1})

    assert 'data-testid="contain-submit"' not in page.content.decode()
    assert "Stopped: contained at" in page.content.decode()
    assert response.status_code == 302
    assert Containment.objects.count() == 1  # the one recorded before closing


# --- the notification centre ---------------------------------------------------------------


def test_the_bell_shows_the_unread_count_and_is_polled(world, people):
    log(world.line_a1, people["qe"], 10)
    log(world.line_a2, people["qe"], 10, title="Scratch on cover")  # not the leader's line
    climb()
    client = client_for(people["leader"])

    home = client.get("/")
    bell = client.get("/notifications/bell/")

    assert home.context["notifications_unread"] == 1
    assert re.search(r'data-testid="bell-count">1<', home.content.decode())
    assert bell.status_code == 200
    fragment = bell.content.decode()
    assert fragment.lstrip().startswith('<a href="/notifications/" id="bell"')
    assert 'hx-trigger="every 10s, notifications-changed from:body"' in fragment
    assert re.search(r'data-testid="bell-count">1<', fragment)


def test_the_notification_centre_lists_newest_first_highlights_unread_and_marks_them_read(world, people):
    first = log(world.line_a1, people["qe"], 40, title="Burr on flange")
    climb(timezone.now() - dt.timedelta(minutes=1))
    second = log(world.line_a1, people["qe"], 10, title="Scratch on cover")
    climb()
    client = client_for(people["leader"])

    response = client.get("/notifications/")

    html = response.content.decode()
    rows = response.context["rows"]
    assert [row.event.problem for row in rows] == [second, first]
    assert all(row.was_unread for row in rows)
    assert html.count('class="note unread') == 2
    assert html.index(second.number) < html.index(first.number)
    assert f'href="/problems/{second.pk}/"' in html
    assert html.count('data-testid="acknowledge"') == 2
    assert not Notification.objects.filter(recipient=people["leader"], channel="inapp", read_at__isnull=True).exists()
    assert 'data-testid="bell-count"' not in client.get("/notifications/bell/").content.decode()
    again = client.get("/notifications/").content.decode()
    assert 'class="note unread' not in again


def test_im_on_it_acknowledges_marks_read_and_leaves_the_clock_running(world, people):
    problem = log(world.line_a1, people["qe"], 10)
    (event,) = climb()
    problem.refresh_from_db()
    deadline = problem.escalate_at

    response = client_for(people["leader"]).post(f"/escalations/{event.pk}/acknowledge/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    fragment = response.content.decode()
    assert fragment.startswith('<li class="note acked"') and "✔ On it" in fragment
    mine = Notification.objects.filter(event=event, recipient=people["leader"])
    assert mine.count() == 4 and all(item.acknowledged_at and item.read_at for item in mine)
    assert not Notification.objects.filter(event=event, recipient=people["qe"], acknowledged_at__isnull=False).exists()
    problem.refresh_from_db()
    assert problem.escalate_at == deadline  # only containment stops the clock
    assert 'data-testid="bell-count"' not in client_for(people["leader"]).get("/notifications/bell/").content.decode()


def test_im_on_it_without_javascript_redirects_back_safely(world, people):
    problem = log(world.line_a1, people["qe"], 10)
    (event,) = climb()
    client = client_for(people["leader"])

    back = client.post(f"/escalations/{event.pk}/acknowledge/", {"next": f"/problems/{problem.pk}/#escalation"})
    elsewhere = client.post(f"/escalations/{event.pk}/acknowledge/", {"next": "https://evil.example/"})

    assert back.status_code == 302 and back["Location"] == f"/problems/{problem.pk}/#escalation"
    assert elsewhere["Location"] == "/notifications/"


def test_only_a_person_the_event_reached_can_acknowledge_it(world, people, outsider):
    log(world.line_a1, people["qe"], 10)
    (event,) = climb()  # level 4: leader and qe, not the director

    assert client_for(people["director"]).post(f"/escalations/{event.pk}/acknowledge/").status_code == 404
    assert client_for(outsider).post(f"/escalations/{event.pk}/acknowledge/").status_code == 404
    assert client_for(people["leader"]).get(f"/escalations/{event.pk}/acknowledge/").status_code == 405
    assert not Notification.objects.filter(acknowledged_at__isnull=False).exists()


def test_signed_out_the_bell_stops_polling_and_the_centre_asks_to_log_in():
    bell = Client().get("/notifications/bell/")
    centre = Client().get("/notifications/")

    assert bell.status_code == 286 and bell.content == b""  # htmx: stop polling
    assert centre.status_code == 302 and centre["Location"].startswith("/login/")


# --- the escalations list ---------------------------------------------------------------


@pytest.fixture
def ledger(world, people):
    """A1 (B, 40 min): level 4 and level 3, phone/SMS/e-mail failed, in-app delivered.
    M1 (B, 10 min, in-app only plan): level 4 to the quality engineer, nothing failed."""
    a1 = log(world.line_a1, people["qe"], 40, title="Burr on flange")
    m1 = log(world.line_m1, people["qe"], 10, title="Press leak", inapp_only=True)
    climb()
    return {
        "a1_l4": EscalationEvent.objects.get(problem=a1, level=4),
        "a1_l3": EscalationEvent.objects.get(problem=a1, level=3),
        "m1_l4": EscalationEvent.objects.get(problem=m1, level=4),
    }


def listed(client, query: str = "") -> set[int]:
    response = client.get(f"/escalations/{query}")
    assert response.status_code == 200
    return {event.pk for event, _summary, _label in response.context["page"]}


def test_the_escalations_list_shows_every_event_in_scope(ledger, people):
    response = client_for(people["qe"]).get("/escalations/")

    html = response.content.decode()
    assert {event.pk for event, _s, _l in response.context["page"]} == {event.pk for event in ledger.values()}
    assert "3 escalations" in html
    assert "Level 3 — workshop" in html and "Press leak" in html
    assert 'href="/escalations/"' in html  # the nav link


def test_escalation_filters(ledger, people, world):
    client = client_for(people["qe"])
    a1 = {ledger["a1_l4"].pk, ledger["a1_l3"].pk}
    everything = a1 | {ledger["m1_l4"].pk}

    assert listed(client, "?level=3") == {ledger["a1_l3"].pk}
    assert listed(client, "?level=4") == {ledger["a1_l4"].pk, ledger["m1_l4"].pk}
    assert listed(client, f"?plant={world.plant.pk}") == everything
    assert listed(client, f"?workshop={world.machining.pk}") == {ledger["m1_l4"].pk}
    assert listed(client, f"?workshop={world.assembly.pk}") == a1
    assert listed(client, "?channel=email") == a1  # the e-mail fallback was tried only there
    assert listed(client, "?channel=inapp") == everything
    assert listed(client, "?failed=true") == a1
    assert listed(client, "?failed=false") == {ledger["m1_l4"].pk}
    assert listed(client, "?kind=tier") == everything
    assert listed(client, "?kind=no_owner") == set()
    assert listed(client, f"?problem={ledger['m1_l4'].problem.number}") == {ledger["m1_l4"].pk}
    EscalationEvent.objects.filter(pk=ledger["a1_l3"].pk).update(fired_at=timezone.now() - dt.timedelta(days=5))
    today = timezone.localdate(timezone.now(), timezone.get_fixed_timezone(8 * 60)).isoformat()
    five_days_ago = timezone.localdate(
        timezone.now() - dt.timedelta(days=5), timezone.get_fixed_timezone(8 * 60)
    ).isoformat()
    assert listed(client, f"?fired_after={today}") == {ledger["a1_l4"].pk, ledger["m1_l4"].pk}
    assert listed(client, f"?fired_before={five_days_ago}") == {ledger["a1_l3"].pk}


def test_escalation_list_scope(ledger, people, outsider, world):
    assert listed(client_for(people["director"])) == {ledger["a1_l4"].pk, ledger["a1_l3"].pk}  # assembly only
    assert listed(client_for(people["leader"])) == {ledger["a1_l4"].pk, ledger["a1_l3"].pk}  # line A1
    assert listed(client_for(outsider)) == set()
    assert listed(client_for(outsider), f"?plant={world.plant.pk}") == set()
    export = client_for(outsider).get("/escalations/?export=csv").content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(export))) == [LIST_HEADER]
    anonymous = Client().get("/escalations/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def expected_row(event, recipients, channels, delivered, failed, fell_through=""):
    problem = event.problem
    return [
        timezone.localtime(event.fired_at, timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%d %H:%M:%S"),
        problem.number,
        problem.grade,
        str(problem.line),
        {4: "Level 4 — line", 3: "Level 3 — workshop"}[event.level],
        recipients,
        channels,
        delivered,
        failed,
        fell_through,
    ]


def test_csv_and_xlsx_exports_carry_the_ledger(ledger, people):
    client = client_for(people["qe"])
    expected = {
        ledger["a1_l4"].pk: expected_row(ledger["a1_l4"], "Leader, Qe", "Phone call, SMS, E-mail, In-app", 2, 6),
        ledger["a1_l3"].pk: expected_row(ledger["a1_l3"], "Director", "Phone call, SMS, E-mail, In-app", 1, 3),
        ledger["m1_l4"].pk: expected_row(ledger["m1_l4"], "Qe", "In-app", 1, 0),
    }

    response = client.get("/escalations/?export=csv&level=4&level=3")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="qrqc-escalations-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == LIST_HEADER
    as_text = [[str(value) for value in row] for row in expected.values()]
    assert sorted(rows[1:]) == sorted(as_text)

    workbook = load_workbook(io.BytesIO(client.get("/escalations/?export=xlsx").content))
    sheet_rows = [
        [cell if cell is not None else "" for cell in row] for row in workbook.active.iter_rows(values_only=True)
    ]
    assert list(sheet_rows[0]) == LIST_HEADER
    assert sorted(sheet_rows[1:], key=str) == sorted(expected.values(), key=str)

    filtered = client.get("/escalations/?export=csv&failed=false").content.decode("utf-8-sig")
    assert [row[1] for row in csv.reader(io.StringIO(filtered))][1:] == [ledger["m1_l4"].problem.number]


def test_a_fall_through_is_exported_as_such(world):
    machining_director = make_person("mdirector", Role.WORKSHOP_DIRECTOR, plant=world.plant, workshop=world.machining)
    log(world.line_m1, machining_director, 10)
    climb()

    rows = list(
        csv.reader(
            io.StringIO(client_for(machining_director).get("/escalations/?export=csv").content.decode("utf-8-sig"))
        )
    )

    assert rows[1][4:6] == ["Level 4 — line", "Mdirector"]
    assert rows[1][-1] == "yes"


# --- queries stay constant ----------------------------------------------------------------


def count_queries(client, url: str) -> int:
    client.get(url)  # warm-up: session, plant time zone
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_problem_page_costs_the_same_queries_for_3_and_30_people_told(world, quality_engineer):
    for number in range(3):
        make_person(f"few{number}", Role.TEAM_LEADER, plant=world.plant, line=world.line_a1)
    for number in range(30):
        make_person(f"many{number}", Role.TEAM_LEADER, plant=world.plant, line=world.line_a2)
    few = log(world.line_a1, quality_engineer, 40)
    many = log(world.line_a2, quality_engineer, 40)
    climb()
    assert (
        Notification.objects.filter(event__problem=few).count()
        < Notification.objects.filter(event__problem=many).count() / 5
    )
    client = client_for(quality_engineer)

    assert count_queries(client, f"/problems/{few.pk}/") == count_queries(client, f"/problems/{many.pk}/")


def test_the_escalations_list_costs_the_same_queries_for_3_and_30_events(world, people):
    for number in range(3):
        log(world.line_a1, people["qe"], 10, title=f"first {number}")
    climb()
    client = client_for(people["qe"])
    assert EscalationEvent.objects.count() == 3
    with_3 = count_queries(client, "/escalations/")

    for number in range(27):
        log(world.line_a1, people["qe"], 10, title=f"more {number}")
    climb()
    assert EscalationEvent.objects.count() == 30

    assert count_queries(client, "/escalations/") == with_3


# --- health ---------------------------------------------------------------------------------


def test_healthz_fails_when_the_sweep_never_ran():
    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "ok": False,
        "sweep_last_run": None,
        "sweep_age_seconds": None,
        "stale_after_seconds": 60,
    }


def test_healthz_is_ok_right_after_a_sweep_without_logging_in(world):
    sweep()

    response = Client().get("/healthz")

    body = json.loads(response.content)
    assert response.status_code == 200
    assert body["ok"] is True and 0 <= body["sweep_age_seconds"] < 5
    assert body["sweep_last_run"] == SweepRun.objects.get(name="sweep").last_run_at.isoformat()
    assert "no-cache" in response["Cache-Control"]


def test_healthz_fails_when_the_sweep_is_older_than_the_limit(world, settings):
    sweep()
    SweepRun.objects.update(last_run_at=timezone.now() - dt.timedelta(seconds=90))

    stale = Client().get("/healthz")
    settings.QRQC_SWEEP_STALE_SECONDS = 120
    tolerated = Client().get("/healthz")

    assert stale.status_code == 503
    assert json.loads(stale.content)["ok"] is False and json.loads(stale.content)["sweep_age_seconds"] >= 90
    assert tolerated.status_code == 200
    assert json.loads(tolerated.content)["stale_after_seconds"] == 120


def test_every_page_shows_a_red_banner_while_escalation_is_stalled(people):
    client = client_for(people["leader"])

    never = client.get("/")
    sweep()
    running = client.get("/problems/")
    SweepRun.objects.update(last_run_at=timezone.now() - dt.timedelta(minutes=5, seconds=10))
    stale = client.get("/problems/")

    assert never.context["escalation_stalled"] == True  # noqa: E712 (a lazy object, not a bool)
    assert 'data-testid="escalation-stalled"' in never.content.decode()
    assert "The escalation sweep has never run" in never.content.decode()
    assert 'data-testid="escalation-stalled"' not in running.content.decode()
    assert "The escalation sweep last ran 5 minutes ago" in stale.content.decode()
    assert 'data-testid="escalation-stalled"' not in Client().get("/login/").content.decode()


def test_the_header_costs_nothing_for_anonymous_pages():
    with CaptureQueriesContext(connection) as queries:
        Client().get("/login/")

    assert not [query for query in queries if "escalation_" in query["sql"]]
