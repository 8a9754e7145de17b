"""Where a problem was found (Problem.source: the meeting's agenda groups new problems by it), and
the board status the meeting's chair sets for a problem without an 8D report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from issues.eightd.rules import Colour
from issues.eightd.steps import STEPS, step_colours
from issues.models import Problem, Source
from tests.issues.test_api import PROBLEMS_URL, create_body, token_client
from tests.issues.test_intake_form import NEW_URL, form_data

pytestmark = pytest.mark.django_db
R, Y, G, W = Colour.RED, Colour.YELLOW, Colour.GREEN, Colour.WHITE


def test_the_intake_form_stores_where_the_problem_was_found(client, world, team_leader):
    client.force_login(team_leader)
    response = client.post(NEW_URL, form_data(world, source="layered_audit"))
    assert response.status_code == 302
    assert Problem.objects.get().source == Source.LAYERED_AUDIT


def test_a_form_without_a_source_means_the_production_line(client, world, team_leader):
    client.force_login(team_leader)
    data = form_data(world)
    data.pop("source", None)
    client.post(NEW_URL, data)
    assert Problem.objects.get().source == Source.LINE


def test_an_unknown_source_is_a_form_error_and_stores_nothing(client, world, team_leader):
    client.force_login(team_leader)
    response = client.post(NEW_URL, form_data(world, source="mars"))
    assert response.status_code == 400
    assert "source" in response.context["form"].errors
    assert not Problem.objects.exists()


def test_the_api_takes_and_returns_the_source(world, team_leader):
    api = token_client(team_leader)
    response = api.post(
        PROBLEMS_URL, create_body(world.line_a1, source="customer"), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "customer"
    assert Problem.objects.get().source == Source.CUSTOMER


def test_the_api_rejects_an_unknown_source_naming_the_field(world, team_leader):
    response = token_client(team_leader).post(
        PROBLEMS_URL, create_body(world.line_a1, source="mars"), format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert response.status_code == 400
    assert "source" in response.json()


def colours(*values: Colour) -> dict[str, Colour]:
    return dict(zip(STEPS, values, strict=True))


@pytest.mark.parametrize(
    ("status", "board_status", "expected"),
    [
        ("contained", {}, colours(G, R, R, R, R)),
        ("contained", {"root_cause": "yellow"}, colours(G, Y, R, R, R)),
        ("contained", {"root_cause": "green", "actions": "white"}, colours(G, G, W, R, R)),
        # Closure is green only once the quality department has closed the problem.
        ("verifying", {"closure": "green"}, colours(G, G, G, Y, Y)),
        ("closed", {"closure": "green"}, colours(G, G, G, G, G)),
        # Unknown steps and colours (a hand-edited row) are ignored rather than shown wrongly.
        ("contained", {"root_cause": "purple", "lunch": "green"}, colours(G, R, R, R, R)),
    ],
)
def test_the_chairs_board_status_overrides_the_colours_the_status_gives(status, board_status, expected):
    assert step_colours(status, True, None, True, board_status) == expected


def test_an_eightd_reports_sections_win_over_the_chairs_board_status():
    states = dict.fromkeys(("D0", "D1", "D2", "D3"), "accepted") | {"D4": "todo"}
    result = step_colours("contained", True, states, True, {"root_cause": "green"})
    assert result["root_cause"] == R


def test_a_problem_records_its_source_and_board_status_in_its_history(world, team_leader):
    from tests.issues.eightd_factory import graded_problem

    problem = graded_problem(world.line_a1, team_leader, "C", occurred_at=timezone.now() - dt.timedelta(hours=1))
    problem.board_status = {"root_cause": "yellow"}
    problem.save(update_fields=["board_status"])
    assert problem.history.first().board_status == {"root_cause": "yellow"}
