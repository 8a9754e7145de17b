"""The daily QRQC board's pages (issues.board.views): the board with its filters in the URL,
its live fragment, and TV mode with its rotating pages and stalled-escalation banner."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from escalation.models import SweepRun
from issues.board.views import tv_turn
from issues.models import Problem
from issues.problems import lifecycle
from tests.conftest import close_without_eightd, make_person
from tests.issues.eightd_factory import copied, graded_problem

BOARD, LIVE, TV, TV_ROWS, FILTERS = "board:index", "board:live", "board:tv", "board:tv_rows", "board:filters"
PAGES = (BOARD, LIVE, TV, TV_ROWS)
ROW = re.compile(r'data-testid="(?:board|tv)-row" data-number="([^"]+)"')


def ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def shown(response) -> list[str]:
    """The problem numbers a board page lists, in order."""
    assert response.status_code == 200
    return ROW.findall(response.content.decode())


def get(client, user, name: str = BOARD, query: str = ""):
    client.force_login(user)
    return client.get(reverse(name) + (f"?{query}" if query else ""))


@pytest.fixture(autouse=True)
def sweep_is_running(db):
    """The escalation sweep ran a moment ago: no stalled banner unless a test says so."""
    SweepRun.objects.create(name="sweep", last_run_at=timezone.now() + dt.timedelta(hours=1))


# --- who sees what ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", (*PAGES, FILTERS))
def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", (*PAGES, FILTERS))
def test_a_person_without_a_role_may_not_see_the_board(client, db, name):
    nobody = make_person("nobody", None)

    assert get(client, nobody, name).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_a_team_leader_sees_only_the_problems_of_their_own_line(client, world, quality_engineer, team_leader, name):
    mine = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))
    graded_problem(world.line_a2, quality_engineer, "C", occurred_at=ago(2))
    graded_problem(world.line_m1, quality_engineer, "A", occurred_at=ago(3))

    assert shown(get(client, team_leader, name)) == [mine.number]


@pytest.mark.parametrize("name", PAGES)
def test_an_outsider_sees_nothing_of_another_plant_even_when_asking_for_it(
    client, world, other_world, quality_engineer, outsider, name
):
    graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(1))
    own = graded_problem(other_world.line_a1, outsider, "C", occurred_at=ago(1))

    assert shown(get(client, outsider, name)) == [own.number]
    for query in (f"plant={world.plant.pk}", f"workshop={world.assembly.pk}", f"line={world.line_a1.pk}"):
        response = get(client, outsider, name, query)
        assert shown(response) == []
        assert 'data-testid="filter-error"' in response.content.decode()


# --- which problems, in which order -------------------------------------------------------------
def test_the_board_lists_the_past_24_hours_and_every_open_older_problem(client, world, quality_engineer):
    recent = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(3))
    old_open = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(300))
    closed_today = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(50))
    closed_long_ago = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(100))
    close_without_eightd(closed_today, user=quality_engineer, now=ago(2))
    close_without_eightd(closed_long_ago, user=quality_engineer, now=ago(25))

    response = get(client, quality_engineer)

    assert shown(response) == [old_open.number, closed_today.number, recent.number]
    assert closed_long_ago.number not in response.content.decode()


def test_rows_are_sorted_by_grade_then_oldest_first(client, world, quality_engineer):
    young_c = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))
    old_c = graded_problem(world.line_a2, quality_engineer, "C", occurred_at=ago(30))
    b = graded_problem(world.line_m1, quality_engineer, "B", occurred_at=ago(2))
    young_a = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(3))
    old_a = graded_problem(world.line_m1, quality_engineer, "A", occurred_at=ago(20))

    expected = [p.number for p in (old_a, young_a, b, old_c, young_c)]
    for name in PAGES:
        assert shown(get(client, quality_engineer, name)) == expected


@pytest.fixture
def assorted(world, quality_engineer, team_leader):
    """Problems that differ in one respect each, for the filters."""
    a1 = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(40))
    a2 = graded_problem(world.line_a2, quality_engineer, "B", occurred_at=ago(10))
    m1 = graded_problem(world.line_m1, quality_engineer, "C", occurred_at=ago(5))
    Problem.objects.filter(pk=m1.pk).update(category="safety")
    lifecycle.assign_owner(a1, user=quality_engineer, owner=team_leader, due_date=ago(72).date(), now=ago(30))
    lifecycle.assign_owner(a2, user=quality_engineer, owner=quality_engineer, due_date=ago(-72).date(), now=ago(1))
    return {"a1": a1, "a2": a2, "m1": m1}


def filter_cases(world, team_leader, a1_day: dt.date):
    return [
        (f"plant={world.plant.pk}", ["a1", "a2", "m1"]),
        (f"workshop={world.assembly.pk}", ["a1", "a2"]),
        (f"workshop={world.machining.pk}", ["m1"]),
        (f"line={world.line_a2.pk}", ["a2"]),
        (f"line={world.line_a1.pk}&line={world.line_m1.pk}", ["a1", "m1"]),
        ("grade=A&grade=C", ["a1", "m1"]),
        ("category=safety", ["m1"]),
        ("status=open", ["a1", "a2", "m1"]),
        ("status=closed", []),
        (f"owner={team_leader.pk}", ["a1"]),
        ("no_owner=true", ["m1"]),
        ("no_owner=false", ["a1", "a2"]),
        ("overdue=true", ["a1"]),
        ("overdue=false", ["a2", "m1"]),
        # a1 occurred 30 hours before a2, so on an earlier day of the plant's calendar.
        (f"occurred_before={a1_day.isoformat()}", ["a1"]),
        (f"occurred_after={(a1_day + dt.timedelta(days=1)).isoformat()}", ["a2", "m1"]),
        (f"occurred_after={a1_day.isoformat()}&occurred_before={a1_day.isoformat()}", ["a1"]),
    ]


def test_each_filter_in_the_address_narrows_the_board_and_the_tv(
    client, world, quality_engineer, team_leader, assorted
):
    a1_day = timezone.localdate(assorted["a1"].occurred_at, world.plant.zone)
    for query, expected in filter_cases(world, team_leader, a1_day):
        want = [assorted[key].number for key in ("a1", "a2", "m1") if key in expected]
        for name in (BOARD, TV_ROWS):
            assert shown(get(client, quality_engineer, name, query)) == want, (name, query)


def test_the_filter_panel_is_fetched_when_opened_unless_the_address_has_filters(client, world, quality_engineer):
    plain = get(client, quality_engineer).content.decode()
    filtered = get(client, quality_engineer, BOARD, "grade=A").content.decode()
    panel = get(client, quality_engineer, FILTERS).content.decode()

    assert 'name="grade"' not in plain and f'hx-get="{reverse(FILTERS)}"' in plain
    assert 'name="grade"' in filtered and 'value="A" id="id_grade_0" checked' in filtered
    assert 'name="grade"' in panel and f'<option value="{world.line_m1.pk}">Machining 1</option>' in panel


def test_the_place_picker_turns_into_the_place_filter_and_keeps_the_others(client, world, quality_engineer):
    response = get(client, quality_engineer, BOARD, f"pick=workshop-{world.assembly.pk}&grade=A&line=3&page=4")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse(BOARD)}?grade=A&workshop={world.assembly.pk}"
    assert get(client, quality_engineer, BOARD, "pick=").headers["Location"] == reverse(BOARD)
    assert get(client, quality_engineer, BOARD, "pick=nonsense&grade=B")["Location"] == f"{reverse(BOARD)}?grade=B"


def test_the_picker_offers_each_plant_workshop_and_line_the_reader_sees(client, world, quality_engineer, team_leader):
    page = get(client, quality_engineer).content.decode()
    for value in (
        f"plant-{world.plant.pk}",
        f"workshop-{world.assembly.pk}",
        f"line-{world.line_a1.pk}",
        f"line-{world.line_m1.pk}",
    ):
        assert f'value="{value}"' in page
    assert 'data-testid="board-pick"' not in get(client, team_leader).content.decode()  # one line: nothing to pick


# --- what a row says ----------------------------------------------------------------------------
def row_html(response, number: str) -> str:
    content = response.content.decode()
    start = content.index(f'data-number="{number}"')
    return content[start : content.index("</tr>", start)]


def test_a_row_shows_number_grade_category_line_title_age_owner_due_date_and_level(
    client, world, quality_engineer, team_leader
):
    problem = graded_problem(world.line_a2, quality_engineer, "B", occurred_at=ago(3.5))
    lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=dt.date(2031, 5, 6), now=ago(1))
    Problem.objects.filter(pk=problem.pk).update(escalation_level=2)

    row = row_html(get(client, quality_engineer), problem.number)

    assert f'href="{reverse("problems:detail", args=[problem.pk])}"' in row
    assert 'class="grade grade-b"' in row
    for text in (
        "Quality",
        "Assembly 2",
        problem.title,
        "3 h",
        "Leader",
        "05-06",
        ">L2<",
        'title="Level 2 — managers"',
    ):
        assert text in row
    assert "no owner" not in row and "overdue" not in row


def test_what_people_typed_is_shown_as_text_on_the_board_and_the_tv(client, world, quality_engineer, team_leader):
    problem = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(2))
    Problem.objects.filter(pk=problem.pk).update(title='<script>alert("title")</script> & co')
    world.line_a1.name_en = "<b>Line</b> 'one'"
    world.line_a1.save()
    team_leader.profile.display_name = '<img src=x onerror="owner()">'
    team_leader.profile.save()
    lifecycle.assign_owner(problem, user=quality_engineer, owner=team_leader, due_date=None, now=ago(1))

    for name in (BOARD, LIVE, TV_ROWS):
        row = row_html(get(client, quality_engineer, name), problem.number)
        assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; co" in row
        assert "&lt;b&gt;Line&lt;/b&gt; &#x27;one&#x27;" in row
        assert "&lt;img src=x onerror=&quot;owner()&quot;&gt;" in row
        assert "<script" not in row and "<b>Line" not in row and "<img" not in row


def test_an_open_problem_without_an_owner_and_one_past_its_closure_date_are_flagged_in_red(
    client, world, quality_engineer, team_leader
):
    unowned = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(2))
    late = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(80))
    lifecycle.assign_owner(late, user=quality_engineer, owner=team_leader, due_date=ago(48).date(), now=ago(70))

    for name in (BOARD, TV_ROWS):
        response = get(client, quality_engineer, name)
        assert 'data-testid="no-owner"' in row_html(response, unowned.number)
        assert 'class="c-due overdue"' in row_html(response, late.number)
        assert 'data-testid="no-owner"' not in row_html(response, late.number)
        assert 'class="c-due overdue"' not in row_html(response, unowned.number)


def cells(row: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r'data-testid="cell-(\w+)" data-colour="(\w+)">([^<]+)<', row)
    return {step: (colour, letter) for step, colour, letter in found}


def test_the_five_step_cells_carry_a_colour_and_its_letter_in_the_readers_language(client, world, quality_engineer):
    problem = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(5))
    lifecycle.contain(problem, action="sorted", done_by="line", quantity_secured=10, user=quality_engineer)

    row = row_html(get(client, quality_engineer), problem.number)
    assert cells(row) == {
        "containment": ("green", "G"),
        "root_cause": ("red", "R"),
        "actions": ("red", "R"),
        "verification": ("red", "R"),
        "closure": ("red", "R"),
    }

    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    row = row_html(client.get(reverse(TV_ROWS)), problem.number)
    assert cells(row)["containment"] == ("green", "绿")
    assert cells(row)["root_cause"] == ("red", "红")


def test_a_problem_logged_within_the_hour_is_highlighted_as_new(client, world, quality_engineer):
    fresh = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(3))  # logged just now
    older = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1.5))
    Problem.objects.filter(pk=older.pk).update(reported_at=ago(1.2))

    for name in (BOARD, TV_ROWS):
        response = get(client, quality_engineer, name)
        assert 'new"' in response.content.decode().split(f'data-number="{fresh.number}"')[0].rsplit("<tr", 1)[1]
        assert 'new"' not in response.content.decode().split(f'data-number="{older.number}"')[0].rsplit("<tr", 1)[1]


def test_the_header_counts_grades_open_overdue_and_unowned_problems_and_names_the_latest(
    client, world, quality_engineer, team_leader
):
    late = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(60))
    lifecycle.assign_owner(late, user=quality_engineer, owner=team_leader, due_date=ago(40).date(), now=ago(50))
    graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(3))
    closed = graded_problem(world.line_a2, quality_engineer, "C", occurred_at=ago(4))
    close_without_eightd(closed, user=quality_engineer, now=ago(1))
    newest = graded_problem(world.line_m1, quality_engineer, "B", occurred_at=ago(30))  # logged last, long after

    for name in (BOARD, TV_ROWS):
        content = get(client, quality_engineer, name).content.decode()
        counts = dict(re.findall(r'data-testid="count-([\w-]+)">(\d+)<', content))
        assert counts == {"a": "1", "b": "1", "c": "2", "open": "3", "overdue": "1", "no-owner": "2"}, name
        latest = re.search(r'data-testid="(?:tv-)?latest">(.*?) ago\)', content, re.S).group(1)
        assert newest.number in latest and latest.endswith("(0 min")


# --- TV mode ----------------------------------------------------------------------------------
def test_tv_mode_is_a_full_screen_page_that_polls_its_rows(client, world, quality_engineer):
    graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))

    content = get(client, quality_engineer, TV, "grade=C").content.decode()

    assert 'class="topbar"' not in content  # no site header, no navigation
    assert 'hx-trigger="every 5s"' in content
    assert f'hx-get="{reverse(TV_ROWS)}?grade=C&amp;page=1&amp;t=1"' in content


@pytest.mark.parametrize(
    ("page", "pages", "tick", "polls_per_page", "expected"),
    [
        (1, 3, 0, 1, (2, 0)),
        (2, 3, 0, 1, (3, 0)),
        (3, 3, 0, 1, (1, 0)),  # after the last page, the first
        (1, 1, 0, 1, (1, 0)),
        (1, 3, 0, 3, (1, 1)),  # a page stays for three polls
        (1, 3, 1, 3, (1, 2)),
        (1, 3, 2, 3, (2, 0)),
        (3, 3, 2, 3, (1, 0)),
    ],
)
def test_the_tv_turns_to_the_next_page_after_its_polls_and_wraps_around(page, pages, tick, polls_per_page, expected):
    assert tv_turn(page, pages, tick, polls_per_page) == expected


def next_poll(response) -> str:
    return re.search(r'hx-get="([^"]+)"', response.content.decode()).group(1).replace("&amp;", "&")


def test_the_tv_fragment_shows_one_page_and_asks_for_the_next_one_wrapping_to_the_first(
    client, settings, world, quality_engineer
):
    settings.QRQC_TV_ROWS_PER_PAGE = 2
    settings.QRQC_TV_PAGE_SECONDS = settings.QRQC_BOARD_REFRESH_SECONDS  # a new page each poll
    problems = [graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(10 - i)) for i in range(5)]
    numbers = [p.number for p in problems]
    client.force_login(quality_engineer)

    url, seen = reverse(TV), []
    for _ in range(4):
        response = client.get(url)
        seen.append((shown(response), re.search(r'data-testid="tv-page">([^<]+)<', response.content.decode())[1]))
        url = next_poll(response)

    assert seen == [
        (numbers[0:2], "page 1/3"),
        (numbers[2:4], "page 2/3"),
        (numbers[4:5], "page 3/3"),
        (numbers[0:2], "page 1/3"),
    ]


def test_a_tv_page_stays_for_several_polls_when_pages_turn_slower_than_the_refresh(
    client, settings, world, quality_engineer
):
    settings.QRQC_TV_ROWS_PER_PAGE = 1
    settings.QRQC_BOARD_REFRESH_SECONDS = 5
    settings.QRQC_TV_PAGE_SECONDS = 15
    first, second = (graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(h)) for h in (2, 1))
    client.force_login(quality_engineer)

    url, seen = reverse(TV_ROWS), []
    for _ in range(4):
        response = client.get(url)
        seen += shown(response)
        url = next_poll(response)

    assert seen == [first.number] * 3 + [second.number]


@pytest.mark.parametrize("page", ["7", "0", "-1", "abc", "9" * 30])
def test_a_tv_asking_for_a_page_that_is_not_there_starts_again_at_the_first(client, world, quality_engineer, page):
    problem = graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))

    response = get(client, quality_engineer, TV_ROWS, f"page={page}&t=x")

    assert shown(response) == [problem.number]
    assert "page 1/1" in response.content.decode()


@pytest.mark.parametrize("last_run", [None, dt.timedelta(minutes=-10)])
def test_the_tv_fragment_carries_the_stalled_escalation_banner(client, world, quality_engineer, last_run):
    SweepRun.objects.all().delete()
    if last_run is not None:
        SweepRun.objects.create(name="sweep", last_run_at=timezone.now() + last_run)

    content = get(client, quality_engineer, TV_ROWS).content.decode()

    assert 'data-testid="tv-stalled"' in content
    assert "Escalation is stalled." in content


def test_the_tv_fragment_has_no_banner_while_the_sweep_runs(client, world, quality_engineer):
    assert 'data-testid="tv-stalled"' not in get(client, quality_engineer, TV_ROWS).content.decode()


def test_an_escalated_problem_shows_its_level_on_the_next_poll(client, world, quality_engineer):
    problem = graded_problem(world.line_a1, quality_engineer, "B", occurred_at=ago(1))
    assert 'data-testid="level"' not in row_html(get(client, quality_engineer, TV_ROWS), problem.number)

    Problem.objects.filter(pk=problem.pk).update(escalation_level=3)

    assert ">L3<" in row_html(get(client, quality_engineer, TV_ROWS), problem.number)


# --- robustness -------------------------------------------------------------------------------
BAD_QUERIES = [
    "plant=abc",
    "plant=99999999999999999999999",
    "workshop=-1",
    "line=1.5",
    "grade=Z",
    "category=%00",
    "status=cancelled",
    "owner=nobody",
    "overdue=maybe",
    "no_owner=2",
    "occurred_after=2025-02-30",
    "occurred_before=yesterday",
    "page=abc",
    "page=-3",
    "page=99999999999999999999",
    "t=-1",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("name", PAGES)
def test_a_bad_value_in_the_address_never_breaks_a_board_page(client, world, quality_engineer, name, query):
    graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))

    response = get(client, quality_engineer, name, query)

    assert response.status_code == 200


def test_an_invalid_filter_shows_an_error_and_an_empty_board_rather_than_everything(client, world, quality_engineer):
    graded_problem(world.line_a1, quality_engineer, "C", occurred_at=ago(1))

    response = get(client, quality_engineer, BOARD, "grade=Z")

    assert shown(response) == []
    assert 'data-testid="filter-error"' in response.content.decode()


# --- cost -------------------------------------------------------------------------------------
def _more_problems(template: Problem, count: int, batch: str) -> None:
    """Copies of a logged problem, stored in one go: the board only reads them."""
    Problem.objects.bulk_create(copied(template, f"{batch}{index}") for index in range(count))


@pytest.mark.parametrize(("name", "query"), [(BOARD, ""), (LIVE, ""), (TV, ""), (TV_ROWS, "page=1&t=0")])
def test_a_board_page_costs_the_same_queries_for_5_and_500_problems(
    client, world, quality_engineer, team_leader, name, query
):
    from issues.eightd import solving

    with_8d = graded_problem(world.line_a1, quality_engineer, "A", occurred_at=ago(30))
    solving.start_report(with_8d, user=quality_engineer, now=ago(29))
    owned = graded_problem(world.line_m1, quality_engineer, "C", occurred_at=ago(6))
    lifecycle.assign_owner(owned, user=quality_engineer, owner=team_leader, due_date=ago(48).date(), now=ago(5))
    _more_problems(owned, 3, "a")
    client.force_login(quality_engineer)
    url = reverse(name) + (f"?{query}" if query else "")
    client.get(url)  # the first request of a session stores the plant's time zone in it

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        return len(shown(response)), len(captured)

    rows_few, few = queries()
    _more_problems(owned, 495, "b")
    rows_many, many = queries()

    assert rows_few < rows_many  # the second page really holds more
    assert few == many
