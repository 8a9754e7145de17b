"""8D due-soon and overdue notices through the escalation channels (issue #4): the sweep's third
pass over Section.notice_at, the notice rules the plant edits (AlarmRule), who is told, what
the message says, and the problem page. The clock is an explicit `now`."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from escalation import dispatch, ladder
from escalation.messages import compose
from escalation.models import AlarmRule, EscalationEvent, NoticeKind, Notification
from escalation.sweep import sweep
from issues.eightd import solving
from issues.eightd.rules import section_of_level
from issues.models import Problem, Role, Section, SectionCode
from issues.problems.lifecycle import assign_owner, cancel_as_duplicate, contain
from tests.concurrency import run_together
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import clean_answer, valid_content

HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)
DUE_SOON, OVERDUE = NoticeKind.SECTION_DUE_SOON, NoticeKind.SECTION_OVERDUE


@pytest.fixture(autouse=True)
def site_time_zone_afterwards():
    """A request activates the plant's zone and leaves it active in the thread."""
    yield
    timezone.deactivate()


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


@pytest.fixture
def team(world, quality_engineer):
    """The 8D team: the quality engineer who starts the report leads it; an owner and a member
    are named after; a quality manager reviews; an inspection section chief watches the plant."""
    return {
        "leader": quality_engineer,
        "owner": make_person("owner", Role.QUALITY_ENGINEER, plant=world.plant, language="zh-hans"),
        "member": make_person("member", Role.QUALITY_ENGINEER, plant=world.plant, language="en"),
        "reviewer": make_person("qm", Role.QUALITY_MANAGER, plant=world.plant),
        "chief": make_person("chief", Role.INSPECTION_SECTION_CHIEF, plant=world.plant),
    }


@pytest.fixture
def start_eightd(log_problem, operator, team, occurred):
    """start_eightd(): a contained A problem (so no tier climbs) with its 8D started at
    occurrence, an owner and a member. D0–D3 are due a day later, D4 and D5 three days."""

    def start(title: str = "Burr on housing"):
        problem = log_problem(operator, title=title)
        contain(problem, action="sorted", done_by="line", quantity_secured=0, user=operator, now=occurred)
        report = solving.start_report(problem, user=team["leader"], now=occurred)
        assign_owner(problem, user=team["reviewer"], owner=team["owner"], due_date=None, now=occurred)
        report.members.add(team["member"])
        return Problem.objects.get(pk=problem.pk)

    return start


@pytest.fixture
def problem(start_eightd):
    return start_eightd()


def after(occurred: dt.datetime, hours: float, seconds: int = 0) -> dt.datetime:
    return occurred + dt.timedelta(hours=hours, seconds=seconds)


def section(problem: Problem, code: str) -> Section:
    return Section.objects.get(report__problem=problem, code=code)


