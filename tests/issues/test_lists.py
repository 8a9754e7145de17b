"""The four list pages share one helper (issues/common/lists.py) and one rule: a valid filter narrows,
a filter value that does not hold shows its error and lists nothing (it never widens the list
to what the other filters, or no filters, would show), and an export asked with it is a 400
that exports nothing. Each page is checked: problems, lessons, escalations, meetings."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from escalation.models import EscalationEvent
from issues.models import Meeting, Problem
from tests.issues.test_lessons import lesson_for
from tests.issues.test_list_export import log

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class ListPage:
    url: str
    shown: Callable  # an item of context["page"] -> the name the test knows it by
    narrowing: Callable  # world -> a valid filter that keeps "assembly" and drops "machining"
    bad: dict  # a value that does not hold, sent with the valid filter
    error_field: str
    exports: bool = True


PAGES = {
    "problems": ListPage(
        "/problems/", lambda problem: problem.title, lambda w: {"line": w.line_a1.pk}, {"grade": "Z"}, "grade"
    ),
    "lessons": ListPage(
        "/lessons/",
        lambda lesson: lesson.title,
        lambda w: {"workshop": w.assembly.pk},
        {"learned_after": "31/02/2025"},
        "learned",
    ),
    "escalations": ListPage(
        "/escalations/",
        lambda row: row[0].problem.title,
        lambda w: {"workshop": w.assembly.pk},
        {"level": "9"},
        "level",
    ),
    "meetings": ListPage(
        "/meetings/",
        lambda meeting: meeting.workshop.code,
        lambda w: {"workshop": w.assembly.pk},
        {"state": "adjourned"},
        "state",
        exports=False,
    ),
}
EVERYTHING = {"assembly", "machining"}


@pytest.fixture
def listed(world, quality_engineer):
    """One row per page in the assembly workshop and one in machining, named after it."""
    now = timezone.now()
    for workshop, line in (("assembly", world.line_a1), ("machining", world.line_m1)):
        problem = log(line, quality_engineer, workshop, facts={"defect_class": "A", "defect_count": 25})
        lesson_for(problem, text=f"{workshop} lesson")
        Problem.objects.filter(pk=problem.pk).update(status=Problem.Status.OPEN, closed_at=None)
        EscalationEvent.objects.create(
            problem=problem, kind=EscalationEvent.TIER, level=4, due_at=now, fired_at=now, recipients=[], channels=[]
        )
        Meeting.objects.create(
            plant=world.plant,
            workshop=getattr(world, workshop),
            day=now.date() - dt.timedelta(days=1),
            chair=quality_engineer,
            state=Meeting.State.ENDED,
            started_at=now - dt.timedelta(days=1),
            escalations_since=now - dt.timedelta(days=2),
        )


@pytest.fixture
def reader(quality_engineer) -> Client:
    client = Client()
    client.force_login(quality_engineer)
    return client


def shown(page: ListPage, response) -> set[str]:
    return {page.shown(item) for item in response.context["page"]}


@pytest.fixture(params=PAGES.values(), ids=PAGES.keys())
def page(request) -> ListPage:
    return request.param


# The meetings list has no export: its rows are the minutes, printed one by one.
EXPORTING = {name: page for name, page in PAGES.items() if page.exports}


@pytest.fixture(params=EXPORTING.values(), ids=EXPORTING.keys())
def exporting_page(request) -> ListPage:
    return request.param


def test_without_filters_a_page_lists_everything_in_scope(page, listed, reader):
    response = reader.get(page.url)

    assert response.status_code == 200
    assert shown(page, response) == EVERYTHING


def test_a_valid_filter_narrows(page, world, listed, reader):
    response = reader.get(page.url, page.narrowing(world))

    assert response.status_code == 200
    assert shown(page, response) == {"assembly"}


def test_a_filter_that_does_not_hold_shows_its_error_and_lists_nothing(page, world, listed, reader):
    response = reader.get(page.url, {**page.narrowing(world), **page.bad})

    assert response.status_code == 200
    assert shown(page, response) == set()  # neither the whole list nor what the valid filter keeps
    assert list(response.context["filter"].errors) == [page.error_field]
    html = response.content.decode()
    assert "A filter does not hold (marked in red): nothing is listed or exported until it is corrected." in html
    for error in response.context["filter"].errors[page.error_field]:
        assert f'<p class="error">{error}</p>' in html  # next to its field


def test_alone_a_filter_that_does_not_hold_lists_nothing_either(page, listed, reader):
    assert shown(page, reader.get(page.url, page.bad)) == set()


def test_the_error_is_in_the_readers_language(page, world, listed, reader):
    response = reader.get(page.url, {**page.narrowing(world), **page.bad}, headers={"accept-language": "zh-hans"})

    assert "有筛选条件无效（红色标出）：改正之前不列出也不导出任何内容。" in response.content.decode()
    message = response.context["filter"].errors[page.error_field][0]
    assert any("\u4e00" <= char <= "\u9fff" for char in message), message


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_with_a_filter_that_does_not_hold_is_a_400_and_exports_nothing(
    exporting_page, world, listed, reader, kind
):
    page = exporting_page
    response = reader.get(page.url, {**page.narrowing(world), **page.bad, "export": kind})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    assert shown(page, response) == set()
    assert "nothing is listed or exported until it is corrected" in response.content.decode()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_with_a_valid_filter_holds_only_what_it_keeps(exporting_page, world, listed, reader, kind):
    page = exporting_page
    response = reader.get(page.url, {**page.narrowing(world), "export": kind})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    content = (response.content if kind == "csv" else _xlsx_text(response.content)).lower()
    assert b"assembly" in content and b"machining" not in content  # a title, or a line's name


def _xlsx_text(data: bytes) -> bytes:
    sheet = load_workbook(io.BytesIO(data)).active
    return "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row).encode()


def test_the_pager_and_export_links_keep_the_filters_but_not_the_export(world, listed, reader):
    response = reader.get("/problems/", {"line": world.line_a1.pk, "grade": "Z", "export": "csv"})

    assert response.context["query"] == f"line={world.line_a1.pk}&grade=Z"
