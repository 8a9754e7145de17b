"""The problem list at /problems/: filters (plant, workshop, line, category, grade, status, date
range, free text) and the CSV / XLSX exports, read back with csv and openpyxl."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from issues.common.scope import assign_role
from issues.models import Problem, Role
from issues.problems.intake import Report, report_problem
from issues.problems.lifecycle import assign_owner

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = [
    "Number",
    "Grade",
    "Status",
    "Category",
    "Plant",
    "Workshop",
    "Line",
    "Shift",
    "Occurred at",
    "Title",
    "Failure mode",
    "Cause family",
    "QC / QE",
    "Why this grade",
    "Special team required",
    "Reported by",
    "Owner",
    "Closure due",
    "Closed at",
]


def log(
    line,
    reporter,
    title,
    *,
    category="quality",
    facts=None,
    days_ago=0.1,
    description="",
    failure_mode=None,
    status=None,
) -> Problem:
    report = Report(
        line=line,
        category=category,
        title=title,
        description=description,
        failure_mode=failure_mode,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        facts=facts or {},
    )
    problem = report_problem(report, reporter=reporter)[0]
    if status:
        problem.status = status
        problem.save()
    return problem


@pytest.fixture
def board(world, quality_engineer, failure_mode):
    """Problems across lines, categories, grades, statuses and days."""
    return {
        "burr": log(
            world.line_a1,
            quality_engineer,
            "Burr on flange",
            facts={"defect_class": "A", "defect_count": 25},
            failure_mode=failure_mode,
        ),
        "press": log(
            world.line_m1,
            quality_engineer,
            "Press stopped",
            category="equipment",
            facts={"downtime_minutes": 90},
            description="hydraulic leak at the ram",
            days_ago=3,
        ),
        "records": log(
            world.line_a2,
            quality_engineer,
            "Checklist not filled",
            facts={"records_missing": True},
            status=Problem.Status.CLOSED,
            days_ago=10,
        ),
    }


@pytest.fixture
def qe_client(quality_engineer):
    client = Client()
    client.force_login(quality_engineer)
    return client


def titles(response) -> set[str]:
    assert response.status_code == 200
    return {problem.title for problem in response.context["page"]}


def local_day(days_ago: float) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).astimezone(SHANGHAI).date().isoformat()


# --- filters -----------------------------------------------------------------------------


def test_without_filters_the_list_shows_every_problem_in_scope_newest_first(board, qe_client):
    response = qe_client.get("/problems/")

    assert [problem.title for problem in response.context["page"]] == [
        "Burr on flange",
        "Press stopped",
        "Checklist not filled",
    ]
    assert "3 problems" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(lambda w: {"line": w.line_a1.pk}, {"Burr on flange"}, id="line"),
        pytest.param(
            lambda w: {"line": [w.line_a1.pk, w.line_m1.pk]}, {"Burr on flange", "Press stopped"}, id="two lines"
        ),
        pytest.param(lambda w: {"workshop": w.assembly.pk}, {"Burr on flange", "Checklist not filled"}, id="workshop"),
        pytest.param(
            lambda w: {"plant": w.plant.pk}, {"Burr on flange", "Press stopped", "Checklist not filled"}, id="plant"
        ),
        pytest.param(lambda w: {"category": "equipment"}, {"Press stopped"}, id="category"),
        pytest.param(lambda w: {"grade": "A"}, {"Burr on flange"}, id="grade A"),
        pytest.param(lambda w: {"grade": ["B", "C"]}, {"Press stopped", "Checklist not filled"}, id="grades B and C"),
        pytest.param(lambda w: {"status": "closed"}, {"Checklist not filled"}, id="status"),
        pytest.param(lambda w: {"occurred_after": local_day(4)}, {"Burr on flange", "Press stopped"}, id="from"),
        pytest.param(
            lambda w: {"occurred_before": local_day(3)},
            {"Press stopped", "Checklist not filled"},
            id="until, the whole day included",
        ),
        pytest.param(
            lambda w: {"occurred_after": local_day(11), "occurred_before": local_day(5)},
            {"Checklist not filled"},
            id="between",
        ),
        pytest.param(lambda w: {"q": "flange"}, {"Burr on flange"}, id="text in the title"),
        pytest.param(lambda w: {"q": "HYDRAULIC"}, {"Press stopped"}, id="text in the description, any case"),
        pytest.param(lambda w: {"q": "毛刺"}, {"Burr on flange"}, id="failure mode in Chinese"),
        pytest.param(lambda w: {"q": "press leak"}, {"Press stopped"}, id="every word must match"),
        pytest.param(lambda w: {"q": "press burr"}, set(), id="no problem has both words"),
        pytest.param(lambda w: {"category": "quality", "grade": "C"}, {"Checklist not filled"}, id="combined"),
    ],
)
def test_the_list_filters(world, board, qe_client, params, expected):
    assert titles(qe_client.get("/problems/", params(world))) == expected


def test_the_problem_number_is_searchable(board, qe_client):
    assert titles(qe_client.get("/problems/", {"q": board["press"].number})) == {"Press stopped"}


def test_the_filter_choices_offer_only_what_is_in_scope(world, other_world, board, team_leader):
    client = Client()
    client.force_login(team_leader)

    form = client.get("/problems/").context["filter"].form

    assert list(form.fields["plant"].queryset) == [world.plant]
    assert list(form.fields["workshop"].queryset) == [world.assembly]
    assert list(form.fields["line"].queryset) == [world.line_a1]


def test_a_user_in_two_workshops_gets_each_workshop_once(world, board, team_leader):
    assign_role(team_leader, Role.TEAM_LEADER, plant=world.plant, line=world.line_a2)
    client = Client()
    client.force_login(team_leader)

    form = client.get("/problems/").context["filter"].form

    assert list(form.fields["workshop"].queryset) == [world.assembly]
    assert titles(client.get("/problems/", {"workshop": world.assembly.pk})) == {
        "Burr on flange",
        "Checklist not filled",
    }


def test_a_filter_value_out_of_scope_never_widens_the_list(world, board, team_leader):
    client = Client()
    client.force_login(team_leader)

    assert titles(client.get("/problems/", {"line": world.line_m1.pk})) == set()  # refused, not ignored
    assert titles(client.get("/problems/", {"grade": "B"})) == set()


def test_a_bad_date_does_not_break_the_list(board, qe_client):
    response = qe_client.get("/problems/", {"occurred_after": "31/02/2024", "page": "x"})

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_a_huge_id_in_a_filter_is_refused_without_breaking_the_page(world, board, qe_client):
    response = qe_client.get("/problems/", {"line": str(-(10**30)), "workshop": str(10**20), "plant": "1e400"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()


def test_the_list_is_paginated_by_50_and_keeps_the_filter_in_page_links(world, quality_engineer, qe_client):
    for number in range(51):
        log(world.line_a1, quality_engineer, f"burr {number}", days_ago=0.01 * (number + 1))

    first = qe_client.get("/problems/", {"q": "burr"})
    second = qe_client.get("/problems/", {"q": "burr", "page": 2})

    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 1
    assert 'href="?q=burr&amp;page=2"' in first.content.decode()
    assert 'href="?q=burr&amp;export=csv"' in first.content.decode()


# --- CSV ---------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="qrqc-problems-')
    assert response["Content-Disposition"].endswith('.csv"')
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # Excel needs the BOM to read Chinese
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_export_has_a_header_and_one_row_per_filtered_problem(world, board, qe_client):
    rows = read_csv(qe_client.get("/problems/", {"export": "csv", "grade": "A"}))

    assert rows[0] == HEADER
    assert len(rows) == 2
    row = dict(zip(HEADER, rows[1], strict=True))
    burr = board["burr"]
    assert row["Number"] == burr.number
    assert row["Grade"] == "A"
    assert row["Status"] == "Open"
    assert row["Category"] == "Quality"
    assert (row["Plant"], row["Workshop"], row["Line"]) == ("Test Plant", "Assembly", "Assembly 1")
    assert row["Title"] == "Burr on flange"
    assert row["Failure mode"] == "Burr"
    assert row["Why this grade"] == "A: 25 A-class defects intermittently this shift, limit n > 20"
    assert row["Reported by"] == "qe"
    assert (row["Owner"], row["Closure due"], row["Closed at"]) == ("", "", "")
    assert row["Occurred at"] == timezone.localtime(burr.occurred_at, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_the_csv_export_without_filters_has_every_problem_in_scope(board, qe_client):
    rows = read_csv(qe_client.get("/problems/", {"export": "csv"}))

    assert sorted(row[9] for row in rows[1:]) == ["Burr on flange", "Checklist not filled", "Press stopped"]


def test_the_csv_export_keeps_chinese_text(world, quality_engineer, qe_client):
    log(world.line_a1, quality_engineer, "法兰毛刺，三号工位")

    rows = read_csv(qe_client.get("/problems/", {"export": "csv"}))

    assert rows[1][9] == "法兰毛刺，三号工位"


@pytest.mark.parametrize("title", ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1)"])
def test_a_title_that_looks_like_a_formula_is_exported_as_text(world, quality_engineer, qe_client, title):
    log(world.line_a1, quality_engineer, title)

    csv_rows = read_csv(qe_client.get("/problems/", {"export": "csv"}))
    sheet = load_workbook(io.BytesIO(qe_client.get("/problems/", {"export": "xlsx"}).content)).active

    assert csv_rows[1][9] == "'" + title
    cell = sheet.cell(row=2, column=10)
    assert cell.value == "'" + title and cell.data_type == "s"


def test_the_csv_export_respects_the_users_scope(board, team_leader):
    client = Client()
    client.force_login(team_leader)

    rows = read_csv(client.get("/problems/", {"export": "csv"}))

    assert [row[9] for row in rows[1:]] == ["Burr on flange"]


# --- XLSX --------------------------------------------------------------------------------


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_the_xlsx_export_has_the_same_rows_as_the_csv_export(board, qe_client):
    params = {"category": "quality"}
    csv_rows = read_csv(qe_client.get("/problems/", {**params, "export": "csv"}))
    xlsx_rows = read_xlsx(qe_client.get("/problems/", {**params, "export": "xlsx"}))

    assert xlsx_rows[0] == HEADER
    normalised = [["" if value is None else str(value) for value in row] for row in xlsx_rows]
    assert normalised == csv_rows
    assert {row[9] for row in xlsx_rows[1:]} == {"Burr on flange", "Checklist not filled"}


def test_the_xlsx_export_shows_a_closed_problems_status_and_why_it_is_c(world, board, qe_client):
    rows = read_xlsx(qe_client.get("/problems/", {"export": "xlsx", "status": "closed"}))

    assert len(rows) == 2
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["Status"] == "Closed"
    assert row["Grade"] == "C"
    assert row["Why this grade"] == "C: records not kept as required"


def test_a_title_with_a_control_character_still_exports(world, quality_engineer, qe_client):
    log(world.line_a1, quality_engineer, "burr\x0bflange\x1b")

    rows = read_xlsx(qe_client.get("/problems/", {"export": "xlsx"}))

    assert rows[1][9] == "burrflange"


def test_a_control_character_cannot_hide_a_formula_from_the_xlsx_export(world, quality_engineer, qe_client):
    log(world.line_a1, quality_engineer, "\x01=1+1")

    sheet = load_workbook(io.BytesIO(qe_client.get("/problems/", {"export": "xlsx"}).content)).active

    cell = sheet.cell(row=2, column=10)
    assert cell.value == "'=1+1" and cell.data_type == "s"


def test_an_unknown_export_format_shows_the_page(board, qe_client):
    response = qe_client.get("/problems/", {"export": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_the_list_filters_by_failure_mode(board, qe_client, failure_mode):
    assert titles(qe_client.get("/problems/", {"failure_mode": failure_mode.pk})) == {"Burr on flange"}


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("grade", ["Burr on flange", "Press stopped", "Checklist not filled"]),
        ("-occurred", ["Burr on flange", "Press stopped", "Checklist not filled"]),
        ("occurred", ["Checklist not filled", "Press stopped", "Burr on flange"]),
        ("line", ["Burr on flange", "Checklist not filled", "Press stopped"]),
    ],
)
def test_the_list_sorts_by_the_chosen_column(board, qe_client, order, expected):
    response = qe_client.get("/problems/", {"order": order})
    assert [problem.title for problem in response.context["page"]] == expected


def test_the_problem_page_links_to_the_other_problems_of_its_failure_mode(board, qe_client, failure_mode):
    html = qe_client.get(f"/problems/{board['burr'].pk}/").content.decode()
    assert f'href="/problems/?failure_mode={failure_mode.pk}"' in html


def test_the_export_names_the_owner_and_the_closure_date_the_chair_set(board, qe_client, quality_engineer):
    assign_owner(board["burr"], user=quality_engineer, owner=quality_engineer, due_date=dt.date(2031, 5, 6))

    rows = read_csv(qe_client.get("/problems/", {"export": "csv", "grade": "A"}))

    row = dict(zip(HEADER, rows[1], strict=True))
    assert (row["Owner"], row["Closure due"]) == ("qe", "2031-05-06")
