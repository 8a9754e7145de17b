"""The API refuses what it does not understand (issue #11): unknown fact names in a short
answer, payloads above the API's size, limits and offsets that are not page numbers, ids that
are not whole numbers, and an Idempotency-Key reused with another body (422). The intake form
answers a reused key the same way."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from issues.grading.facts import clean_facts
from issues.models import Problem
from issues.problems.intake import IdempotencyConflict, Report, report_fingerprint, report_problem
from tests.concurrency import run_together
from tests.issues.test_api import GRADE_URL, PROBLEMS_URL, create_body, log, token_client
from tests.issues.test_intake_form import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader_api(team_leader):
    return token_client(team_leader)


# --- fact names -----------------------------------------------------------------------------


def test_a_few_unknown_facts_are_named_one_by_one():
    _facts, errors = clean_facts("quality", {"wind": 1, "rain": 2, "defect_class": "A"})

    assert errors == {"wind": ["Not a fact of this category."], "rain": ["Not a fact of this category."]}


def test_many_unknown_facts_are_named_five_and_counted():
    _facts, errors = clean_facts("quality", {f"made_up_{index}": 1 for index in range(1000)})

    assert list(errors) == [f"made_up_{index}" for index in range(5)] + ["non_field_errors"]
    assert errors["non_field_errors"] == ["995 more names are not facts of this category either."]


def test_grading_with_a_thousand_unknown_facts_is_a_short_400(world, leader_api):
    facts = {f"made_up_{index}": 1 for index in range(1000)}

    response = leader_api.post(GRADE_URL, {"plant": "tp1", "category": "quality", "facts": facts}, format="json")

    assert response.status_code == 400
    assert len(response.content) < 1000
    assert set(response.json()["facts"]) == {*(f"made_up_{index}" for index in range(5)), "non_field_errors"}


def test_grading_with_200000_unknown_facts_is_refused_by_its_size(world, leader_api):
    facts = {f"made_up_{index}": 1 for index in range(200_000)}

    response = leader_api.post(GRADE_URL, {"plant": "tp1", "category": "quality", "facts": facts}, format="json")

    assert response.status_code == 413
    assert response.json()["detail"].endswith("more than the 64 KB this address takes.")


def test_creating_a_problem_refuses_unknown_facts_too(world, leader_api):
    body = create_body(world.line_a1, facts={"defect_class": "A", "wind": 3})

    response = leader_api.post(PROBLEMS_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["facts"] == {"wind": ["Not a fact of this category."]}
    assert Problem.objects.count() == 0


# --- limit and offset -----------------------------------------------------------------------


@pytest.fixture
def three_problems(world, team_leader, settings):
    settings.QRQC_API_MAX_PAGE_SIZE = 2
    return [log(world.line_a1, team_leader, title=f"p{index}", hours_ago=index + 1) for index in range(3)]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, 2),
        ({"limit": "1"}, 1),
        ({"limit": "3"}, 2),
        ({"limit": "9223372036854775808"}, 2),
        ({"limit": "1", "offset": "2"}, 1),
        ({"offset": "9223372036854775807"}, 0),
    ],
)
def test_a_page_holds_at_most_the_page_size(leader_api, three_problems, query, shown):
    response = leader_api.get(PROBLEMS_URL, query)

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == shown


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, {"limit": ["Give a whole number from 1 to 2."]}),
        ({"limit": "-1"}, {"limit": ["Give a whole number from 1 to 2."]}),
        ({"limit": "1.5"}, {"limit": ["Give a whole number from 1 to 2."]}),
        ({"limit": "ten"}, {"limit": ["Give a whole number from 1 to 2."]}),
        ({"limit": "9" * 5000}, {"limit": ["Give a whole number from 1 to 2."]}),
        ({"offset": "-1"}, {"offset": ["Give a whole number, 0 or more."]}),
        ({"offset": "1.5"}, {"offset": ["Give a whole number, 0 or more."]}),
        ({"offset": "9223372036854775808"}, {"offset": ["Give a whole number, 0 or more."]}),
    ],
)
def test_a_limit_or_offset_that_is_not_a_page_number_is_a_400(leader_api, three_problems, query, message):
    response = leader_api.get(PROBLEMS_URL, query)

    assert response.status_code == 400
    assert response.json() == message


# --- ids ------------------------------------------------------------------------------------


FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    ("field", "value_for"),
    [
        ("line", lambda pk: pk + 0.5),
        ("line", lambda pk: f"{pk}.5"),
        ("line", lambda pk: float(pk)),
        ("line", lambda pk: True),
        ("line", lambda pk: str(pk).translate(FULL_WIDTH_DIGITS)),
        ("line", lambda pk: f" {pk}"),
        ("line", lambda pk: -pk),
        ("line", lambda pk: 2**63),
        ("shift", lambda pk: 1.5),
        ("station", lambda pk: "0x1"),
    ],
    ids=["x.5", "'x.5'", "x.0", "true", "full-width digits", "leading space", "negative", "2**63", "shift", "station"],
)
def test_an_id_that_is_not_a_whole_number_is_a_400(world, leader_api, field, value_for):
    body = create_body(world.line_a1, **{field: value_for(world.line_a1.pk)})

    response = leader_api.post(PROBLEMS_URL, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Problem.objects.count() == 0


def test_an_id_as_digits_in_a_form_is_accepted(world, team_leader, client):
    client.force_login(team_leader)

    response = client.post(
        PROBLEMS_URL,
        {"line": str(world.line_a1.pk), "category": "quality", "title": "Burr", "occurred_at": an_hour_ago()},
    )

    assert response.status_code == 201, response.content


def an_hour_ago() -> str:
    return (timezone.now() - dt.timedelta(hours=1)).isoformat()


# --- idempotency keys -----------------------------------------------------------------------


def test_the_same_key_with_another_body_is_a_422_and_stores_nothing(world, leader_api):
    first = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY="mes-1")
    other = create_body(world.line_a1, title="Another problem")

    again = leader_api.post(PROBLEMS_URL, other, format="json", HTTP_IDEMPOTENCY_KEY="mes-1")

    assert (first.status_code, again.status_code) == (201, 422)
    number = first.json()["number"]
    assert again.json() == {
        "detail": f"This Idempotency-Key was used for {number}, with another body. Send a new key for a new problem."
    }
    assert Problem.objects.count() == 1


def test_the_same_report_written_otherwise_is_still_a_replay(world, leader_api):
    """Key order, the time's offset and a number's spelling are not the report."""
    occurred = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    body = create_body(world.line_a1, occurred_at=occurred.isoformat())
    first = leader_api.post(PROBLEMS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="mes-2")
    shanghai = occurred.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    reordered = dict(reversed(list({**body, "occurred_at": shanghai}.items())))
    reordered["facts"] = {"defect_count": "25", "defect_class": "a"}

    again = leader_api.post(
        PROBLEMS_URL, json.dumps(reordered), content_type="application/json", HTTP_IDEMPOTENCY_KEY="mes-2"
    )

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json()["id"] == first.json()["id"]


def test_a_problem_stored_before_fingerprints_still_replays(world, leader_api):
    first = leader_api.post(PROBLEMS_URL, create_body(world.line_a1), format="json", HTTP_IDEMPOTENCY_KEY="old")
    Problem.objects.update(idempotency_fingerprint="")

    again = leader_api.post(
        PROBLEMS_URL, create_body(world.line_a1, title="x"), format="json", HTTP_IDEMPOTENCY_KEY="old"
    )

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Other"},
        {"description": "more"},
        {"facts": {"defect_class": "B"}},
        {"kind": "QE"},
        {"cause_family": "method"},
        {"source": "customer"},
        {"occurred_at": timezone.now() - dt.timedelta(hours=3)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_reported_field_is_in_the_fingerprint(world, change):
    report = Report(
        line=world.line_a1,
        category="quality",
        title="Burr",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
        facts={"defect_class": "A"},
    )
    changed = Report(**{**report.__dict__, **change})

    assert re.fullmatch(r"[0-9a-f]{64}", report_fingerprint(report))
    assert report_fingerprint(changed) != report_fingerprint(report)
    assert report_fingerprint(Report(**report.__dict__)) == report_fingerprint(report)


def test_the_intake_form_sent_again_with_other_values_says_so_and_logs_nothing(world, team_leader, client):
    """A shift leader sends the form, goes back, changes the title and sends it again."""
    client.force_login(team_leader)
    client.post("/problems/new/", form_data(world))
    first = Problem.objects.get()

    response = client.post("/problems/new/", form_data(world, title="Scratch on cover"))

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        f"This form already logged {first.number} with other values, so nothing was saved now. "
        "Send it again to log these values as a new problem."
    ]
    new_key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', response.content.decode()).group(1)
    assert new_key != form_data(world)["idempotency_key"]
    assert Problem.objects.count() == 1

    client.post("/problems/new/", form_data(world, title="Scratch on cover", idempotency_key=new_key))

    assert sorted(Problem.objects.values_list("title", flat=True)) == ["Burr on flange, station 3", "Scratch on cover"]


@pytest.mark.django_db(transaction=True)
def test_one_key_raced_with_two_reports_stores_one_and_refuses_the_other(postgresql_only, world, team_leader):
    occurred = timezone.now() - dt.timedelta(hours=1)
    titles = ["Burr", "Scratch"]

    def attempt():
        report = Report(line=world.line_a1, category="quality", title=titles.pop(), occurred_at=occurred)
        try:
            return report_problem(report, reporter=team_leader, idempotency_key="raced")[1]
        except IdempotencyConflict as conflict:
            return conflict.problem.pk

    results = run_together(2, attempt)

    stored = Problem.objects.get()
    assert [result for result in results if result is True] == [True]  # one created it
    assert [result for result in results if result is not True] == [stored.pk]  # the other was told whose key it was
