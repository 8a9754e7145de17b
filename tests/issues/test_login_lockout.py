"""Login lockout (issue #11: 40 wrong passwords in 22 s, then the right one logged in). Failures
count per user name and device address; the locked name sees how long and whom to ask; a
plant's quality manager or an administrator unlocks it."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.exceptions import AxesBackendRequestParameterRequired
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory

from issues.common.login_lockout import client_address, lockout_minutes
from issues.models import Role
from tests.conftest import make_person

PASSWORD = "pw-for-tests-only"
TABLET = "127.0.0.1"  # the test client's address
OTHER_TABLET = "127.0.0.2"


def log_in(client: Client, username: str, password: str = PASSWORD, *, address: str = TABLET, **extra):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def logged_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def guess_wrong(username: str, times: int, *, address: str = TABLET) -> None:
    guesser = Client()
    for attempt in range(times):
        log_in(guesser, username, f"wrong-{attempt}", address=address)


@pytest.fixture
def plant_quality_manager(world):
    person = make_person("qmanager", Role.QUALITY_MANAGER, plant=world.plant)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    return person


@pytest.fixture
def administrator(db):
    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


def test_the_41st_attempt_with_the_right_password_is_refused_with_the_lockout_message(client, team_leader):
    guess_wrong(team_leader.username, 40)

    response = log_in(client, team_leader.username)

    assert response.status_code == 429
    assert logged_in_as(client) is None
    page = response.content.decode()
    assert 'data-testid="login-locked"' in page
    assert "Too many wrong passwords for “leader” on this device" in page
    assert "for the next 15 minutes" in page
    assert "ask your plant's quality manager or the QRQC administrator" in page
    assert response["Retry-After"] == str(15 * 60)
    assert 'value="leader"' in page  # the form is there again, the name filled in


def test_the_lockout_message_is_in_chinese_for_a_chinese_browser(client, team_leader):
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT)

    page = log_in(client, team_leader.username, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "15 分钟内不能在此设备登录" in page
    assert "工厂质量经理" in page


def test_five_wrong_passwords_lock_the_name_and_four_do_not(client, team_leader):
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, team_leader.username).status_code == 302
    assert logged_in_as(client) == "leader"

    client.logout()
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT)
    assert log_in(client, team_leader.username).status_code == 429


def test_a_successful_login_forgets_the_earlier_typos(client, team_leader):
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, team_leader.username).status_code == 302
    client.logout()
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT - 1)

    assert log_in(client, team_leader.username).status_code == 302


def test_another_person_on_the_same_tablet_still_logs_in(client, team_leader, operator):
    guess_wrong(team_leader.username, 40)

    response = log_in(client, operator.username)

    assert response.status_code == 302
    assert logged_in_as(client) == "operator"


def test_the_locked_name_still_logs_in_on_another_device(client, team_leader):
    guess_wrong(team_leader.username, 40, address=TABLET)

    assert log_in(client, team_leader.username, address=OTHER_TABLET).status_code == 302


def test_the_admin_login_is_locked_too(client, administrator):
    guess_wrong(administrator.username, settings.AXES_FAILURE_LIMIT)

    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})

    assert response.status_code == 429
    assert 'data-testid="login-locked"' in response.content.decode()
    assert logged_in_as(client) is None


def test_a_locked_name_keeps_its_api_token(client, team_leader):
    """A line system's token is not a password: locking the name on a tablet leaves it working."""
    token = Token.objects.create(user=team_leader)
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT)

    response = client.get("/api/v1/problems/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200


def test_tests_log_in_with_force_login_or_with_a_request_for_axes(client, team_leader):
    """force_login skips authentication (and axes); client.login goes through axes, which
    needs the request to know the device (without one it raises rather than count nothing)."""
    client.force_login(team_leader)
    assert logged_in_as(client) == "leader"
    client.logout()
    login_request = RequestFactory().post("/login/")

    assert client.login(request=login_request, username="leader", password=PASSWORD)
    with pytest.raises(AxesBackendRequestParameterRequired):
        client.login(username="leader", password=PASSWORD)
    guess_wrong(team_leader.username, settings.AXES_FAILURE_LIMIT)
    assert not client.login(request=RequestFactory().post("/login/"), username="leader", password=PASSWORD)


def locked_attempt(username: str) -> AccessAttempt:
    return AccessAttempt.objects.get(username=username)


def unlock_in_admin(unlocker, attempt: AccessAttempt):
    admin_client = Client()
    admin_client.force_login(unlocker)
    return admin_client.post(
        "/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": [attempt.pk]}, follow=True
    )