def noticed(problem: Problem, code: str | None = None) -> list[tuple[str, str, int]]:
    """(section, kind, rework round) of the problem's notices in the ledger, in order."""
    rows = problem.escalation_events.filter(kind__in=NoticeKind.values).order_by("pk").values_list("kind", "level")
    found = [(section_of_level(level), kind, level // 10) for kind, level in rows]
    return [row for row in found if code is None or row[0] == code]


def told(event: EscalationEvent) -> list[tuple[str, str]]:
    return [(person["username"], person["role"]) for person in event.recipients]


def submit(problem: Problem, code: str, author, now: dt.datetime) -> Section:
    content = clean_answer(problem, code, valid_content(code, [author]))
    return solving.submit(section(problem, code), user=author, content=content, now=now)


# The clock ------------------------------------------------------------------------------------


def test_due_soon_fires_at_exactly_twelve_hours_before_the_deadline_and_not_a_second_before(problem, occurred):
    d4 = section(problem, "D4")
    assert d4.due_at == after(occurred, 72)
    assert d4.notice_at == after(occurred, 60)

    sweep(now=after(occurred, 60, seconds=-1))
    assert noticed(problem, "D4") == []

    events = [event for event in sweep(now=after(occurred, 60)) if event.kind in NoticeKind.values]

    assert [(section_of_level(event.level), event.kind) for event in events] == [("D4", DUE_SOON), ("D5", DUE_SOON)]
    assert (events[0].due_at, events[0].fired_at) == (after(occurred, 60), after(occurred, 60))
    d4 = section(problem, "D4")
    assert d4.notices_sent == ["due_soon/0"]
    assert d4.notice_at == after(occurred, 72)  # the overdue notice is next


def test_overdue_fires_at_the_deadline(problem, occurred):
    sweep(now=after(occurred, 60))
    sweep(now=after(occurred, 72, seconds=-1))
    assert noticed(problem, "D4") == [("D4", DUE_SOON, 0)]

    sweep(now=after(occurred, 72))

    assert noticed(problem, "D4") == [("D4", DUE_SOON, 0), ("D4", OVERDUE, 0)]
    event = problem.escalation_events.get(kind=OVERDUE, level=4)
    assert event.due_at == after(occurred, 72)
    d4 = section(problem, "D4")
    assert (d4.notices_sent, d4.notice_at) == (["due_soon/0", "overdue/0"], None)
    sweep(now=after(occurred, 100))
    assert len(noticed(problem, "D4")) == 2  # nothing more is owed


def test_a_section_first_swept_after_its_deadline_gets_only_the_overdue_notice(problem, occurred):
    sweep(now=after(occurred, 80))

    assert noticed(problem) == [(code, OVERDUE, 0) for code in ("D0", "D1", "D2", "D3", "D4", "D5")]
    assert section(problem, "D6").notice_at == after(occurred, 14 * 24 - 12)  # not due yet


def test_a_second_sweep_at_the_same_moment_writes_nothing_more(problem, occurred):
    first = sweep(now=after(occurred, 60))
    again = sweep(now=after(occurred, 60))

    assert len([event for event in first if event.kind in NoticeKind.values]) == 6
    assert again == []


# Answered, returned, closed ----------------------------------------------------------------


def test_submitted_accepted_and_not_applicable_sections_get_no_notice(problem, team, occurred):
    early = after(occurred, 2)
    submit(problem, "D1", team["member"], early)
    solving.accept(submit(problem, "D2", team["member"], early), user=team["reviewer"], now=early)
    solving.mark_not_applicable(section(problem, "D3"), user=team["member"], reason="nothing to contain", now=early)

    sweep(now=after(occurred, 30))

    assert noticed(problem) == [("D0", OVERDUE, 0)]
    assert [section(problem, code).notice_at for code in ("D1", "D2", "D3")] == [None, None, None]


def test_a_stale_notice_time_on_an_answered_section_is_cleared_without_a_notice(problem, team, occurred):
    submit(problem, "D4", team["member"], after(occurred, 2))
    Section.objects.filter(report__problem=problem, code="D4").update(notice_at=after(occurred, 60))

    sweep(now=after(occurred, 80))

    assert noticed(problem, "D4") == []
    assert section(problem, "D4").notice_at is None


def test_a_returned_answer_gets_its_own_notices_at_its_new_deadline(problem, team, occurred):
    sweep(now=after(occurred, 60))  # D4 due soon, first round
    submit(problem, "D4", team["member"], after(occurred, 62))
    solving.return_answer(section(problem, "D4"), user=team["reviewer"], reason="no evidence", now=after(occurred, 64))
    d4 = section(problem, "D4")
    assert d4.due_at == after(occurred, 64 + 72)  # three more days from the return
    assert d4.notice_at == after(occurred, 64 + 72 - 12)

    sweep(now=after(occurred, 124, seconds=-1))
    assert noticed(problem, "D4") == [("D4", DUE_SOON, 0)]
    sweep(now=after(occurred, 124))
    sweep(now=after(occurred, 136))

    assert noticed(problem, "D4") == [("D4", DUE_SOON, 0), ("D4", DUE_SOON, 1), ("D4", OVERDUE, 1)]
    assert section(problem, "D4").notices_sent == ["due_soon/0", "due_soon/1", "overdue/1"]
    rework = problem.escalation_events.get(kind=DUE_SOON, level=14)
    assert rework.due_at == after(occurred, 124)


def test_a_closed_problems_sections_get_no_notice(problem, team, occurred):
    d7 = section(problem, "D7")
    solving.save_answer(
        d7, user=team["member"], content=clean_answer(problem, "D7", valid_content("D7", [team["member"]]))
    )
    close_without_eightd(problem, user=team["reviewer"], now=after(occurred, 1))  # an 8D this plant does not need

    sweep(now=after(occurred, 24 * 20))

    assert noticed(problem) == []
    assert not Section.objects.filter(report__problem=problem, notice_at__isnull=False).exists()


def test_a_cancelled_problems_sections_get_no_notice(start_eightd, team, occurred):
    kept, duplicate = start_eightd("Burr"), start_eightd("Burr again")
    cancel_as_duplicate(duplicate, user=team["reviewer"], duplicate_of=kept)

    sweep(now=after(occurred, 24 * 20))

    assert noticed(duplicate) == []
    assert len(noticed(kept)) == 9
    assert not Section.objects.filter(report__problem=duplicate, notice_at__isnull=False).exists()


# Who is told ---------------------------------------------------------------------------------


def test_the_owner_the_leader_and_the_members_are_told_and_the_section_chief_too_when_overdue(problem, occurred):
    sweep(now=after(occurred, 60))
    sweep(now=after(occurred, 72))

    due_soon = problem.escalation_events.get(kind=DUE_SOON, level=4)
    overdue = problem.escalation_events.get(kind=OVERDUE, level=4)
    team_told = [("owner", "problem_owner"), ("qe", "eightd_leader"), ("member", "eightd_member")]
    assert told(due_soon) == team_told
    assert told(overdue) == [*team_told, ("chief", "inspection_section_chief")]
    assert due_soon.channels == overdue.channels == ["inapp", "email"]
    assert not due_soon.fell_through and not overdue.fell_through


def test_a_notice_nobody_can_receive_falls_through_to_the_managers_like_an_alarm(problem, team, world, occurred):
    for person in (team["owner"], team["leader"], team["member"], team["chief"]):
        person.is_active = False
        person.save(update_fields=["is_active"])
    make_person("pm", Role.PRODUCTION_MANAGER, plant=world.plant)

    sweep(now=after(occurred, 80))

    event = problem.escalation_events.get(kind=OVERDUE, level=4)
    assert told(event) == [("pm", "production_manager"), ("qm", "quality_manager")]  # the managers' tier
    assert event.fell_through
    assert event.missing_roles == ["inspection_section_chief"]


# The rules are data ----------------------------------------------------------------------------


def test_every_plant_gets_the_notice_rules_and_new_problems_carry_them_in_their_plan(world, problem):
    rules = {rule.kind: (rule.roles, rule.channels) for rule in AlarmRule.objects.filter(plant=world.plant)}

    assert rules[DUE_SOON] == ([], ["inapp", "email"])
    assert rules[OVERDUE] == (["inspection_section_chief"], ["inapp", "email"])
    planned = {alarm["kind"]: alarm["roles"] for alarm in problem.escalation_plan["alarms"]}
    assert planned[OVERDUE] == ["inspection_section_chief"]
    # the problem's own timed alarms are not changed by them
    assert [step.kind for step in ladder.timed_alarms(problem.escalation_plan)] == ["no_owner", "unresolved_week"]


def test_an_edited_notice_rule_is_used_for_problems_graded_after_the_edit(world, start_eightd, team, occurred):
    before = start_eightd("Before the edit")
    AlarmRule.objects.filter(plant=world.plant, kind=OVERDUE).update(roles=[Role.QUALITY_MANAGER], channels=["sms"])
    later = start_eightd("After the edit")

    sweep(now=after(occurred, 80))

    edited = later.escalation_events.get(kind=OVERDUE, level=4)
    assert edited.channels == ["sms"]
    assert told(edited)[-1] == ("qm", "quality_manager")
    kept = before.escalation_events.get(kind=OVERDUE, level=4)
    assert (kept.channels, told(kept)[-1]) == (["inapp", "email"], ("chief", "inspection_section_chief"))


def test_a_problem_graded_before_notice_rules_existed_uses_the_plants_current_rule(world, problem, occurred):
    plan = problem.escalation_plan
    plan["alarms"] = [alarm for alarm in plan["alarms"] if alarm["kind"] not in NoticeKind.values]
    Problem.objects.filter(pk=problem.pk).update(escalation_plan=plan)
    AlarmRule.objects.filter(plant=world.plant, kind=DUE_SOON).update(roles=[Role.QUALITY_MANAGER], channels=["inapp"])

    sweep(now=after(occurred, 60))

    event = problem.escalation_events.get(kind=DUE_SOON, level=4)
    assert event.channels == ["inapp"]
    assert told(event)[-1] == ("qm", "quality_manager")


def test_a_notice_rule_may_reach_the_team_alone_but_an_alarm_needs_a_role_and_notices_take_no_minutes(world):
    due_soon = AlarmRule.objects.get(plant=world.plant, kind=DUE_SOON)
    due_soon.full_clean()  # no extra role: valid

    due_soon.after_minutes = 60
    with pytest.raises(ValidationError) as timed:
        due_soon.full_clean()
    assert "after_minutes" in timed.value.message_dict

    alarm = AlarmRule.objects.get(plant=world.plant, kind="no_owner")
    alarm.roles = []
    with pytest.raises(ValidationError) as empty:
        alarm.full_clean()
    assert "roles" in empty.value.message_dict


def test_the_admin_saves_a_notice_rule_with_no_extra_role(admin_client, world):
    rule = AlarmRule.objects.get(plant=world.plant, kind=DUE_SOON)
    page = f"/admin/escalation/alarmrule/{rule.pk}/change/"
    assert admin_client.get(page).status_code == 200

    response = admin_client.post(page, {"plant": world.plant.pk, "kind": DUE_SOON, "channels": ["inapp", "sms"]})

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.roles, rule.channels) == ([], ["inapp", "sms"])
    assert rule.history.count() == 2


# What is sent --------------------------------------------------------------------------------


def test_dispatch_turns_a_notice_into_in_app_messages_naming_the_section_and_its_deadline(
    problem, team, occurred, outbox
):
    sweep(now=after(occurred, 60))
    dispatch.dispatch(after(occurred, 60))

    event = problem.escalation_events.get(kind=DUE_SOON, level=4)
    english = Notification.objects.get(event=event, recipient=team["member"], channel="inapp")
    assert english.status == Notification.Status.SENT
    assert english.subject == f"[QRQC] 8D D4 due soon: {problem.number}"
    assert "8D section “D4 Root cause” is due 2025-03-07 09:00." in english.body  # Shanghai time
    assert "Assembly 1" in english.body and "Burr on housing" in english.body
    assert english.body.endswith(f"/problems/{problem.pk}/8d/D4/")

    chinese = Notification.objects.get(event=event, recipient=team["owner"], channel="inapp")
    assert chinese.status == Notification.Status.SENT
    assert "总装一线" in chinese.body and "Assembly 1" not in chinese.body
    assert "2025-03-07 09:00" in chinese.body and "D4" in chinese.subject
    with translation.override("zh-hans"):
        assert str(SectionCode.D4.label) in chinese.body
    assert not Notification.objects.filter(event=event, status=Notification.Status.PENDING).exists()


def test_the_overdue_message_says_since_when_and_its_sms_fits_one_message(problem, occurred, settings):
    sweep(now=after(occurred, 80))
    event = problem.escalation_events.get(kind=OVERDUE, level=4)

    message = compose(event, "en", after(occurred, 80))

    assert message.subject == f"[QRQC] 8D D4 overdue: {problem.number}"
    assert "was due 2025-03-07 09:00 and is not submitted yet." in message.text
    assert len(message.sms) <= settings.QRQC_SMS_MAX_CHARS
    assert message.sms.startswith(f"QRQC {problem.number} 8D D4 overdue since 03-07 09:00")


# The problem page --------------------------------------------------------------------------


def test_the_problem_page_lists_the_notices_with_the_alarms(client, problem, team, occurred):
    sweep(now=after(occurred, 60))
    sweep(now=after(occurred, 72))
    client.force_login(team["member"])

    response = client.get(f"/problems/{problem.pk}/")

    labels = [rung.label for rung in response.context["escalation"].alarms if rung.is_notice]
    found_overdue = ["D0 overdue", "D1 overdue", "D2 overdue", "D3 overdue"]
    assert labels == [*found_overdue, "D4 due soon", "D5 due soon", "D4 overdue", "D5 overdue"]
    html = response.content.decode()
    assert "Alarms and 8D notices" in html
    notice = html[html.index('data-testid="notice"') :]
    assert "D4 due soon" in notice
    assert "Owner" in notice and "Problem owner" in notice and "8D team leader" in notice


# Two sweeps at once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sweepers", [2, 4], ids=["two sweeps at once", "four sweeps at once"])
def test_sweeps_racing_on_the_same_due_sections_write_each_notice_once(
    postgresql_only, start_eightd, occurred, sweepers
):
    problems = [start_eightd(f"Burr {index}") for index in range(3)]

    for hours in (60, 80):
        run_together(sweepers, lambda hours=hours: sweep(now=after(occurred, hours)))

    ledger = Counter(
        EscalationEvent.objects.filter(kind__in=NoticeKind.values).values_list("problem_id", "kind", "level")
    )
    # per problem: D0–D3 found overdue and D4, D5 due soon at 60 h; D4, D5 overdue at 80 h
    assert len(ledger) == 8 * len(problems)
    assert set(ledger.values()) == {1}
    for sent in Section.objects.values_list("notices_sent", flat=True):
        assert len(sent) == len(set(sent))
