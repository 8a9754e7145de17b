"""API throttles (DRF, counted in the cache: Redis when REDIS_URL is set): one client beyond its
rate gets 429 with Retry-After, others are not slowed by it, and the schema says so."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PROBLEMS_URL = "/api/v1/problems/?limit=1"


def rate_per_minute(scope: str) -> int:
    count, period = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")
    assert period.startswith("m"), "these tests count requests per minute"
    return int(count)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_beyond_its_rate_a_client_gets_429_with_retry_after(team_leader):
    line_system = token_client(team_leader)
    allowed = rate_per_minute("user")
    answers = [line_system.get(PROBLEMS_URL).status_code for _ in range(allowed)]

    refused = line_system.get(PROBLEMS_URL)

    assert set(answers) == {200}
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"]


def test_one_client_over_its_rate_does_not_slow_another(team_leader, operator):
    busy = token_client(team_leader)
    for _ in range(rate_per_minute("user")):
        busy.get(PROBLEMS_URL)
    assert busy.get(PROBLEMS_URL).status_code == 429

    assert token_client(operator).get(PROBLEMS_URL).status_code == 200


def test_the_throttle_counts_session_requests_too(client, team_leader):
    client.force_login(team_leader)
    for _ in range(rate_per_minute("user")):
        client.get(PROBLEMS_URL)

    assert client.get(PROBLEMS_URL).status_code == 429


def test_anonymous_requests_have_their_own_lower_rate(client):
    assert rate_per_minute("anon") < rate_per_minute("user")
    for _ in range(rate_per_minute("anon")):
        assert client.get("/api/v1/schema/").status_code == 200  # open outside production

    assert client.get("/api/v1/schema/").status_code == 429


def test_the_schema_documents_the_429_of_every_operation(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operations = [operation for methods in schema["paths"].values() for operation in methods.values()]
    assert operations
    for operation in operations:
        assert "Retry-After" in operation["responses"]["429"]["headers"]
