"""The lessons-learned library at /lessons/ (closed 8Ds' D7 lessons: filters, search, scope,
export) and the intake form's "already known?" hint at /problems/already-known/."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from issues.eightd import lessons
from issues.models import FailureMode, Lesson, Problem, Role
from issues.problems import lifecycle
from issues.problems.intake import Report, report_problem
from tests.conftest import make_person
from tests.issues.eightd_factory import OCCURRED, complete_report

pytestmark = pytest.mark.django_db

LIBRARY_URL = "/lessons/"
KNOWN_URL = "/problems/already-known/"


def log(line, reporter, *, failure_mode=None, cause_family: str = "", title: str = "Burr on housing") -> Problem:
    """A problem stored the way intake stores it (an A: 21 A-class defects)."""
    report = Report(
        line=line,
        category="quality",
        title=title,
        occurred_at=OCCURRED,
        facts={"defect_class": "A", "defect_count": 21},
        failure_mode=failure_mode,
        cause_family=cause_family,
    )
    return report_problem(report, reporter=reporter)[0]


def lesson_for(problem: Problem, *, text: str, product: str = "", learned_on=dt.date(2025, 3, 10), **extra) -> Lesson:
    """A library entry as learn_from writes it (its problem closed), without filling a whole 8D."""
    Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.CLOSED, closed_at=OCCURRED)
    return Lesson.objects.create(
        plant=problem.plant,
        problem=problem,
        failure_mode=problem.failure_mode,
        line=problem.line,
        cause_family=problem.cause_family,
        product=product,
        title=problem.title,
        lesson=text,
        learned_on=learned_on,
        **extra,
    )


def shown_lessons(response) -> list[int]:
    assert response.status_code == 200
    return [lesson.pk for lesson in response.context["page"]]


@pytest.fixture
def qe_client(client, quality_engineer):
    client.force_login(quality_engineer)
    return client


@pytest.fixture
def paint(world):
    return FailureMode.objects.create(plant=world.plant, category="quality", name_en="Paint run", name_zh="流挂")


# --- lessons enter the library ---------------------------------------------------------------


def test_closing_an_8d_problem_puts_its_d7_lesson_in_the_library_under_its_failure_mode_and_line(
    world, team_leader, workshop_director, quality_engineer, failure_mode, qe_client
):
    problem = log(world.line_a1, team_leader, failure_mode=failure_mode, cause_family="machine")
    # The director writes the answers, the quality engineer accepts each one and closes.
    complete_report(problem, workshop_director, quality_engineer, now=OCCURRED)
    assert Problem.objects.get(pk=problem.pk).status == Problem.Status.VERIFYING
    assert not Lesson.objects.exists()

    lifecycle.close_problem(problem, user=quality_engineer, now=OCCURRED + dt.timedelta(days=20))

    lesson = Lesson.objects.get(problem=problem)
    assert (lesson.plant, lesson.failure_mode, lesson.line, lesson.cause_family) == (
        world.plant,
        failure_mode,
        world.line_a1,
        "machine",
    )
    assert lesson.lesson == "Deburring tools need a life counter"
    assert lesson.product == "Housing 4711"
    page = qe_client.get(LIBRARY_URL).content.decode()
    assert "Deburring tools need a life counter" in page
    assert "Worn deburring tool" in page  # the root cause, from D4
    assert f"/problems/{problem.pk}/8d/" in page
    assert f"/problems/{problem.pk}/" in page


# --- filters, search, order ------------------------------------------------------------------


def test_the_library_filters_by_place_failure_mode_cause_family_product_and_learned_dates(
    world, team_leader, quality_engineer, failure_mode, paint, qe_client
):
    burr_a1 = lesson_for(
        log(world.line_a1, team_leader, failure_mode=failure_mode, cause_family="machine"),
        text="Change the deburring tool",
        product="Housing 4711",
        learned_on=dt.date(2025, 3, 10),
    )
    paint_m1 = lesson_for(
        log(world.line_m1, quality_engineer, failure_mode=paint, cause_family="material"),
        text="Check the paint viscosity",
        product="Cover 12",
        learned_on=dt.date(2025, 5, 2),
    )

    def found(**query):
        return shown_lessons(qe_client.get(LIBRARY_URL, query))

    assert found() == [paint_m1.pk, burr_a1.pk]  # newest first
    assert found(line=world.line_a1.pk) == [burr_a1.pk]
    assert found(workshop=world.machining.pk) == [paint_m1.pk]
    assert found(plant=world.plant.pk) == [paint_m1.pk, burr_a1.pk]
    assert found(failure_mode=paint.pk) == [paint_m1.pk]
    assert found(cause_family="machine") == [burr_a1.pk]
    assert found(product="4711") == [burr_a1.pk]
    assert found(learned_after="2025-04-01") == [paint_m1.pk]
    assert found(learned_before="2025-04-01") == [burr_a1.pk]
    # Both ends count, in the plant's days (Shanghai is east of UTC: its midnight is the day before there).
    assert found(learned_after="2025-05-02", learned_before="2025-05-02") == [paint_m1.pk]
    assert found(learned_after="2025-03-10", learned_before="2025-03-10") == [burr_a1.pk]
    assert found(learned_after="2025-05-03") == []
    assert found(order="learned") == [burr_a1.pk, paint_m1.pk]
    assert found(order="line") == [burr_a1.pk, paint_m1.pk]


def test_search_finds_lessons_by_their_texts_and_the_chinese_failure_mode_name(
    world, team_leader, failure_mode, paint, qe_client
):
    burr = lesson_for(
        log(world.line_a1, team_leader, failure_mode=failure_mode),
        text="刀具寿命计数器",
        root_cause="Worn tool",
        actions="Tool life counter installed",
    )
    paint_run = lesson_for(log(world.line_a2, team_leader, failure_mode=paint), text="Check the viscosity")

    def found(text):
        return shown_lessons(qe_client.get(LIBRARY_URL, {"q": text}))

    assert found("毛刺") == [burr.pk]  # the failure mode's Chinese name
    assert found("流挂") == [paint_run.pk]
    assert found("寿命") == [burr.pk]  # Chinese in the lesson itself
    assert found("worn") == [burr.pk]  # root cause, any case
    assert found("counter installed") == [burr.pk]  # every word must match
    assert found("viscosity") == [paint_run.pk]
    assert found(burr.problem.number) == [burr.pk]
    assert found("nothing-like-this") == []


def test_a_bad_filter_value_shows_its_error_and_no_lesson(world, team_leader, failure_mode, qe_client):
    lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Change the tool")

    response = qe_client.get(LIBRARY_URL, {"line": "abc", "learned_after": "not a date", "page": "x"})

    assert response.status_code == 200
    assert shown_lessons(response) == []
    assert set(response.context["filter"].errors) == {"line", "learned"}


# --- scope -----------------------------------------------------------------------------------


def test_another_plants_lessons_are_invisible_and_an_outsider_sees_none_of_ours(
    world, other_world, team_leader, outsider, failure_mode, client
):
    ours = lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Our lesson")
    theirs = lesson_for(log(other_world.line_a1, outsider), text="Their lesson")
    reader = make_person("reader", Role.QUALITY_ENGINEER, plant=world.plant)

    client.force_login(reader)
    assert shown_lessons(client.get(LIBRARY_URL)) == [ours.pk]
    client.force_login(outsider)
    page = client.get(LIBRARY_URL)
    assert shown_lessons(page) == [theirs.pk]
    assert "Our lesson" not in page.content.decode()
    assert "Our lesson" not in client.get(LIBRARY_URL, {"export": "csv"}).content.decode()


def test_a_line_scoped_reader_reads_the_whole_plants_library_but_gets_no_link_to_other_lines_problems(
    world, team_leader, quality_engineer, client
):
    mine = lesson_for(log(world.line_a1, team_leader), text="On my line")
    elsewhere = lesson_for(log(world.line_m1, quality_engineer), text="On another line")

    client.force_login(team_leader)  # team leader of line A1 only
    response = client.get(LIBRARY_URL)

    assert set(shown_lessons(response)) == {mine.pk, elsewhere.pk}
    html = response.content.decode()
    assert f'href="/problems/{mine.problem_id}/"' in html
    assert f'href="/problems/{elsewhere.problem_id}/"' not in html
    assert client.get(f"/problems/{elsewhere.problem_id}/").status_code == 404


def test_the_library_page_costs_the_same_queries_for_one_lesson_or_many(
    world, team_leader, failure_mode, qe_client, django_assert_max_num_queries
):
    lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="First")
    with django_assert_max_num_queries(20) as one:  # session, rights, filter choices, the page
        qe_client.get(LIBRARY_URL)
    for index in range(5):
        lesson_for(log(world.line_a2, team_leader, failure_mode=failure_mode), text=f"Lesson {index}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = qe_client.get(LIBRARY_URL)
    assert len(shown_lessons(response)) == 6


# --- export ----------------------------------------------------------------------------------


def test_the_csv_and_excel_exports_contain_the_filtered_lessons(world, team_leader, failure_mode, paint, qe_client):
    burr = lesson_for(
        log(world.line_a1, team_leader, failure_mode=failure_mode, cause_family="machine"),
        text="=Change the tool",  # a formula in a cell must not run in Excel
        product="Housing 4711",
    )
    lesson_for(log(world.line_a2, team_leader, failure_mode=paint), text="Check the viscosity")

    response = qe_client.get(LIBRARY_URL, {"failure_mode": failure_mode.pk, "export": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert record["Lesson learned"] == "'=Change the tool"
    assert (record["Failure mode"], record["Line"], record["Product"]) == ("Burr", "Assembly 1", "Housing 4711")
    assert (record["Cause family"], record["Problem"]) == ("Machine", burr.problem.number)

    workbook = load_workbook(io.BytesIO(qe_client.get(LIBRARY_URL, {"export": "xlsx"}).content))
    assert workbook.active.max_row == 3  # header and both lessons


# --- "already known?" at intake --------------------------------------------------------------


@pytest.fixture
def leader_client(client, team_leader):
    client.force_login(team_leader)
    return client


def known(client, line, failure_mode: str):
    return client.get(KNOWN_URL, {"line": line, "failure_mode": failure_mode})


def test_the_hint_lists_the_lessons_and_open_problems_of_the_failure_mode_on_the_line(
    world, other_world, team_leader, quality_engineer, outsider, failure_mode, paint, leader_client
):
    same_line_lesson = lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Same line lesson")
    other_line_lesson = lesson_for(
        log(world.line_m1, quality_engineer, failure_mode=failure_mode),
        text="Other line lesson",
        learned_on=dt.date(2025, 6, 1),  # newer, still after this line's
    )
    open_here = log(world.line_a1, team_leader, failure_mode=failure_mode, title="Burr again")
    open_other_line = log(world.line_a2, team_leader, failure_mode=failure_mode, title="Burr on A2")
    other_mode = log(world.line_a1, team_leader, failure_mode=paint, title="Paint run on A1")
    closed_here = log(world.line_a1, team_leader, failure_mode=failure_mode, title="Burr closed")
    Problem.objects.filter(pk=closed_here.pk).update(status=Problem.Status.CLOSED)
    twin = FailureMode.objects.create(plant=other_world.plant, name_en="Burr", name_zh="毛刺")
    other_plant = log(other_world.line_a1, outsider, failure_mode=twin, title="Burr elsewhere")

    response = known(leader_client, world.line_a1.pk, "burr")  # any case, as typed

    assert response.status_code == 200
    found = response.context["known"]
    assert [lesson.pk for lesson in found.lessons] == [same_line_lesson.pk, other_line_lesson.pk]
    assert [problem.pk for problem in found.problems] == [open_here.pk]
    html = response.content.decode()
    assert "Same line lesson" in html and open_here.number in html
    for absent in (open_other_line, other_mode, closed_here, other_plant):
        assert absent.number not in html
    # The Chinese name finds the same failure mode.
    assert [p.pk for p in known(leader_client, world.line_a1.pk, "毛刺").context["known"].problems] == [open_here.pk]


def test_the_hint_is_empty_for_an_unknown_or_missing_failure_mode_or_line(
    world, team_leader, failure_mode, leader_client
):
    lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Change the tool")
    log(world.line_a1, team_leader, failure_mode=failure_mode)

    for line, text in [
        (world.line_a1.pk, "Scratch"),
        (world.line_a1.pk, "  "),
        ("", "Burr"),
        (world.line_a2.pk, "Burr"),  # a line the team leader of A1 does not follow
    ]:
        response = known(leader_client, line, text)
        assert (response.status_code, response.content) == (200, b""), (line, text)
    assert not FailureMode.objects.filter(name_en="Scratch").exists()  # looking up adds nothing


@pytest.mark.parametrize("line", ["abc", "1.5", "-1", "１２", "9" * 30, "1\x00"])
def test_a_garbage_line_id_gives_an_empty_hint_not_a_server_error(world, failure_mode, leader_client, line):
    assert known(leader_client, line, "Burr").status_code == 200


def test_an_outsider_gets_no_hint_for_our_line(world, team_leader, outsider, failure_mode, client):
    lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Change the tool")
    client.force_login(outsider)

    assert known(client, world.line_a1.pk, "Burr").content == b""


def test_the_hint_costs_a_name_lookup_and_one_query_per_list(
    world, team_leader, failure_mode, django_assert_num_queries
):
    lesson_for(log(world.line_a1, team_leader, failure_mode=failure_mode), text="Change the tool")
    log(world.line_a1, team_leader, failure_mode=failure_mode)
    line = world.line_a1.__class__.objects.select_related("workshop__plant").get(pk=world.line_a1.pk)

    with django_assert_num_queries(3):
        found = lessons.already_known(line, "Burr")
        assert len(found.lessons) == len(found.problems) == 1
    with django_assert_num_queries(2):  # unknown: both names tried, nothing else
        assert not lessons.already_known(line, "Scratch")


def test_the_intake_form_asks_for_the_hint_with_the_line_and_failure_mode_only(world, leader_client):
    html = leader_client.get("/problems/new/").content.decode()

    assert 'hx-get="/problems/already-known/"' in html
    assert 'hx-include="#id_line, #id_failure_mode"' in html
    assert 'id="id_failure_mode"' in html and 'id="id_line"' in html
