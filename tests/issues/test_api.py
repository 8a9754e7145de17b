"""The REST API for line systems: dry-run grading and problem intake with idempotency keys."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from issues.common.scope import assign_role
from issues.grading.thresholds import copy_table, current_table
from issues.models import FailureMode, Problem, Role, Station
from issues.problems.intake import Report, report_problem

pytestmark = pytest.mark.django_db

GRADE_URL = "/api/v1/grade/"
PROBLEMS_URL = "/api/v1/problems/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def an_hour_ago() -> str:
    return (timezone.now() - dt.timedelta(hours=1)).isoformat()


def create_body(target_line, **overrides) -> dict:
    body = {
        "line": target_line.pk,
        "category": "quality",
        "title": "Burr on flange, station 3",
        "occurred_at": an_hour_ago(),
        "facts": {"defect_class": "A", "defect_count": 25},
    }
    body.update(overrides)
    return body


@pytest.fixture
def leader_api(team_leader):
    return token_client(team_leader)


# --- POST /api/v1/grade/ ---------------------------------------------------------------


def test_grading_a_quality_problem_returns_the_grade_the_rule_and_the_table_version(world, leader_api):
    response = leader_api.post(
        GRADE_URL,
        {"plant": world.plant.code, "category": "quality", "facts": {"defect_class": "A", "defect_count": 25}},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["grade"] == "A"
    assert data["table_version"] == current_table(world.plant).version
    assert [rule["code"] for rule in data["rules"]] == ["quality-a-defects-intermittent-a"]
    rule = data["rules"][0]
    assert rule["grade"] == "A"
    assert "25" in rule["explanation"] and "n > 20" in rule["explanation"]


def test_grading_stores_nothing(world, leader_api):
    leader_api.post(GRADE_URL, {"plant": world.plant.code, "category": "equipment", "facts": {}}, format="json")

    assert Problem.objects.count() == 0


def test_the_plant_may_be_given_by_id_or_by_code_in_any_case(world, leader_api):
    facts = {"downtime_minutes": 90}
    by_id = leader_api.post(
        GRADE_URL, {"plant": world.plant.pk, "category": "equipment", "facts": facts}, format="json"
    )
    by_code = leader_api.post(GRADE_URL, {"plant": "TP1", "category": "equipment", "facts": facts}, format="json")

    assert by_id.status_code == by_code.status_code == 200
    assert by_id.json() == by_code.json()
    assert by_id.json()["grade"] == "B"


def test_facts_that_reach_no_alarm_limit_grade_c_with_no_rule(world, leader_api):
    response = leader_api.post(
        GRADE_URL,
        {"plant": world.plant.code, "category": "quality", "facts": {"defect_class": "B", "defect_count": 3}},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["grade"] == "C"
    assert all(rule["grade"] == "C" for rule in response.json()["rules"])


def test_grading_uses_the_plants_newest_table_version(world, leader_api):
    first = current_table(world.plant)
    newer = copy_table(first, world.plant, note="edited")
    newer.rules.filter(code="equipment-downtime-b").update(grade="A")

    response = leader_api.post(
        GRADE_URL,
        {"plant": world.plant.code, "category": "equipment", "facts": {"downtime_minutes": 90}},
        format="json",
    )

    assert response.json()["table_version"] == newer.version == first.version + 1
    assert response.json()["grade"] == "A"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "quality"}, "plant"),
        ({"plant": "nowhere", "category": "quality"}, "plant"),
        ({"plant": "99999999999999999999999", "category": "quality"}, "plant"),
        ({"plant": "²", "category": "quality"}, "plant"),
        ({"plant": None, "category": "quality"}, "plant"),
        ({"plant": "tp1", "category": "weather"}, "category"),
        ({"plant": "tp1", "category": "quality", "facts": ["defect_count", 3]}, "facts"),
        ({"plant": "tp1", "category": "quality", "facts": {"defect_count": -1, "defect_class": "A"}}, "facts"),
        ({"plant": "tp1", "category": "quality", "facts": {"defect_count": "many", "defect_class": "A"}}, "facts"),
        ({"plant": "tp1", "category": "quality", "facts": {"wind_speed": 3}}, "facts"),
        ({"plant": "tp1", "category": "quality", "facts": {"defect_count": 12}}, "facts"),
        ({"plant": "tp1", "category": "equipment", "facts": {"downtime_minutes": "NaN"}}, "facts"),
    ],
    ids=[
        "no plant",
        "unknown plant code",
        "huge plant id",
        "superscript digit",
        "null plant",
        "unknown category",
        "facts not an object",
        "negative count",
        "count not a number",
        "unknown fact",
        "count without defect class",
        "NaN downtime",
    ],
)
def test_bad_grading_input_is_a_400_naming_the_field(world, leader_api, body, field):
    response = leader_api.post(GRADE_URL, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_fact_errors_name_the_fact(world, leader_api):
    response = leader_api.post(
        GRADE_URL,
        {
            "plant": "tp1",
            "category": "quality",
            "facts": {"defect_class": "A", "defect_count": 5, "consecutive_count": 9},
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["facts"]) == {"consecutive_count"}


def test_malformed_json_is_a_400_not_a_500(leader_api):
    response = leader_api.post(GRADE_URL, data='{"plant": "tp1",', content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("url", [GRADE_URL, PROBLEMS_URL])
def test_json_nested_too_deeply_is_a_400_not_a_500(leader_api, url):
    # 20,000 deep: far past Python's recursion limit, and within the API's 64 KB body limit.
    body = '{"plant": "tp1", "category": "quality", "facts": ' + "[" * 20_000 + "]" * 20_000 + "}"

    response = leader_api.post(url, data=body, content_type="application/json")

    assert response.status_code == 400


# --- POST /api/v1/problems/ --------------------------------------------------------------


def test_creating_a_problem_stores_it_graded_and_numbered(world, team_leader, leader_api):
    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    problem = Problem.objects.get()
    assert data["id"] == problem.pk
    day = timezone.localtime(problem.occurred_at, world.plant.zone).date()
    assert data["number"] == problem.number == f"TP1-{day:%Y%m%d}-001"
    assert data["grade"] == problem.grade == "A"
    assert data["status"] == "open"
    assert data["table_version"] == problem.threshold_table.version == current_table(world.plant).version
    assert [rule["code"] for rule in data["rules"]] == ["quality-a-defects-intermittent-a"]
    assert [rule["code"] for rule in problem.fired_rules] == ["quality-a-defects-intermittent-a"]
    assert problem.reported_by == team_leader
    assert problem.line == world.line_a1
    assert problem.facts == {"defect_class": "A", "defect_count": 25}


def test_optional_fields_are_stored_as_given(world, leader_api):
    body = create_body(
        world.line_a1,
        description="  Seen at station 3  ",
        shift=world.night.pk,
        kind="QE",
        cause_family="machine",
        failure_mode="Loose bolt",
    )

    response = leader_api.post(PROBLEMS_URL, body, format="json")

    assert response.status_code == 201, response.content
    problem = Problem.objects.get()
    assert (problem.description, problem.shift, problem.kind, problem.cause_family) == (
        "Seen at station 3",
        world.night,
        "QE",
        "machine",
    )
    assert problem.failure_mode.name_en == "Loose bolt"
    assert problem.failure_mode.reviewed is False
    assert response.json()["failure_mode"] == "Loose bolt"


def test_a_failure_mode_typed_in_chinese_matches_the_plants_existing_entry(world, leader_api, failure_mode):
    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1, failure_mode="毛刺"), format="json")

    assert response.status_code == 201
    assert Problem.objects.get().failure_mode == failure_mode
    assert FailureMode.objects.count() == 1


def test_the_same_idempotency_key_returns_the_first_problem_with_200(world, leader_api):
    body = create_body(world.line_a1)
    first = leader_api.post(PROBLEMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="mes-4711")
    again = leader_api.post(PROBLEMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="mes-4711")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["number"] == first.json()["number"]
    assert Problem.objects.count() == 1
    assert Problem.objects.get().title == "Burr on flange, station 3"


def test_different_idempotency_keys_make_different_problems(world, leader_api):
    one = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    two = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["number"] != two.json()["number"]
    assert Problem.objects.count() == 2


def test_without_an_idempotency_key_each_post_is_a_new_problem(world, leader_api):
    leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json")
    leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json")

    assert Problem.objects.count() == 2


def test_an_idempotency_key_is_per_reporter(world, team_leader, workshop_director):
    body = create_body(world.line_a1)
    leader = token_client(team_leader).post(PROBLEMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    director = token_client(workshop_director).post(PROBLEMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert (leader.status_code, director.status_code) == (201, 201)
    assert leader.json()["id"] != director.json()["id"]


@pytest.mark.parametrize("key", ["x" * 81, "bad\x00key"], ids=["too long", "NUL byte"])
def test_an_unusable_idempotency_key_is_a_400(world, leader_api, key):
    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert Problem.objects.count() == 0


def test_an_idempotency_key_of_80_characters_is_accepted(world, leader_api):
    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY="k" * 80)

    assert response.status_code == 201


def _days_ago(days: float) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"title": None}, "title", id="no title"),
        pytest.param({"title": "   "}, "title", id="blank title"),
        pytest.param({"title": "t" * 141}, "title", id="title too long"),
        pytest.param({"title": "nul\x00byte"}, "title", id="NUL in title"),
        pytest.param({"line": "abc"}, "line", id="line not a number"),
        pytest.param({"line": 10**20}, "line", id="line id out of range"),
        pytest.param({"line": None}, "line", id="null line"),
        pytest.param({"category": "weather"}, "category", id="unknown category"),
        pytest.param({"occurred_at": "yesterday"}, "occurred_at", id="time not ISO 8601"),
        pytest.param({"occurred_at": "0001-01-01T00:00:00+08:00"}, "occurred_at", id="year 1"),
        pytest.param({"occurred_at": "9999-12-31T23:59:59-14:00"}, "occurred_at", id="year 9999"),
        pytest.param({"occurred_at": "future"}, "occurred_at", id="in the future"),
        pytest.param({"occurred_at": "old"}, "occurred_at", id="older than 30 days"),
        pytest.param({"facts": "defect_count=3"}, "facts", id="facts not an object"),
        pytest.param({"facts": {"defect_class": "D", "defect_count": 1}}, "facts", id="defect class D"),
        pytest.param({"facts": {"defect_class": "A", "defect_count": 2.5}}, "facts", id="fractional count"),
        pytest.param({"kind": "QX"}, "kind", id="unknown kind"),
        pytest.param({"cause_family": "weather"}, "cause_family", id="unknown cause family"),
        pytest.param({"failure_mode": "f" * 121}, "failure_mode", id="failure mode too long"),
        pytest.param({"shift": 10**20}, "shift", id="shift id out of range"),
        pytest.param({"description": "d" * 5001}, "description", id="description too long"),
    ],
)
def test_bad_problem_input_is_a_400_with_field_errors(world, leader_api, overrides, field):
    if overrides.get("occurred_at") == "future":
        overrides = {"occurred_at": (timezone.now() + dt.timedelta(hours=1)).isoformat()}
    if overrides.get("occurred_at") == "old":
        overrides = {"occurred_at": _days_ago(31)}
    body = create_body(world.line_a1, **overrides)
    body = {name: value for name, value in body.items() if not (name == "title" and value is None)}

    response = leader_api.post(PROBLEMS_URL, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Problem.objects.count() == 0


def test_an_empty_body_lists_every_missing_required_field(leader_api):
    response = leader_api.post(PROBLEMS_URL, {}, format="json")

    assert response.status_code == 400
    assert {"line", "category", "title", "occurred_at"} <= set(response.json())


def test_a_json_list_instead_of_an_object_is_a_400(leader_api):
    response = leader_api.post(PROBLEMS_URL, [1, 2], format="json")

    assert response.status_code == 400


def test_an_inactive_line_cannot_receive_problems(world, leader_api):
    world.line_a1.active = False
    world.line_a1.save()

    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json")

    assert response.status_code == 400
    assert "line" in response.json()


def test_a_shift_of_another_plant_is_refused(world, other_world, team_leader):
    assign_role(team_leader, Role.TEAM_LEADER, plant=other_world.plant, line=other_world.line_a1)

    response = token_client(team_leader).post(
        PROBLEMS_URL, create_body(world.line_a1, shift=other_world.day.pk), format="json"
    )

    assert response.status_code == 400
    assert response.json()["shift"] == ["This shift belongs to another plant."]


def test_a_problem_29_days_old_may_still_be_logged(world, leader_api):
    response = leader_api.post(PROBLEMS_URL, create_body(world.line_a1, occurred_at=_days_ago(29)), format="json")

    assert response.status_code == 201


def test_a_problem_can_be_posted_as_a_form_with_session_auth(world, team_leader, client):
    client.force_login(team_leader)
    response = client.post(
        PROBLEMS_URL,
        {
            "line": world.line_a1.pk,
            "category": "equipment",
            "title": "Press stopped",
            "occurred_at": an_hour_ago(),
            "facts.downtime_minutes": "130",
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["grade"] == "A"
    assert Problem.objects.get().facts == {"downtime_minutes": 130}


# --- GET /api/v1/problems/ and /api/v1/problems/{id}/ -------------------------------------


def log(world_line, reporter, *, title="Burr", category="quality", facts=None, hours_ago=2) -> Problem:
    report = Report(
        line=world_line,
        category=category,
        title=title,
        occurred_at=timezone.now() - dt.timedelta(hours=hours_ago),
        facts=facts or {},
    )
    return report_problem(report, reporter=reporter)[0]


def test_reading_a_problem_returns_its_grading(world, team_leader, leader_api):
    problem = log(world.line_a1, team_leader, facts={"defect_class": "B", "consecutive_count": 15, "defect_count": 15})

    response = leader_api.get(f"{PROBLEMS_URL}{problem.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["number"], data["grade"], data["status"]) == (problem.pk, problem.number, "B", "open")
    assert data["table_version"] == problem.threshold_table.version
    assert [(rule["code"], rule["grade"]) for rule in data["rules"]] == [
        ("quality-b-defects-consecutive-b", "B"),
        ("quality-b-defects-intermittent-c", "C"),
    ]
    assert data["explanation"].startswith("B: 15 B-class defects in a row")
    assert data["plant"] == "tp1" and data["line"] == world.line_a1.pk


def test_listing_problems_is_paginated_newest_first(world, team_leader, leader_api):
    older = log(world.line_a1, team_leader, title="older", hours_ago=5)
    newer = log(world.line_a1, team_leader, title="newer", hours_ago=1)

    response = leader_api.get(PROBLEMS_URL)

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert [item["id"] for item in data["results"]] == [newer.pk, older.pk]


def test_listing_problems_can_be_filtered(world, team_leader, leader_api):
    log(world.line_a1, team_leader, title="press down", category="equipment", facts={"downtime_minutes": 200})
    log(world.line_a1, team_leader, title="burr", facts={"records_missing": True})

    by_grade = leader_api.get(PROBLEMS_URL, {"grade": "A"}).json()
    by_text = leader_api.get(PROBLEMS_URL, {"q": "burr"}).json()
    by_category = leader_api.get(PROBLEMS_URL, {"category": ["quality", "safety"]}).json()

    assert [item["title"] for item in by_grade["results"]] == ["press down"]
    assert [item["title"] for item in by_text["results"]] == ["burr"]
    assert [item["title"] for item in by_category["results"]] == ["burr"]


def test_listing_problems_can_be_filtered_by_the_documented_date_range(world, team_leader, leader_api):
    log(world.line_a1, team_leader, title="last week", hours_ago=24 * 7)
    log(world.line_a1, team_leader, title="today", hours_ago=1)
    since = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
    until = (timezone.now() - dt.timedelta(days=5)).date().isoformat()

    recent = leader_api.get(PROBLEMS_URL, {"occurred_after": since}).json()
    older = leader_api.get(PROBLEMS_URL, {"occurred_before": until}).json()

    assert [item["title"] for item in recent["results"]] == ["today"]
    assert [item["title"] for item in older["results"]] == ["last week"]


def test_an_invalid_filter_value_is_a_400(leader_api):
    response = leader_api.get(PROBLEMS_URL, {"grade": "Z"})

    assert response.status_code == 400
    assert "grade" in response.json()


@pytest.mark.parametrize("name", ["plant", "workshop", "line"])
def test_an_id_filter_beyond_64_bits_is_a_400_not_a_500(leader_api, name):
    response = leader_api.get(PROBLEMS_URL, {name: ["1", str(10**20)]})

    assert response.status_code == 400
    assert name in response.json()


def test_a_problem_id_that_is_not_a_number_is_a_404(leader_api):
    assert leader_api.get(f"{PROBLEMS_URL}abc/").status_code == 404
    assert leader_api.get(f"{PROBLEMS_URL}{10**20}/").status_code == 404


def test_an_unknown_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    listed = client.get(PROBLEMS_URL)
    graded = client.post(GRADE_URL, {"plant": "tp1", "category": "quality"}, format="json")

    assert listed.status_code in (401, 403) and "results" not in listed.json()
    assert graded.status_code in (401, 403) and "grade" not in graded.json()


def test_a_time_without_offset_is_read_in_the_plants_time_zone(world, leader_api):
    local_now = timezone.now().astimezone(world.plant.zone).replace(second=0, microsecond=0, tzinfo=None)
    an_hour_earlier = local_now - dt.timedelta(hours=1)

    response = leader_api.post(
        "/api/v1/problems/", create_body(world.line_a1, occurred_at=an_hour_earlier.isoformat()), format="json"
    )

    assert response.status_code == 201, response.json()
    stored = Problem.objects.get(pk=response.json()["id"]).occurred_at
    assert stored.astimezone(world.plant.zone).replace(tzinfo=None) == an_hour_earlier


def test_a_time_with_an_offset_is_taken_as_given(world, leader_api):
    moment = (timezone.now() - dt.timedelta(hours=2)).replace(microsecond=0)

    response = leader_api.post(
        "/api/v1/problems/", create_body(world.line_a1, occurred_at=moment.isoformat()), format="json"
    )

    assert response.status_code == 201, response.json()
    assert Problem.objects.get(pk=response.json()["id"]).occurred_at == moment


def test_a_station_must_be_on_the_problems_line(world, leader_api):
    on_line = Station.objects.create(line=world.line_a1, code="op20", name_en="OP20")
    elsewhere = Station.objects.create(line=world.line_a2, code="op20", name_en="OP20")

    refused = leader_api.post(PROBLEMS_URL, create_body(world.line_a1, station=elsewhere.pk), format="json")
    accepted = leader_api.post(PROBLEMS_URL, create_body(world.line_a1, station=on_line.pk), format="json")

    assert refused.status_code == 400 and "station" in refused.json()
    assert accepted.status_code == 201 and accepted.json()["station"] == on_line.pk
