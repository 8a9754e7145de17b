"""The minutes of a QRQC meeting (issue #5): what they record (agenda by group, decisions,
board colours, the sign-in sheet, duration), that an ended meeting's record does not change
when its problems move on, a fixed number of queries, and the A4 printout: its content in
English and Chinese, user text printed literally, the embedded CJK font, long agendas over
several pages, and who may download it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from issues.eightd import solving
from issues.eightd.rules import Colour
from issues.meetings import meeting as meeting_verbs
from issues.meetings.meeting import MAX_DECISION
from issues.meetings.minutes import minutes_data, render_minutes
from issues.models import AgendaItem, Attendance, Meeting, Problem, Role
from issues.problems import lifecycle
from tests.conftest import make_person
from tests.issues.eightd_factory import graded_problem
from tests.issues.test_printout import pages, pdf_text, run, saved

pytestmark = pytest.mark.django_db

R, Y, G, W = Colour.RED, Colour.YELLOW, Colour.GREEN, Colour.WHITE
DAY = dt.date(2025, 3, 5)
STARTED = dt.datetime(2025, 3, 5, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
ENDED = STARTED + dt.timedelta(minutes=12, seconds=20)
MARKUP = "<b>x</b> & 中文"


# --------------------------------------------------------------------------- building meetings


@pytest.fixture
def chair(world):
    return make_person("chair", Role.QUALITY_MANAGER, plant=world.plant)


def start(world, chair, *, workshop=None, day=DAY) -> Meeting:
    return Meeting.objects.create(
        plant=world.plant,
        workshop=workshop,
        day=day,
        chair=chair,
        started_at=STARTED,
        escalations_since=STARTED - dt.timedelta(days=1),
    )


def put(meeting: Meeting, problem: Problem, group: str, *, reasons=(), decision="", confirmed=False) -> AgendaItem:
    return AgendaItem.objects.create(
        meeting=meeting,
        problem=problem,
        group=group,
        reasons=[group, *reasons],
        position=meeting.items.count() + 1,
        decision=decision,
        discussed_at=STARTED if decision else None,
        closure_confirmed_at=STARTED if confirmed else None,
    )


def sign(meeting: Meeting, person, role: str, department: str, state: str, **extra) -> Attendance:
    return Attendance.objects.create(
        meeting=meeting, person=person, role=role, department=department, state=state, **extra
    )


def end(meeting: Meeting, notes: str = "") -> Meeting:
    meeting.state, meeting.ended_at, meeting.notes = Meeting.State.ENDED, ENDED, notes
    meeting.save()
    return meeting


def copies(problem: Problem, count: int) -> list[Problem]:
    """`count` stored copies of `problem` with their own numbers (no history: bulk-loaded)."""
    fields = {f.attname: getattr(problem, f.attname) for f in Problem._meta.concrete_fields if not f.primary_key}
    rows = [Problem(**{**fields, "number": f"{problem.number}-{index:03d}"}) for index in range(count)]
    return Problem.objects.bulk_create(rows)


def items_of(minutes) -> dict[str, object]:
    return {item.number: item for item in minutes.items}


# --------------------------------------------------------------------------- the record


def test_the_minutes_list_the_agenda_by_group_in_the_agendas_order(world, chair, team_leader, quality_engineer):
    meeting = start(world, chair, workshop=world.assembly)
    late = graded_problem(world.line_a2, team_leader, "B")
    customer = graded_problem(world.line_a1, team_leader, "A")
    lifecycle.assign_owner(customer, user=chair, owner=quality_engineer, due_date=dt.date(2025, 3, 12))
    # Put on the agenda in the order the meeting groups them, whatever the insertion order.
    put(meeting, late, "overdue_8d", decision="Containment by tomorrow")
    put(meeting, customer, "customer", reasons=["escalated"], decision="Sort all stock", confirmed=False)
    AgendaItem.objects.filter(problem=late).update(position=2)
    AgendaItem.objects.filter(problem=customer).update(position=1)

    minutes = minutes_data(meeting, now=ENDED)

    assert [(group.key, group.label) for group in minutes.groups] == [
        ("customer", "Customer concerns"),
        ("overdue_8d", "Overdue 8D sections"),
    ]
    first = minutes.groups[0].items[0]
    assert (first.number, first.grade, first.line, first.owner, first.due_date) == (
        customer.number,
        "A",
        "Assembly 1",
        "Qe",
        dt.date(2025, 3, 12),
    )
    assert first.status == "Open" and first.decision == "Sort all stock" and first.discussed
    assert first.reasons == ("Customer concerns", "Escalated since the last meeting")
    assert minutes.groups[1].items[0].owner == "" and minutes.groups[1].items[0].decision == "Containment by tomorrow"
    assert (minutes.plant, minutes.workshop, minutes.chair, minutes.day) == ("Test Plant", "Assembly", "Chair", DAY)


def test_a_plant_meeting_has_no_workshop_and_an_empty_agenda_is_fine(world, chair):
    minutes = minutes_data(start(world, chair), now=STARTED)

    assert minutes.workshop == "" and minutes.groups == () and minutes.closures == ()


def test_the_board_colours_follow_the_8d_sections_or_else_the_chairs_board_status(
    world, chair, team_leader, quality_engineer
):
    meeting = start(world, chair)
    with_report = graded_problem(world.line_a1, team_leader, "A")
    report = solving.start_report(with_report, user=quality_engineer)
    report.sections.filter(code__in=["D0", "D1", "D2", "D3"]).update(state="accepted")
    report.sections.filter(code="D4").update(state="draft")
    without = graded_problem(world.line_a2, team_leader, "C")
    without.board_status = {"containment": "yellow"}
    without.save()
    put(meeting, with_report, "customer")
    put(meeting, without, "other")

    colours = {item.number: item.colours for item in minutes_data(meeting, now=STARTED).items}

    assert list(colours[with_report.number].values()) == [G, Y, R, R, R]
    # A C problem needs no 8D here: nothing to act on or verify.
    assert list(colours[without.number].values()) == [Y, R, W, W, R]


def test_a_cancelled_problem_on_the_agenda_has_no_colours(world, chair, team_leader):
    meeting = start(world, chair)
    original = graded_problem(world.line_a1, team_leader, "B")
    duplicate = graded_problem(world.line_a1, team_leader, "B")
    put(meeting, duplicate, "other")
    lifecycle.cancel_as_duplicate(duplicate, user=chair, duplicate_of=original)

    (item,) = minutes_data(meeting, now=STARTED).items

    assert item.colours == {} and item.status == "Cancelled"


def test_an_ended_meetings_minutes_keep_the_problems_as_they_stood_at_its_end(
    world, chair, team_leader, quality_engineer, general_manager
):
    meeting = start(world, chair)
    problem = graded_problem(world.line_a1, team_leader, "A")
    lifecycle.assign_owner(problem, user=chair, owner=quality_engineer, due_date=dt.date(2025, 3, 12))
    put(meeting, problem, "customer", decision="QE owns it")
    end(meeting)

    # After the meeting: a new owner, a later date, an 8D started, and a new title.
    lifecycle.assign_owner(problem, user=chair, owner=general_manager, due_date=dt.date(2025, 4, 1))
    solving.start_report(problem, user=quality_engineer).sections.filter(code="D0").update(state="accepted")
    Problem.objects.get(pk=problem.pk).save()  # a later history row, as any edit makes
    (item,) = minutes_data(meeting, now=ENDED + dt.timedelta(days=3)).items

    assert (item.owner, item.due_date) == ("Qe", dt.date(2025, 3, 12))
    assert list(item.colours.values()) == [R, R, R, R, R]  # no report yet when the meeting ended
    assert item.decision == "QE owns it"


def test_an_ended_meetings_minutes_keep_the_8d_sections_as_they_stood_at_its_end(
    world, chair, team_leader, quality_engineer
):
    meeting = start(world, chair)
    problem = graded_problem(world.line_a1, team_leader, "A")
    report = solving.start_report(problem, user=quality_engineer)
    solving.mark_not_applicable(report.sections.get(code="D0"), user=quality_engineer, reason="no emergency")
    put(meeting, problem, "customer")
    end(meeting)

    for code in ("D3", "D5", "D6"):  # after the meeting
        solving.mark_not_applicable(report.sections.get(code=code), user=quality_engineer, reason="later")
    running = start(world, chair, day=DAY + dt.timedelta(days=1))
    put(running, problem, "customer")

    (then,) = minutes_data(meeting, now=ENDED + dt.timedelta(days=1)).items
    (now,) = minutes_data(running, now=ENDED + dt.timedelta(days=1)).items

    assert list(then.colours.values()) == [Y, R, R, R, R]  # D0 was N/A when the meeting ended
    assert list(now.colours.values()) == [Y, R, W, W, R]  # D5, D6 N/A since


def test_a_meeting_run_with_the_meeting_verbs_is_recorded_as_it_ended(
    world, chair, team_leader, quality_engineer, general_manager, tmp_path
):
    now = dt.datetime(2025, 3, 4, 3, 0, tzinfo=dt.UTC)  # 11:00 in Shanghai, two hours after the problem
    problem = graded_problem(world.line_a1, team_leader, "A")
    meeting = meeting_verbs.start_meeting(chair, world.plant, now=now)
    (item,) = meeting.items.all()
    meeting_verbs.assign(item, user=chair, owner=quality_engineer, due_date=dt.date(2025, 3, 12), now=now)
    meeting_verbs.record_decision(item, user=chair, text="Sort all stock", now=now)
    meeting_verbs.end_meeting(meeting, user=chair, notes="Short meeting", now=now + dt.timedelta(minutes=11))
    lifecycle.assign_owner(problem, user=chair, owner=general_manager, due_date=dt.date(2025, 4, 1))

    minutes = minutes_data(meeting, now=now + dt.timedelta(days=2))

    (entry,) = minutes.items
    assert (entry.owner, entry.due_date, entry.decision) == ("Qe", dt.date(2025, 3, 12), "Sort all stock")
    assert (minutes.duration_minutes, minutes.notes, minutes.chair) == (11, "Short meeting", "Chair")
    assert minutes.count(Attendance.State.ABSENT_WITHOUT_LEAVE) == len(minutes.attendance) - 1  # all but the chair
    text = pdf_text(render_minutes(minutes, "en"), tmp_path)
    assert problem.number in text and "Sort all stock" in text and "Short meeting" in text


def test_a_running_meeting_shows_the_problems_as_they_are_now_and_its_duration_so_far(
    world, chair, team_leader, general_manager
):
    meeting = start(world, chair)
    problem = graded_problem(world.line_a1, team_leader, "A")
    put(meeting, problem, "customer")
    lifecycle.assign_owner(problem, user=chair, owner=general_manager, due_date=dt.date(2025, 4, 1))

    minutes = minutes_data(meeting, now=STARTED + dt.timedelta(minutes=7, seconds=40))

    assert minutes.running and minutes.ended_at is None
    assert minutes.duration_minutes == 8
    assert minutes.items[0].owner == "Gm"
    assert minutes.started_at.strftime("%H:%M") == "08:30"  # Shanghai time


def test_an_ended_meeting_records_its_duration_end_and_notes(world, chair):
    minutes = minutes_data(end(start(world, chair), notes="Safety first"), now=ENDED + dt.timedelta(days=1))

    assert not minutes.running and minutes.state_label == "Ended"
    assert (minutes.ended_at.strftime("%H:%M"), minutes.duration_minutes, minutes.notes) == (
        "08:42",
        12,
        "Safety first",
    )


def test_the_sign_in_sheet_goes_by_department_and_counts_each_attendance(
    world, chair, team_leader, quality_engineer, workshop_director, general_manager, operator
):
    meeting = start(world, chair, workshop=world.assembly)
    guest = make_person("visitor", None)
    sign(meeting, quality_engineer, Role.QUALITY_ENGINEER, "quality", Attendance.State.ABSENT_WITHOUT_LEAVE)
    sign(meeting, team_leader, Role.TEAM_LEADER, "production", Attendance.State.PRESENT)
    sign(meeting, workshop_director, Role.WORKSHOP_DIRECTOR, "production", Attendance.State.STAND_IN, stand_in=operator)
    sign(meeting, general_manager, Role.GENERAL_MANAGER, "management", Attendance.State.ABSENT, note="customer visit")
    sign(meeting, guest, "", "", Attendance.State.PRESENT, expected=False, stand_in_name="")
    sign(meeting, chair, Role.QUALITY_MANAGER, "quality", Attendance.State.UNKNOWN)

    minutes = minutes_data(meeting, now=STARTED)

    assert [(row.department_label, row.person, row.role, row.state_label) for row in minutes.attendance] == [
        ("Management", "Gm", "General manager", "Absent, excused"),
        ("Production", "Director", "Workshop director", "Stand-in"),
        ("Production", "Leader", "Team leader", "Present"),
        ("Quality", "Qe", "Quality / process engineer", "Absent without leave"),
        ("Quality", "Chair", "Quality manager", "Not signed"),
        ("Guests", "Visitor", "", "Present"),
    ]
    assert minutes.attendance[1].stand_in == "Operator" and minutes.attendance[0].note == "customer visit"
    assert {entry.state: entry.count for entry in minutes.attendance_counts} == {
        "unknown": 1,
        "present": 2,
        "stand_in": 1,
        "absent": 1,
        "awol": 1,
    }


def test_labels_and_places_follow_the_active_language(world, chair, team_leader):
    meeting = start(world, chair, workshop=world.assembly)
    put(meeting, graded_problem(world.line_a1, team_leader, "A"), "customer")

    with translation.override("zh-hans"):
        minutes = minutes_data(meeting, now=STARTED)

    assert (minutes.plant, minutes.workshop, minutes.items[0].line) == ("测试工厂", "总装车间", "总装一线")
    assert minutes.items[0].status == "待处理"


def _big_meeting(world, chair, team_leader, quality_engineer, size: int, *, ended: bool) -> Meeting:
    """A meeting with `size` agenda items (one with an 8D, all with an owner) and a sign-in row per item."""
    meeting = start(world, chair, day=DAY + dt.timedelta(days=size))
    template = graded_problem(world.line_a1, team_leader, "A")
    solving.start_report(template, user=quality_engineer)
    put(meeting, template, "customer")
    problems = copies(template, size - 1)
    Problem.objects.filter(pk__in=[p.pk for p in problems]).update(owner=quality_engineer)
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, problem=p, group="other", reasons=["other", "repeat"], position=n)
        for n, p in enumerate(problems, start=2)
    )
    people = [make_person(f"p{size}-{n}", Role.TEAM_LEADER, plant=world.plant) for n in range(min(size, 12))]
    Attendance.objects.bulk_create(
        Attendance(meeting=meeting, person=person, role=Role.TEAM_LEADER, department="production") for person in people
    )
    return end(meeting) if ended else meeting


@pytest.mark.parametrize("ended", [False, True], ids=["running", "ended"])
def test_the_minutes_take_the_same_few_queries_for_5_or_500_agenda_items(
    world, chair, team_leader, quality_engineer, ended
):
    counts = []
    for size in (5, 500):
        meeting = _big_meeting(world, chair, team_leader, quality_engineer, size, ended=ended)
        with CaptureQueriesContext(connection) as queries:
            minutes = minutes_data(meeting, now=ENDED)
        assert len(minutes.items) == size
        counts.append(len(queries))

    assert counts[0] == counts[1] <= (7 if ended else 5)


# --------------------------------------------------------------------------- the printout


def printed(meeting: Meeting, language: str, now=ENDED) -> bytes:
    with translation.override(language):
        return render_minutes(minutes_data(meeting, now=now), language)


@pytest.fixture
def held(world, chair, team_leader, quality_engineer, general_manager) -> Meeting:
    """An ended workshop meeting: two problems, decisions, a confirmed closure, a sign-in sheet, notes."""
    meeting = start(world, chair, workshop=world.assembly)
    burr = graded_problem(world.line_a1, team_leader, "A")
    lifecycle.assign_owner(burr, user=chair, owner=quality_engineer, due_date=dt.date(2025, 3, 12))
    leak = graded_problem(world.line_a2, team_leader, "C")
    put(meeting, burr, "customer", reasons=["repeat"], decision="Sort all stock; 100% check")
    put(meeting, leak, "due_today", decision="Closed: seal replaced", confirmed=True)
    sign(meeting, team_leader, Role.TEAM_LEADER, "production", Attendance.State.PRESENT)
    sign(meeting, quality_engineer, Role.QUALITY_ENGINEER, "quality", Attendance.State.ABSENT_WITHOUT_LEAVE)
    sign(meeting, general_manager, Role.GENERAL_MANAGER, "management", Attendance.State.STAND_IN, stand_in_name="王强")
    return end(meeting, notes="Line 2 stops at 14:00 for maintenance")


def test_the_english_printout_has_the_header_agenda_closures_sheet_totals_and_notes(held, tmp_path):
    text = pdf_text(printed(held, "en"), tmp_path)

    assert "QRQC meeting minutes" in text
    for expected in ("Test Plant", "Assembly", "2025-03-05", "Chair", "08:30", "08:42", "12 min"):
        assert expected in text
    agenda = text[text.index("Agenda") : text.index("Closures confirmed")]
    assert agenda.index("Customer concerns (1)") < agenda.index("Due today (1)")
    assert "Sort all stock; 100% check" in agenda and "Also: Repeated problems" in agenda
    assert "2025-03-12" in agenda and "Qe" in agenda
    closures = text[text.index("Closures confirmed") : text.index("Sign-in sheet")]
    assert "Burr on housing (C)" in closures and "Burr on housing (A)" not in closures
    sheet = text[text.index("Sign-in sheet") :]
    assert "Signature" in sheet and "Absent without leave" in sheet and "王强" in sheet
    assert "Line 2 stops at 14:00 for maintenance" in sheet
    assert "Page 1 of 1" in text and "in progress" not in text.lower()


def test_the_chinese_printout_has_chinese_labels_and_places(held, tmp_path):
    text = pdf_text(printed(held, "zh-hans"), tmp_path)

    assert "测试工厂" in text and "总装车间" in text and "总装一线" in text
    assert "工厂" in text and "负责人" in text and "签名" in text and "部门" in text  # labels, translated
    assert "第 1 页，共 1 页" in text and "打印于 2025-03-05" in text


def test_the_cjk_font_is_embedded(held, tmp_path):
    fonts = [line.split() for line in run("pdffonts", saved(printed(held, "zh-hans"), tmp_path)).splitlines()[2:]]

    assert fonts and all("WenQuanYi" in font[0] and font[-5] == "yes" for font in fonts)


def test_what_people_typed_is_printed_literally_not_read_as_markup(world, chair, team_leader, tmp_path):
    meeting = start(world, chair)
    problem = graded_problem(world.line_a1, team_leader, "A")
    Problem.objects.filter(pk=problem.pk).update(title=MARKUP)
    put(meeting, problem, "customer", decision=MARKUP)
    sign(meeting, team_leader, Role.TEAM_LEADER, "production", Attendance.State.ABSENT, note=MARKUP)
    meeting.notes = f"{MARKUP}\nsecond line"
    meeting.save()

    text = pdf_text(printed(meeting, "en"), tmp_path)

    assert f"{MARKUP}\nsecond line" in text
    assert text.replace("\n", " ").count(MARKUP) == 4  # title, decision, sign-in note, notes


def test_a_running_meeting_prints_marked_in_progress(world, chair, tmp_path):
    text = pdf_text(printed(start(world, chair), "en", now=STARTED + dt.timedelta(minutes=5)), tmp_path)

    assert "The meeting is in progress: these minutes are not final." in text
    assert "5 min so far" in text and "No problems on the agenda." in text


def test_sixty_items_run_over_a_few_pages_with_the_table_header_on_each(
    world, chair, team_leader, quality_engineer, tmp_path
):
    meeting = _big_meeting(world, chair, team_leader, quality_engineer, 60, ended=True)
    pdf = printed(meeting, "en")
    total = pages(pdf, tmp_path)

    by_page = pdf_text(pdf, tmp_path).split("\f")[:total]

    assert 2 <= total <= 6
    numbers = set(meeting.items.values_list("problem__number", flat=True))
    with_items = [text for text in by_page if any(number in text for number in numbers)]
    assert len(with_items) >= 2 and all("Decision" in text and "Owner" in text for text in with_items)
    assert all(number in "".join(by_page) for number in numbers) and len(numbers) == 60
    assert [f"Page {n} of {total}" in text for n, text in enumerate(by_page, 1)] == [True] * total


def test_a_very_long_decision_runs_on_over_the_next_page(world, chair, team_leader, tmp_path):
    meeting = start(world, chair)
    # As long as the meeting page takes (issues.meetings.meeting.MAX_DECISION), in Chinese: longer than a page in its column.
    decision = "FIRST-WORDS " + "全检所有库存并隔离可疑批次。" * 140 + " LAST-WORDS"
    assert len(decision) <= MAX_DECISION
    put(meeting, graded_problem(world.line_a1, team_leader, "A"), "customer", decision=decision)

    by_page = pdf_text(printed(meeting, "en"), tmp_path).split("\f")

    first = next(n for n, text in enumerate(by_page) if "FIRST-WORDS" in text)
    last = next(n for n, text in enumerate(by_page) if "LAST-WORDS" in text)
    assert last > first


# --------------------------------------------------------------------------- the download


def url(meeting: Meeting, **query) -> str:
    path = reverse("meetings:minutes_pdf", args=[meeting.pk])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_chair_gets_the_minutes_inline_named_after_the_place_and_day(client, held, chair):
    client.force_login(chair)

    response = client.get(url(held, language="en"))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="qrqc-minutes-tp1-assembly-2025-03-05.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_plant_meetings_file_name_has_no_workshop(client, world, chair):
    client.force_login(chair)

    response = client.get(url(end(start(world, chair))))

    assert response["Content-Disposition"] == 'inline; filename="qrqc-minutes-tp1-2025-03-05.pdf"'


def test_a_reader_of_the_workshop_gets_the_minutes_and_so_does_a_team_leader_of_one_of_its_lines(
    client, held, operator, team_leader
):
    for reader in (operator, team_leader):
        client.force_login(reader)
        assert client.get(url(held)).status_code == 200


def test_someone_of_another_workshop_line_does_not_see_a_workshops_meeting(client, held, world):
    machinist = make_person("machinist", Role.OPERATOR, plant=world.plant, line=world.line_m1)
    client.force_login(machinist)

    assert client.get(url(held)).status_code == 404


def test_a_line_level_reader_of_a_plant_meeting_gets_the_items_of_their_lines_only(
    client, world, chair, team_leader, operator, tmp_path
):
    meeting = start(world, chair)
    mine = graded_problem(world.line_a1, team_leader, "A")
    other = graded_problem(world.line_m1, team_leader, "B")
    put(meeting, mine, "customer")
    put(meeting, other, "other")
    client.force_login(operator)  # of line A1

    text = pdf_text(b"".join(client.get(url(meeting, language="en")).streaming_content), tmp_path)

    assert mine.number in text and other.number not in text
    assert [item.number for item in minutes_data(meeting, user=operator, now=STARTED).items] == [mine.number]


def test_someone_of_another_plant_gets_not_found(client, held, outsider):
    client.force_login(outsider)

    assert client.get(url(held)).status_code == 404


def test_someone_in_scope_without_the_right_to_see_meetings_is_refused(client, held, operator):
    Group.objects.get(name=Role.OPERATOR).permissions.remove(Permission.objects.get(codename="view_meeting"))
    client.force_login(operator)

    assert client.get(url(held)).status_code == 403


def test_without_its_font_the_minutes_are_a_503_page_in_the_readers_language_and_logged(
    client, held, chair, settings, tmp_path, caplog
):
    settings.QRQC_PDF_FONT = str(tmp_path / "no-such-font.ttc")
    client.force_login(chair)

    with caplog.at_level("ERROR", logger="issues.eightd.pdf_views"):
        response = client.get(url(held, language="zh-hans"))  # the page is in the reader's language, English

    assert response.status_code == 503
    assert "Printout unavailable" in response.content.decode()
    assert "no-such-font.ttc" in caplog.text


def test_without_a_login_there_are_no_minutes(client, held):
    response = client.get(url(held))

    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_minutes_come_in_the_readers_language_unless_asked_otherwise(client, held, chair, tmp_path):
    client.force_login(chair)
    client.cookies["django_language"] = "zh-hans"

    chinese = pdf_text(b"".join(client.get(url(held)).streaming_content), tmp_path)
    english = pdf_text(b"".join(client.get(url(held, language="en")).streaming_content), tmp_path)

    assert "第 1 页，共 1 页" in chinese and "测试工厂" in chinese
    assert "Page 1 of 1" in english and "Test Plant" in english


def test_an_unknown_language_is_refused_with_a_message(client, held, chair):
    client.force_login(chair)

    response = client.get(url(held, language="fr"))

    assert response.status_code == 400 and "zh-hans" in response.content.decode()
