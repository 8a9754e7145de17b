"""Who sees and does what: every view and endpoint checks role and scope (plant, workshop, line);
anonymous users go to the login page (UI) or get 401/403 (API); CSRF is enforced; user text is
escaped."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from issues.models import Problem, Profile, Role
from issues.problems.intake import Report, report_problem
from issues.problems.photos import store_photo
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def log(line, reporter, title: str, **facts) -> Problem:
    report = Report(
        line=line, category="quality", title=title, occurred_at=timezone.now() - dt.timedelta(hours=2), facts=facts
    )
    return report_problem(report, reporter=reporter)[0]


@pytest.fixture
def problems(world, quality_engineer):
    """One problem on each line of the test plant."""
    return {
        "a1": log(world.line_a1, quality_engineer, "on a1"),
        "a2": log(world.line_a2, quality_engineer, "on a2"),
        "m1": log(world.line_m1, quality_engineer, "on m1"),
    }


@pytest.fixture
def foreign_problem(other_world, outsider):
    return log(other_world.line_a1, outsider, "other plant's problem")


@pytest.fixture
def no_role_user(world):
    user = get_user_model().objects.create_user(username="nobody", password="pw-for-tests-only")
    Profile.objects.create(user=user, display_name="Nobody")
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def listed_titles(client) -> set[str]:
    response = client.get("/problems/")
    assert response.status_code == 200
    return {problem.title for problem in response.context["page"]}


def api_titles(user) -> set[str]:
    response = api_for(user).get("/api/v1/problems/")
    assert response.status_code == 200
    return {item["title"] for item in response.json()["results"]}


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


# --- anonymous ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/problems/", "/problems/new/", "/problems/1/", "/problems/?export=csv", "/photos/abc.jpg"]
)
def test_an_anonymous_visitor_is_sent_to_the_login_page(world, client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_an_anonymous_grade_preview_is_sent_to_the_login_page(world, client):
    response = client.post("/problems/grade-preview/", {"category": "quality", "line": world.line_a1.pk})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_anonymous_form_post_stores_nothing(world, client):
    client.post("/problems/new/", {"title": "x", "line": world.line_a1.pk, "category": "quality"})

    assert Problem.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/problems/"),
        ("get", "/api/v1/problems/1/"),
        ("post", "/api/v1/problems/"),
        ("post", "/api/v1/grade/"),
    ],
)
def test_the_api_refuses_anonymous_callers(world, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/json"


def test_a_problem_is_not_readable_anonymously_even_by_id(problems):
    response = APIClient().get(f"/api/v1/problems/{problems['a1'].pk}/")

    assert response.status_code in (401, 403)
    assert "number" not in response.json()


# --- an outsider from another plant ------------------------------------------------------


def test_an_outsider_gets_404_on_another_plants_problem(problems, outsider):
    client = logged_in(outsider)

    assert client.get(f"/problems/{problems['a1'].pk}/").status_code == 404
    assert api_for(outsider).get(f"/api/v1/problems/{problems['a1'].pk}/").status_code == 404


def test_an_outsider_lists_only_their_own_plant(problems, foreign_problem, outsider):
    assert listed_titles(logged_in(outsider)) == {"other plant's problem"}
    assert api_titles(outsider) == {"other plant's problem"}


def test_an_outsider_cannot_filter_their_way_into_another_plant(world, problems, outsider):
    client = logged_in(outsider)

    page = client.get("/problems/", {"plant": world.plant.pk, "line": world.line_a1.pk})
    api = api_for(outsider).get("/api/v1/problems/", {"plant": world.plant.pk})

    assert {problem.title for problem in page.context["page"]} == set()
    assert api.status_code == 400  # not a choice in their scope


def test_an_outsiders_export_has_no_rows_of_another_plant(problems, outsider):
    response = logged_in(outsider).get("/problems/", {"export": "csv"})

    assert response.status_code == 200
    body = response.content.decode("utf-8-sig")
    assert body.count("\n") == 1  # the header row only
    assert "on a1" not in body


def test_an_outsider_cannot_grade_with_another_plant(world, outsider):
    for plant in (world.plant.code, world.plant.pk):
        response = api_for(outsider).post(
            "/api/v1/grade/",
            {"plant": plant, "category": "equipment", "facts": {"downtime_minutes": 200}},
            format="json",
        )
        assert response.status_code == 400
        assert list(response.json()) == ["plant"]


def test_an_outsider_cannot_create_on_another_plants_line(world, outsider):
    response = api_for(outsider).post(
        "/api/v1/problems/",
        {
            "line": world.line_a1.pk,
            "category": "quality",
            "title": "sneaky",
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert "line" in response.json()
    assert Problem.objects.count() == 0


def test_an_outsider_cannot_log_on_another_plants_line_through_the_form(world, outsider):
    client = logged_in(outsider)
    form = client.get("/problems/new/")

    assert f'value="{world.line_a1.pk}"' not in form.content.decode().split('name="line"', 1)[1].split("</select>")[0]
    response = client.post(
        "/problems/new/",
        {
            "idempotency_key": "k" * 32,
            "category": "quality",
            "line": world.line_a1.pk,
            "title": "sneaky",
            "occurred_at": timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M"),
            "kind": "QC",
        },
    )
    assert response.status_code == 400
    assert Problem.objects.count() == 0


def test_an_outsider_gets_no_grade_preview_for_another_plants_line(world, outsider):
    response = logged_in(outsider).post(
        "/problems/grade-preview/", {"category": "equipment", "line": world.line_a1.pk, "downtime_minutes": "200"}
    )

    assert response.status_code == 200
    assert "data-grade" not in response.content.decode()


def test_an_outsider_cannot_fetch_another_plants_photo(world, problems, outsider, quality_engineer):
    photo = store_photo(jpeg(), name="burr.jpg", user=quality_engineer, problem=problems["a1"])

    assert logged_in(quality_engineer).get(f"/photos/{photo.token}.jpg").status_code == 200
    assert logged_in(outsider).get(f"/photos/{photo.token}.jpg").status_code == 404


# --- a user with no role -----------------------------------------------------------------


def test_a_user_with_no_role_sees_nothing(problems, no_role_user):
    client = logged_in(no_role_user)

    assert client.get("/problems/").status_code == 403
    assert client.get(f"/problems/{problems['a1'].pk}/").status_code == 403
    assert client.get("/problems/new/").status_code == 403
    assert client.get("/problems/", {"export": "xlsx"}).status_code == 403
    assert "on a1" not in client.get("/").content.decode()
    api = api_for(no_role_user)
    assert api.get("/api/v1/problems/").status_code == 403
    assert api.get(f"/api/v1/problems/{problems['a1'].pk}/").status_code == 403
    grade = api.post("/api/v1/grade/", {"plant": "tp1", "category": "quality"}, format="json")
    assert grade.status_code == 400 and list(grade.json()) == ["plant"]


def test_a_user_with_no_role_cannot_create_through_the_api(world, no_role_user):
    response = api_for(no_role_user).post(
        "/api/v1/problems/",
        {
            "line": world.line_a1.pk,
            "category": "quality",
            "title": "x",
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 403
    assert Problem.objects.count() == 0


def test_a_photo_of_a_problem_is_hidden_from_a_user_with_no_role(problems, no_role_user, quality_engineer):
    photo = store_photo(jpeg(), name="burr.jpg", user=quality_engineer, problem=problems["a1"])

    assert logged_in(no_role_user).get(f"/photos/{photo.token}.jpg").status_code == 404


# --- line, workshop and plant scope ------------------------------------------------------


def test_a_team_leader_sees_only_his_line(problems, team_leader):
    client = logged_in(team_leader)

    assert listed_titles(client) == {"on a1"}
    assert api_titles(team_leader) == {"on a1"}
    assert client.get(f"/problems/{problems['a1'].pk}/").status_code == 200
    assert client.get(f"/problems/{problems['a2'].pk}/").status_code == 404
    assert client.get(f"/problems/{problems['m1'].pk}/").status_code == 404
    assert api_for(team_leader).get(f"/api/v1/problems/{problems['a2'].pk}/").status_code == 404


def test_a_team_leader_cannot_log_on_another_line(world, team_leader):
    response = api_for(team_leader).post(
        "/api/v1/problems/",
        {
            "line": world.line_a2.pk,
            "category": "quality",
            "title": "x",
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert "line" in response.json()


def test_a_team_leaders_form_offers_only_his_line(world, team_leader):
    form = logged_in(team_leader).get("/problems/new/")

    lines = list(form.context["form"].fields["line"].queryset)
    assert lines == [world.line_a1]


def test_a_workshop_director_sees_his_workshop_only(problems, workshop_director):
    client = logged_in(workshop_director)

    assert listed_titles(client) == {"on a1", "on a2"}
    assert api_titles(workshop_director) == {"on a1", "on a2"}
    assert client.get(f"/problems/{problems['m1'].pk}/").status_code == 404
    assert client.get(f"/problems/{problems['a2'].pk}/").status_code == 200


def test_a_plant_wide_role_sees_the_whole_plant_but_not_another(problems, foreign_problem, general_manager):
    assert listed_titles(logged_in(general_manager)) == {"on a1", "on a2", "on m1"}


def test_the_home_page_shows_only_problems_in_scope(problems, team_leader):
    html = logged_in(team_leader).get("/").content.decode()

    assert "on a1" in html
    assert "on a2" not in html and "on m1" not in html


@pytest.mark.parametrize("token", ["a%00b", "..%2F..%2Fsettings", "0" * 200])
def test_a_garbled_photo_token_is_a_404(world, team_leader, token):
    assert logged_in(team_leader).get(f"/photos/{token}.jpg").status_code == 404


def test_a_staged_photo_is_visible_only_to_its_uploader(world, team_leader, workshop_director):
    staged = store_photo(jpeg(), name="staged.jpg", user=team_leader)

    assert logged_in(team_leader).get(f"/photos/{staged.token}.jpg").status_code == 200
    assert logged_in(workshop_director).get(f"/photos/{staged.token}.jpg").status_code == 404


# --- CSRF --------------------------------------------------------------------------------


def test_the_intake_form_refuses_a_post_without_the_csrf_token(world, team_leader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team_leader)
    data = {
        "idempotency_key": "c" * 32,
        "category": "quality",
        "line": world.line_a1.pk,
        "title": "csrf check",
        "occurred_at": timezone.localtime(timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "kind": "QC",
    }

    refused = client.post("/problems/new/", data)
    assert refused.status_code == 403
    assert Problem.objects.count() == 0

    client.get("/problems/new/")
    accepted = client.post("/problems/new/", {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert accepted.status_code == 302
    assert Problem.objects.count() == 1


def test_the_grade_preview_refuses_a_post_without_the_csrf_token(world, team_leader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team_leader)

    response = client.post("/problems/grade-preview/", {"category": "quality", "line": world.line_a1.pk})

    assert response.status_code == 403


def test_the_api_with_session_login_needs_the_csrf_token_but_not_with_a_token(world, team_leader):
    body = {"plant": "tp1", "category": "equipment", "facts": {"downtime_minutes": 90}}
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(team_leader)

    assert session.post("/api/v1/grade/", body, format="json").status_code == 403

    token = APIClient(enforce_csrf_checks=True)
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=team_leader).key}")
    assert token.post("/api/v1/grade/", body, format="json").status_code == 200


# --- escaping ----------------------------------------------------------------------------

SCRIPT = "<script>alert('x')</script>"


def test_a_script_in_a_title_is_shown_escaped_on_the_problem_page_and_the_list(world, quality_engineer):
    problem = log(world.line_a1, quality_engineer, SCRIPT)
    problem.description = f"line one\n{SCRIPT}"
    problem.save()
    client = logged_in(quality_engineer)

    for html in (client.get(f"/problems/{problem.pk}/").content.decode(), client.get("/problems/").content.decode()):
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_a_script_typed_into_the_form_is_escaped_when_the_form_comes_back(world, team_leader):
    response = logged_in(team_leader).post(
        "/problems/new/",
        {
            "idempotency_key": "s" * 32,
            "category": "quality",
            "line": world.line_a1.pk,
            "title": SCRIPT,
            "failure_mode": SCRIPT,
            "description": SCRIPT,
            "occurred_at": "not a time",
            "kind": "QC",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert SCRIPT not in html
    assert html.count("&lt;script&gt;") >= 3


def test_a_failure_mode_with_markup_is_escaped_in_the_form_suggestions(world, team_leader):
    from issues.models import FailureMode

    FailureMode.objects.create(plant=world.plant, name_en='"><img src=x onerror=alert(1)>', name_zh="坏")

    html = logged_in(team_leader).get("/problems/new/").content.decode()

    assert "<img src=x" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


CURATORS = {Role.QUALITY_ENGINEER, Role.QUALITY_MANAGER, Role.INSPECTION_SECTION_CHIEF}


@pytest.mark.parametrize("role", Role.values)
def test_every_role_can_log_and_read_problems_in_its_scope(world, other_world, role):
    person = make_person(f"p-{role}", role, plant=world.plant, workshop=world.assembly)
    api = APIClient()
    api.force_authenticate(person)

    created = api.post(
        "/api/v1/problems/",
        {
            "line": world.line_a1.pk,
            "category": "safety",
            "title": f"by {role}",
            "occurred_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
            "facts": {"incident": True},
        },
        format="json",
    )
    outside = api.post(
        "/api/v1/problems/",
        {
            "line": world.line_m1.pk,
            "category": "safety",
            "title": "other workshop",
            "occurred_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["grade"] == "B"
    assert outside.status_code == 400 and "line" in outside.json()
    assert [item["title"] for item in api.get("/api/v1/problems/").json()["results"]] == [f"by {role}"]
    web = Client()
    web.force_login(person)
    assert web.get("/problems/new/").status_code == 200


@pytest.mark.parametrize("role", Role.values)
def test_only_the_quality_roles_may_keep_threshold_tables(world, role):
    person = make_person(f"k-{role}", role, plant=world.plant)
    assert person.has_perm("issues.change_thresholdtable") == (role in CURATORS)
    assert not person.has_perm("issues.change_problem")
    assert not person.has_perm("issues.delete_problem")