def test_an_administrator_unlocks_in_the_admin_and_the_person_logs_in(client, team_leader, administrator):
    guess_wrong(team_leader.username, 40)

    response = unlock_in_admin(administrator, locked_attempt("leader"))

    assert "1 log-in unlocked." in response.content.decode()
    assert log_in(client, team_leader.username).status_code == 302
    assert logged_in_as(client) == "leader"


def test_the_plant_quality_manager_unlocks_a_person_of_the_plant(client, team_leader, plant_quality_manager):
    guess_wrong(team_leader.username, 40)

    unlock_in_admin(plant_quality_manager, locked_attempt("leader"))

    assert log_in(client, team_leader.username).status_code == 302


def test_the_reset_command_unlocks_a_name(client, team_leader):
    guess_wrong(team_leader.username, 40)

    call_command("axes_reset_username", "leader")

    assert log_in(client, team_leader.username).status_code == 302


@pytest.mark.parametrize(
    ("unlocker", "sees"),
    [
        ("administrator", {"leader", "outsider", "nobody-by-this-name"}),
        ("plant_quality_manager", {"leader"}),
        ("outsider", {"outsider"}),  # the other plant's quality manager: only the other plant's people
    ],
)
def test_each_unlocker_sees_the_locked_names_of_their_own_plants(
    request, unlocker, sees, team_leader, outsider, administrator, plant_quality_manager
):
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    for username in ("leader", "outsider", "nobody-by-this-name"):
        guess_wrong(username, settings.AXES_FAILURE_LIMIT)
    viewer = Client()
    viewer.force_login(request.getfixturevalue(unlocker))

    page = viewer.get("/admin/axes/accessattempt/")

    assert page.status_code == 200
    listed = {row.username for row in page.context["cl"].result_list}
    assert listed == sees


def test_an_unlocker_cannot_unlock_a_name_outside_their_plants(client, team_leader, outsider):
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    guess_wrong(team_leader.username, 40)

    unlock_in_admin(outsider, locked_attempt("leader"))

    assert AccessAttempt.objects.filter(username="leader").exists()
    assert log_in(client, team_leader.username).status_code == 429


@pytest.mark.parametrize("role", [Role.QUALITY_ENGINEER, Role.TEAM_LEADER])
def test_staff_without_the_quality_manager_role_have_no_locked_log_ins_page(world, role):
    person = make_person("staffer", role, plant=world.plant)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    viewer = Client()
    viewer.force_login(person)

    assert viewer.get("/admin/axes/accessattempt/").status_code == 403
    assert "/admin/axes/" not in viewer.get("/admin/").content.decode()


def test_a_workshop_quality_manager_does_not_reach_the_whole_plant(world, team_leader):
    person = make_person("wsqm", Role.QUALITY_MANAGER, plant=world.plant, workshop=world.assembly)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    viewer = Client()
    viewer.force_login(person)

    assert viewer.get("/admin/axes/accessattempt/").status_code == 403


@pytest.mark.parametrize(
    ("cool_off", "minutes"),
    [
        (dt.timedelta(minutes=15), 15),
        (dt.timedelta(minutes=14, seconds=1), 15),
        (dt.timedelta(seconds=20), 1),
        (dt.timedelta(hours=2), 120),
    ],
)
def test_the_wait_is_told_in_whole_minutes_rounded_up(cool_off, minutes):
    assert lockout_minutes(cool_off) == minutes


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "127.0.0.1", None, "127.0.0.1"),
        (0, "127.0.0.1", "198.51.100.9", "127.0.0.1"),  # not behind a proxy: the header is the client's word
        (1, "127.0.0.1", "127.0.0.9", "127.0.0.9"),
        (1, "127.0.0.1", "198.51.100.9, 127.0.0.9", "127.0.0.9"),  # only the entry our proxy appended
        (2, "127.0.0.1", "198.51.100.9, 127.0.0.9, 127.0.0.8", "127.0.0.9"),
    ],
)
def test_failures_count_against_the_address_the_trusted_proxies_saw(settings, proxies, remote, forwarded, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    extra = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
    request = APIRequestFactory().post("/login/", **extra)

    assert client_address(request) == expected
