"""The Q chart page (issues/qchart/views.py, issue #5): day colours from real problems, the
plant's local day, month navigation, a day's problems, scope, bad parameters, the charts, and
a query count that does not grow with the number of problems."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues.models import FailureMode, Problem, Profile, Role
from issues.problems.lifecycle import cancel_as_duplicate
from issues.qchart import charts as qchart
from issues.qchart import data as qchart_data
from issues.qchart import drawing
from issues.qchart import views as qchart_views
from issues.qchart.tasks import schedule_qcharts
from tests.conftest import make_person
from tests.issues.eightd_factory import copied, graded_problem

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 10, 0, tzinfo=SHANGHAI)  # a Wednesday; the 19th on is the future
URL = reverse("qchart:index")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(qchart_views, "current_time", lambda: NOW)


def at(day: int, hour: int = 9, minute: int = 0, *, month: int = 3, zone=SHANGHAI) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=zone)


def logged(line, reporter, grade: str, occurred_at: dt.datetime, **changes) -> Problem:
    """A problem logged through the real intake, then given `changes` (category, failure mode)."""
    problem = graded_problem(line, reporter, grade, occurred_at=occurred_at)
    if changes:
        Problem.objects.filter(pk=problem.pk).update(**changes)
        problem.refresh_from_db()
    return problem


def page(user, language: str = "en", **params) -> str:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(URL, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def cells(html: str) -> dict[str, tuple[str, str, str]]:
    """{"2026-03-05": (colour, classes, text)} for every day cell of the calendar."""
    found = {}
    for classes, day, colour, body in re.findall(
        r'<td class="qday ([^"]*)" data-date="([\d-]+)" data-colour="(\w*)"[^>]*>(.*?)</td>', html, re.S
    ):
        found[day] = (colour, classes, " ".join(re.sub(r"<[^>]+>", " ", body).split()))
    return found


def chart(html: str, key: str) -> str:
    return re.search(rf'data-testid="chart-{key}">(.*?)</figure>', html, re.S)[1]


def svg_texts(svg: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


# --------------------------------------------------------------------------- day colours


def test_days_are_red_after_an_a_or_b_problem_yellow_with_only_c_and_green_without(
    world, team_leader, workshop_director
):
    logged(world.line_a1, team_leader, "A", at(3))
    logged(world.line_a1, team_leader, "C", at(5, 8))
    logged(world.line_a2, team_leader, "C", at(5, 14))
    logged(world.line_a1, team_leader, "B", at(9))
    logged(world.line_a1, team_leader, "C", at(9, 10))

    days = cells(page(workshop_director, workshop=world.assembly.pk, month="2026-03"))

    assert len(days) == 31
    assert days["2026-03-03"][0] == "red" and days["2026-03-03"][2] == "3 A1"
    assert days["2026-03-05"][0] == "yellow" and days["2026-03-05"][2] == "5 C2"
    assert days["2026-03-09"][0] == "red" and days["2026-03-09"][2] == "9 B1 C1"
    assert days["2026-03-04"] == ("green", "q-green", "4")
    assert days["2026-03-01"][0] == "green"


def test_today_is_marked_and_later_days_are_blank_without_a_link(world, team_leader, workshop_director):
    logged(world.line_a1, team_leader, "C", at(18, 8))
    html = page(workshop_director, workshop=world.assembly.pk)

    days = cells(html)
    assert days["2026-03-18"][0] == "yellow"
    assert "qtoday" in days["2026-03-18"][1]
    assert [day for day, (_colour, classes, _text) in days.items() if "qtoday" in classes] == ["2026-03-18"]
    assert all(days[f"2026-03-{n}"][:2] == ("", "q-future") for n in range(19, 32))
    assert "day=2026-03-18" in html and "day=2026-03-19" not in html


def test_cancelled_problems_do_not_colour_a_day(world, team_leader, quality_engineer, workshop_director):
    kept = logged(world.line_a1, team_leader, "C", at(6, 8))
    duplicate = logged(world.line_a1, team_leader, "A", at(6, 9))
    cancel_as_duplicate(duplicate, user=quality_engineer, duplicate_of=kept, reason="logged twice")

    days = cells(page(workshop_director, workshop=world.assembly.pk, month="2026-03"))

    assert days["2026-03-06"][0] == "yellow"
    assert days["2026-03-06"][2] == "6 C1"


@pytest.mark.parametrize(
    ("zone", "local", "local_day", "utc_day"),
    [
        # 23:30 in Chicago is already the next day in UTC.
        ("America/Chicago", dt.datetime(2026, 3, 10, 23, 30), "2026-03-10", "2026-03-11"),
        # 07:30 in Shanghai is still the day before in UTC.
        ("Asia/Shanghai", dt.datetime(2026, 3, 11, 7, 30), "2026-03-11", "2026-03-10"),
    ],
)
def test_a_problem_belongs_to_the_plants_local_day_not_the_utc_one(
    world, team_leader, quality_engineer, zone, local, local_day, utc_day
):
    world.plant.timezone = zone
    world.plant.save(update_fields=["timezone"])
    occurred = local.replace(tzinfo=ZoneInfo(zone))
    assert occurred.astimezone(dt.UTC).date().isoformat() == utc_day
    logged(world.line_a1, team_leader, "A", occurred)

    days = cells(page(quality_engineer, plant=world.plant.pk, month="2026-03"))

    assert days[local_day][0] == "red"
    assert days[utc_day][0] == "green"


def test_a_problem_just_after_local_midnight_on_the_first_belongs_to_the_new_month(
    world, team_leader, quality_engineer, monkeypatch
):
    monkeypatch.setattr(qchart_views, "current_time", lambda: at(10, month=4))
    logged(world.line_a1, team_leader, "A", at(1, 0, 30, month=4))  # 16:30 UTC on 31 March

    march = cells(page(quality_engineer, month="2026-03"))
    april = cells(page(quality_engineer, month="2026-04"))

    assert march["2026-03-31"][0] == "green"
    assert april["2026-04-01"][0] == "red"


# --------------------------------------------------------------------------- scope


def test_a_workshops_chart_counts_its_own_lines_and_the_plants_chart_all(
    world, other_world, team_leader, quality_engineer
):
    logged(world.line_m1, team_leader, "A", at(4))  # machining
    logged(world.line_a1, team_leader, "C", at(4))  # assembly
    other_reporter = make_person("other-leader", Role.TEAM_LEADER, plant=other_world.plant)
    logged(other_world.line_a1, other_reporter, "A", at(5))

    assembly = cells(page(quality_engineer, workshop=world.assembly.pk, month="2026-03"))
    plant = cells(page(quality_engineer, plant=world.plant.pk, month="2026-03"))

    assert assembly["2026-03-04"][::2] == ("yellow", "4 C1")
    assert plant["2026-03-04"][::2] == ("red", "4 A1 C1")
    assert plant["2026-03-05"][0] == assembly["2026-03-05"][0] == "green"  # the other plant's A


def test_a_line_scoped_reader_counts_only_the_problems_of_lines_they_may_see(world, team_leader, operator):
    logged(world.line_a1, team_leader, "C", at(4))
    logged(world.line_a2, team_leader, "A", at(4))

    html = page(operator, workshop=world.assembly.pk, month="2026-03")

    assert cells(html)["2026-03-04"][::2] == ("yellow", "4 C1")
    assert "Only the problems of the lines you may see are counted." in html


def test_the_whole_plant_reader_gets_no_partial_scope_note(world, quality_engineer):
    assert "Only the problems of the lines" not in page(quality_engineer, workshop=world.assembly.pk)


@pytest.mark.parametrize("param", ["workshop", "plant"])
def test_an_outsider_gets_404_for_another_plants_chart(world, outsider, param):
    client = Client()
    client.force_login(outsider)
    target = world.assembly.pk if param == "workshop" else world.plant.pk
    assert client.get(URL, {param: target}).status_code == 404


def test_a_line_scoped_reader_gets_404_for_a_workshop_without_their_lines(world, operator):
    client = Client()
    client.force_login(operator)
    assert client.get(URL, {"workshop": world.machining.pk}).status_code == 404
    assert client.get(URL, {"workshop": world.assembly.pk}).status_code == 200


def test_someone_without_a_role_is_refused(world):
    nobody = make_person("nobody", None)
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize(
    ("user", "subject"),
    [
        ("workshop_director", "Assembly · Test Plant"),
        ("team_leader", "Assembly · Test Plant"),
        ("quality_engineer", "Test Plant"),
    ],
)
def test_without_parameters_a_reader_sees_the_chart_of_their_own_level(request, world, user, subject):
    html = page(request.getfixturevalue(user))
    assert re.search(r'data-testid="qchart-subject">([^<]*)<', html)[1] == subject


def test_a_plant_wide_reader_with_a_home_line_sees_that_lines_workshop(world, quality_engineer):
    Profile.objects.filter(user=quality_engineer).update(home_line=world.line_m1)
    html = page(quality_engineer)
    assert re.search(r'data-testid="qchart-subject">([^<]*)<', html)[1] == "Machining · Test Plant"


def test_the_chart_picker_offers_the_plant_and_its_workshops(world, quality_engineer):
    html = page(quality_engineer, workshop=world.machining.pk, month="2026-02")
    chips = re.findall(r'<a href="([^"]+)" class="qchip( current)?"', html)
    assert [(unescape(href), bool(current)) for href, current in chips] == [
        (f"/qchart/?plant={world.plant.pk}&month=2026-02", False),
        (f"/qchart/?workshop={world.assembly.pk}&month=2026-02", False),
        (f"/qchart/?workshop={world.machining.pk}&month=2026-02", True),
    ]


# --------------------------------------------------------------------------- navigation and bad input


def _link(html: str, testid: str) -> str | None:
    found = re.search(rf'<a class="qnav" href="([^"]+)"[^>]*data-testid="{testid}"', html)
    return unescape(found[1]) if found else None


def test_month_navigation_links_cross_the_year_and_stop_at_this_month(world, quality_engineer):
    january = page(quality_engineer, plant=world.plant.pk, month="2026-01")
    assert _link(january, "qchart-previous") == f"/qchart/?plant={world.plant.pk}&month=2025-12"
    assert _link(january, "qchart-next") == f"/qchart/?plant={world.plant.pk}&month=2026-02"
    assert 'data-testid="qchart-month">January 2026<' in january
    assert "This month" in january

    this_month = page(quality_engineer, plant=world.plant.pk)
    assert 'data-testid="qchart-month">March 2026<' in this_month
    assert _link(this_month, "qchart-previous") == f"/qchart/?plant={world.plant.pk}&month=2026-02"
    assert _link(this_month, "qchart-next") is None
    assert "This month" not in this_month


def test_an_earlier_month_shows_its_own_counts(world, team_leader, quality_engineer):
    logged(world.line_a1, team_leader, "B", dt.datetime(2026, 1, 20, 9, tzinfo=SHANGHAI))

    january = cells(page(quality_engineer, month="2026-01"))
    march = cells(page(quality_engineer, month="2026-03"))

    assert january["2026-01-20"][::2] == ("red", "20 B1")
    assert len(january) == 31 and all(colour == "green" for colour, _c, _t in march.values() if colour)


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"month": "2026-13"}, "is not a month"),
        ({"month": "march"}, "is not a month"),
        ({"month": "0001-01"}, "is not a month"),
        ({"month": "9999-12"}, "is not a month"),
        ({"day": "2026-02-30"}, "is not a day"),
        ({"day": "yesterday"}, "is not a day"),
        ({"workshop": "abc"}, "is not a workshop"),
        ({"plant": "-1"}, "is not a plant"),
        ({"plant": "1e3"}, "is not a plant"),
        ({"workshop": "99999999999999999999999"}, "is not a workshop"),
        ({"plant": "9" * 5000}, "is not a plant"),
    ],
)
def test_malformed_parameters_are_reported_and_the_default_chart_shown(world, workshop_director, params, notice):
    html = page(workshop_director, **params)
    assert notice in unescape(html)
    (shown,) = re.findall(r'data-testid="qchart-notice">([^<]*)<', html)
    assert len(unescape(shown)) < 90  # a pasted monster is quoted short
    assert 'data-testid="qchart-month">March 2026<' in html
    assert re.search(r'data-testid="qchart-subject">([^<]*)<', html)[1] == "Assembly · Test Plant"


@pytest.mark.parametrize("param", ["workshop", "plant"])
def test_an_unknown_id_is_a_404_like_a_foreign_one(world, quality_engineer, param):
    client = Client()
    client.force_login(quality_engineer)
    assert client.get(URL, {param: 987654321}).status_code == 404


# --------------------------------------------------------------------------- a day's problems


def test_a_days_problems_are_listed_under_the_calendar_most_serious_first(
    world, team_leader, workshop_director, quality_engineer
):
    c_problem = logged(world.line_a1, team_leader, "C", at(5, 8))
    a_problem = logged(world.line_a2, team_leader, "A", at(5, 23, 10))
    elsewhere = logged(world.line_m1, team_leader, "A", at(5, 10))
    next_day = logged(world.line_a1, team_leader, "B", at(6, 0, 10))
    duplicate = logged(world.line_a1, team_leader, "B", at(5, 11))
    cancel_as_duplicate(duplicate, user=quality_engineer, duplicate_of=c_problem, reason="logged twice")

    html = page(workshop_director, workshop=world.assembly.pk, day="2026-03-05")

    panel = re.search(r'data-testid="qchart-day">(.*?)</div>\s*</section>', html, re.S)[1]
    numbers = re.findall(r"<small>(\S+) ·", panel)
    assert numbers == [a_problem.number, c_problem.number]
    assert elsewhere.number not in panel and next_day.number not in panel and duplicate.number not in panel
    assert "Problems on March 5, 2026" in panel
    assert "qselected" in cells(html)["2026-03-05"][1]
    assert 'data-testid="qchart-month">March 2026<' in html
    list_link = unescape(re.search(r'<a href="([^"]+)" data-testid="qchart-day-list"', panel)[1])
    assert list_link == (
        f"/problems/?workshop={world.assembly.pk}&occurred_after=2026-03-05&occurred_before=2026-03-05"
    )


def test_the_problem_list_link_of_a_day_finds_the_same_problems(world, team_leader, workshop_director):
    """The calendar's day and the list's date filter agree (both in the plant's zone)."""
    late = logged(world.line_a1, team_leader, "A", at(5, 23, 40))
    logged(world.line_a1, team_leader, "C", at(6, 0, 20))
    client = Client()
    client.force_login(workshop_director)
    html = client.get(URL, {"workshop": world.assembly.pk, "day": "2026-03-05"}).content.decode()
    list_link = unescape(re.search(r'<a href="([^"]+)" data-testid="qchart-day-list"', html)[1])

    listed = client.get(list_link).content.decode()

    assert late.number in listed
    assert re.findall(r"TP1-\d{8}-\d{3}", listed) == [late.number]


def test_a_day_link_asked_by_htmx_returns_the_calendar_section_alone(world, team_leader, workshop_director):
    problem = logged(world.line_a1, team_leader, "A", at(5))
    client = Client()
    client.force_login(workshop_director)

    response = client.get(URL, {"workshop": world.assembly.pk, "day": "2026-03-05"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "HX-Request" in response["Vary"]  # the page at the same address must not be cached for it
    assert html.lstrip().startswith('<section id="qchart-month"')
    assert "<html" not in html and "<svg" not in html
    assert problem.number in html
    assert "qselected" in cells(html)["2026-03-05"][1]


def test_a_days_link_works_without_javascript(world, workshop_director):
    html = page(workshop_director, workshop=world.assembly.pk, month="2026-03")
    assert f'href="?workshop={world.assembly.pk}&amp;day=2026-03-05"' in html
    assert "Tap a day to see its problems." in html


def test_a_quiet_day_says_so(world, workshop_director):
    html = page(workshop_director, workshop=world.assembly.pk, day="2026-03-04")
    assert "No problem that day." in html


def test_a_day_to_come_says_so(world, workshop_director):
    html = page(workshop_director, workshop=world.assembly.pk, day="2026-03-25")
    assert "This day has not come yet." in html


# --------------------------------------------------------------------------- charts


def test_the_charts_show_the_last_12_months_by_grade_and_the_months_paretos(world, team_leader, quality_engineer):
    burr = FailureMode.objects.create(plant=world.plant, category="quality", name_en="Burr", name_zh="毛刺")
    crack = FailureMode.objects.create(plant=world.plant, category="quality", name_en="Crack", name_zh="裂纹")
    for day in (2, 3, 4):
        logged(world.line_a1, team_leader, "C", at(day), failure_mode=burr)
    logged(world.line_a1, team_leader, "A", at(5), failure_mode=crack, category="equipment")
    logged(world.line_a1, team_leader, "B", at(6))  # no failure mode
    logged(world.line_a1, team_leader, "A", dt.datetime(2025, 4, 2, 9, tzinfo=SHANGHAI), failure_mode=crack)
    logged(world.line_a1, team_leader, "A", dt.datetime(2025, 3, 31, 9, tzinfo=SHANGHAI))  # 13 months back

    html = page(quality_engineer, month="2026-03")

    months = svg_texts(chart(html, "months"))
    assert "Problems per month by grade" in months
    assert months.index("2025-04") < months.index("2026-03")
    assert "2025-03" not in months
    modes = svg_texts(chart(html, "modes"))
    assert "Failure modes, 2026-03" in modes
    assert modes.index("Burr") < modes.index("Crack")  # 3 before 1
    assert "100%" in modes
    assert "1 problem without a failure mode is not in this chart." in html
    categories = svg_texts(chart(html, "categories"))
    assert "Categories, 2026-03" in categories
    assert categories.index("Quality") < categories.index("Equipment")
    assert 'role="img" aria-label="Failure modes, 2026-03"' in chart(html, "modes")


def test_the_charts_speak_chinese_to_a_chinese_reader(world, team_leader, quality_engineer):
    burr = FailureMode.objects.create(plant=world.plant, category="quality", name_en="Burr", name_zh="毛刺")
    logged(world.line_a1, team_leader, "C", at(2), failure_mode=burr)

    html = page(quality_engineer, language="zh-hans", month="2026-03")

    assert "毛刺" in svg_texts(chart(html, "modes"))
    assert "Burr" not in svg_texts(chart(html, "modes"))
    assert "质量" in svg_texts(chart(html, "categories"))
    assert 'data-testid="qchart-month">2026年3月<' in html


def test_the_month_pareto_lumps_the_long_tail_into_one_bar(world, team_leader, quality_engineer):
    modes = [FailureMode(plant=world.plant, category="quality", name_en=f"Mode {n:02d}") for n in range(14)]
    FailureMode.objects.bulk_create(modes)
    template = logged(world.line_a1, team_leader, "C", at(2))
    copies = []
    for n, mode in enumerate(FailureMode.objects.filter(name_en__startswith="Mode ").order_by("name_en")):
        copies += [copied(template, f"m{n}-{k}", failure_mode_id=mode.pk) for k in range(14 - n)]
    Problem.objects.bulk_create(copies)

    texts = svg_texts(chart(page(quality_engineer, month="2026-03"), "modes"))

    assert [text for text in texts if text.startswith("Mode ")] == [f"Mode {n:02d}" for n in range(9)]
    assert texts[texts.index("Mode 08") + 1] == "Others"  # "Mode 09" to "Mode 13": the tenth bar


def test_a_failure_mode_name_cannot_inject_markup_into_the_page(world, team_leader, quality_engineer):
    evil = FailureMode.objects.create(plant=world.plant, name_en="<script>alert(1)</script>")
    logged(world.line_a1, team_leader, "C", at(2), failure_mode=evil)

    html = page(quality_engineer, month="2026-03")

    assert "<script>alert" not in html
    assert "&lt;script&gt;ale" in chart(html, "modes")


def test_each_chart_has_its_own_clip_path_id(world, quality_engineer):
    html = page(quality_engineer)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert {"qchart-months-clip", "qchart-modes-clip", "qchart-categories-clip"} <= set(ids)


@pytest.fixture
def drawings(monkeypatch, settings):
    """A cache of this test's own, and the number of charts drawn so far."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "qchart"}}
    cache.clear()  # local memory outlives the test: the charts of an earlier one are kept there
    drawn = []
    real = qchart.inline_svg

    def counting(drawing, ident, label):
        drawn.append(ident)
        return real(drawing, ident, label)

    monkeypatch.setattr(qchart, "inline_svg", counting)
    return drawn


def test_charts_are_drawn_once_and_again_when_a_problem_changes_them(world, team_leader, quality_engineer, drawings):
    logged(world.line_a1, team_leader, "C", at(2))
    first = page(quality_engineer, month="2026-03")
    assert sorted(drawings) == ["qchart-categories", "qchart-modes", "qchart-months"]

    again = page(quality_engineer, month="2026-03")
    assert all(chart(again, key) == chart(first, key) for key in ("months", "modes", "categories"))
    assert len(drawings) == 3  # the same counts: nothing drawn

    logged(world.line_a1, team_leader, "A", at(3))
    page(quality_engineer, month="2026-03")
    assert sorted(drawings[3:]) == ["qchart-categories", "qchart-months"]  # no failure mode: that chart is the same
    # Another language is another chart, not the English one from the cache.
    assert "质量" in svg_texts(chart(page(quality_engineer, language="zh-hans", month="2026-03"), "categories"))


def test_the_page_still_draws_its_charts_when_the_cache_is_down(
    world, team_leader, quality_engineer, drawings, settings
):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    logged(world.line_a1, team_leader, "C", at(2))
    html = page(quality_engineer, month="2026-03")
    assert len(drawings) == 3
    assert "Categories, 2026-03" in svg_texts(chart(html, "categories"))


def test_without_a_usable_font_the_page_still_draws_its_charts_and_logs_it_once(
    world, team_leader, quality_engineer, drawings, settings, tmp_path, caplog
):
    logged(world.line_a1, team_leader, "C", at(2))
    installed = settings.QRQC_PDF_FONT
    settings.QRQC_PDF_FONT = str(tmp_path / "no-such-font.ttc")

    with caplog.at_level("ERROR"):
        html = page(quality_engineer, "zh-hans", month="2026-03")
        page(quality_engineer, month="2026-03")

    assert "问题类别（2026-03）" in svg_texts(chart(html, "categories"))
    assert all(svg_texts(chart(html, key)) for key in ("months", "modes", "categories"))
    assert 'font-family="sans-serif"' in chart(html, "months")
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1 and "no-such-font.ttc" in errors[0].getMessage()

    # Drawn with the fallback, kept under the fallback: once the font is back they are drawn anew.
    drawn = len(drawings)
    settings.QRQC_PDF_FONT = installed
    again = page(quality_engineer, "zh-hans", month="2026-03")
    assert len(drawings) == drawn + 3
    assert "WenQuanYi Micro Hei" in chart(again, "months")


def test_charts_drawn_ahead_by_a_worker_reach_every_reader_without_drawing(
    world, team_leader, quality_engineer, workshop_director, drawings
):
    logged(world.line_a1, team_leader, "B", at(2))
    logged(world.line_m1, team_leader, "C", at(3))

    drawn = drawing.draw_ahead(world.plant, 2026, 3)

    # Three charts in two languages, for the plant and for each workshop, but the workshops' one
    # problem each are the same categories, and no problem has a failure mode: 12 different charts.
    assert drawn == len(drawings) == 12
    assert drawing.draw_ahead(world.plant, 2026, 3) == 0  # all kept: nothing to draw again
    drawings.clear()
    page(quality_engineer, month="2026-03")
    page(quality_engineer, "zh-hans", month="2026-03")
    page(quality_engineer, month="2026-03", workshop=world.machining.pk)
    page(workshop_director, "zh-hans", month="2026-03")
    assert drawings == []

    logged(world.line_a1, team_leader, "A", at(4))  # not drawn ahead: the next reader draws
    page(quality_engineer, month="2026-03")
    assert sorted(drawings) == ["qchart-categories", "qchart-months"]


def test_a_problem_is_logged_when_the_cache_for_drawing_ahead_is_down(
    world, team_leader, settings, caplog, django_capture_on_commit_callbacks
):
    settings.QRQC_DRAW_QCHARTS_AHEAD = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with (
        caplog.at_level("WARNING", logger="issues.qchart.tasks"),
        django_capture_on_commit_callbacks(execute=True) as hooks,
    ):
        problem = logged(world.line_a1, team_leader, "A", at(2))

    assert any(getattr(hook, "func", None) is schedule_qcharts for hook in hooks)
    assert Problem.objects.filter(pk=problem.pk).exists()
    assert "no drawing ahead" in caplog.text


# --------------------------------------------------------------------------- queries


def test_the_page_costs_the_same_queries_for_5_and_500_problems(world, team_leader, quality_engineer):
    burr = FailureMode.objects.create(plant=world.plant, category="quality", name_en="Burr")
    template = logged(world.line_a1, team_leader, "A", at(5), failure_mode=burr)
    Problem.objects.bulk_create(copied(template, f"a{n}", occurred_at=at(n + 1, 10)) for n in range(4))

    client = Client()
    client.force_login(quality_engineer)
    client.get(URL)  # the session learns the plant's time zone once

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, params)
        assert response.status_code == 200
        return len(captured)

    few = (queries(), queries(day="2026-03-05"), queries(workshop=world.assembly.pk, month="2026-02"))
    lines = [world.line_a1, world.line_a2, world.line_m1]
    Problem.objects.bulk_create(
        copied(
            template,
            f"b{n}",
            # 16 a day for the last 19 days, then one a day back to last summer
            occurred_at=NOW - (dt.timedelta(hours=1.5 * n) if n < 300 else dt.timedelta(days=n - 280)),
            grade="ABC"[n % 3],
            category=["quality", "equipment", "material"][n % 3],
            line_id=lines[n % 3].pk,
            failure_mode_id=burr.pk if n % 2 else None,
        )
        for n in range(500)
    )
    assert Problem.objects.filter(occurred_at__date=dt.date(2026, 3, 5)).count() > 15
    many = (queries(), queries(day="2026-03-05"), queries(workshop=world.assembly.pk, month="2026-02"))

    assert few == many
    # session, user, roles, the roles' permissions, lines, profile, the calendar with the 12
    # months, (the day's list), the Paretos, and base.html's bell and escalation health
    assert many == (10, 11, 10)


def test_the_one_pass_count_agrees_with_counting_days_and_months_apart(world, team_leader, monkeypatch):
    """calendar_counts' width_bucket (PostgreSQL) and the portable TruncDate / TruncMonth queries
    give the same numbers, local midnights and month ends included."""
    template = logged(world.line_a1, team_leader, "C", at(2))
    chicago = ZoneInfo("America/Chicago")  # DST began on 8 March 2026 there
    times = [
        dt.datetime(2026, 3, 1, 0, 0, tzinfo=chicago),
        dt.datetime(2026, 2, 28, 23, 59, tzinfo=chicago),
        dt.datetime(2026, 3, 8, 1, 30, tzinfo=chicago),
        dt.datetime(2026, 3, 8, 3, 30, tzinfo=chicago),
        dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=chicago),
        dt.datetime(2026, 4, 1, 0, 0, tzinfo=chicago),
        dt.datetime(2025, 4, 1, 0, 0, tzinfo=chicago),
        dt.datetime(2025, 3, 31, 23, 0, tzinfo=chicago),
        dt.datetime(2025, 11, 15, 12, 0, tzinfo=chicago),
    ]
    Problem.objects.bulk_create(
        copied(template, f"t{n}", occurred_at=moment, grade="ABC"[n % 3]) for n, moment in enumerate(times)
    )
    problems = Problem.objects.filter(plant=world.plant)

    by_day, by_month = qchart_data.calendar_counts(problems, 2026, 3, chicago)

    months = qchart.last_12_months(dt.date(2026, 3, 1))
    assert by_day == qchart_data.day_counts(problems, 2026, 3, chicago)
    assert by_month == qchart_data.month_counts(problems, months, chicago)
    assert by_day[dt.date(2026, 3, 1)] == {"A": 1, "C": 1}  # 00:00 and the intake's 09:00 Shanghai
    assert dt.date(2026, 3, 8) in by_day and (2025, 3) not in by_month and by_month[(2025, 4)] == {"A": 1}

    monkeypatch.setattr(qchart_data.connections[problems.db], "vendor", "sqlite")  # the development fallback
    assert qchart_data.calendar_counts(problems, 2026, 3, chicago) == (by_day, by_month)


def test_a_day_clicked_costs_fewer_queries_than_the_page(world, team_leader, quality_engineer):
    logged(world.line_a1, team_leader, "A", at(5))
    client = Client()
    client.force_login(quality_engineer)
    client.get(URL)
    with CaptureQueriesContext(connection) as whole:
        client.get(URL, {"day": "2026-03-05"})
    with CaptureQueriesContext(connection) as partial:
        client.get(URL, {"day": "2026-03-05"}, headers={"HX-Request": "true"})
    sql = " ".join(query["sql"] for query in partial.captured_queries)
    assert len(partial) < len(whole)
    assert "width_bucket" not in sql and "failuremode" not in sql  # no 12 months, no Paretos
