"""The OpenAPI schema of /api/v1/: it is valid, the docs page is served locally, and a bounded
schemathesis run (in-process, through the WSGI app, as a team leader) finds no server error
and no undocumented status code."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from issues.problems.intake import Report, report_problem
from qrqc_site.wsgi import application

pytestmark = pytest.mark.django_db


def test_the_served_schema_is_a_valid_openapi_document_listing_the_issue_endpoints(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid OpenAPI document
    paths = schema["paths"]
    assert set(paths["/api/v1/grade/"]) == {"post"}
    assert {"get", "post"} <= set(paths["/api/v1/problems/"])
    assert "get" in paths["/api/v1/problems/{id}/"]
    create = paths["/api/v1/problems/"]["post"]
    assert {"200", "201", "400", "413", "422"} <= set(create["responses"])
    assert {"200", "400", "413"} <= set(paths["/api/v1/grade/"]["post"]["responses"])
    assert {"200", "400"} <= set(paths["/api/v1/problems/"]["get"]["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert "404" in paths["/api/v1/problems/{id}/"]["get"]["responses"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["name"] == "Authorization" and schemes["tokenAuth"]["in"] == "header"
    assert schemes["cookieAuth"]["in"] == "cookie"


def test_the_schema_generates_from_the_command_line_without_errors(tmp_path):
    # The generator builds the create serializer without a request; it must not crash.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/problems/{id}/:" in text
    assert "ProblemCreateRequest" in text


def test_the_docs_page_loads_swagger_from_this_server_not_a_cdn(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>" not in html and "<style>" not in html  # the Content-Security-Policy forbids inline ones
    start_up = client.get("/api/v1/docs/?script=")
    assert start_up["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in start_up.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads no script or stylesheet"
    assert not [source for source in sources if source.startswith(("http://", "https://", "//"))]
    assets = [source for source in sources if "swagger-ui" in source]
    assert assets
    for asset in assets:
        relative = asset.split("/static/", 1)[1]
        assert finders.find(relative), f"{asset} is not a local static file"


OPERATIONS = [
    ("/api/v1/grade/", "POST"),
    ("/api/v1/problems/", "GET"),
    ("/api/v1/problems/", "POST"),
    ("/api/v1/problems/{id}/", "GET"),
]


@pytest.fixture
def keep_test_connection():
    """The WSGI app fires request_started/finished, which close the database connection; the
    test transaction lives on it, so detach that handler as Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token_headers(team_leader):
    return {"Authorization": f"Token {Token.objects.create(user=team_leader).key}"}


@pytest.fixture
def existing_problem(world, team_leader):
    report = Report(
        line=world.line_a1,
        category="quality",
        title="Burr on flange",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
        facts={"defect_class": "A", "defect_count": 25},
    )
    return report_problem(report, reporter=team_leader)[0]


def steer_into_scope(world, operation_path: str, method: str):
    """Positive cases get the team leader's own plant / line and a recent time, so the
    success paths (200, 201, idempotent replay) are fuzzed too, not only the 400s."""

    def steer(case):
        if not isinstance(case.body, dict):
            return case
        body = dict(case.body)
        if operation_path == "/api/v1/grade/":
            body["plant"] = world.plant.code
        elif method == "POST":
            body["line"] = world.line_a1.pk
            body["occurred_at"] = (timezone.now() - dt.timedelta(hours=2)).isoformat()
            body.pop("shift", None)
        case.body = body
        return case

    return steer


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_schemathesis_finds_no_server_error_and_no_undocumented_status(
    path, method, mode, world, token_headers, existing_problem, keep_test_connection
):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    operation = schema[path][method]
    positive = mode is GenerationMode.POSITIVE
    path_parameters = {"id": existing_problem.pk} if "{id}" in path and positive else None
    strategy = operation.as_strategy(generation_mode=mode, headers=token_headers, path_parameters=path_parameters)
    if positive:
        strategy = strategy.map(steer_into_scope(world, path, method))
    seen: set[int] = set()

    @settings(max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        response = case.call(headers=token_headers)
        seen.add(response.status_code)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        )

    run()
    assert seen, "schemathesis sent no request"
    assert not any(code >= 500 for code in seen), sorted(seen)
    if positive:
        assert any(200 <= code < 300 for code in seen), f"no success path was exercised: {sorted(seen)}"
