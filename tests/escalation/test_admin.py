"""The escalation admin: policies with their tiers (history kept, scoped to the staff member's
plants), alarm rules, group webhooks, and the ledger, which can be read but never written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from escalation.dispatch import dispatch
from escalation.models import AlarmRule, EscalationEvent, EscalationPolicy, Notification, WebhookEndpoint
from escalation.sweep import sweep
from issues.models import Role
from issues.problems.intake import Report, report_problem
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site_time_zone_afterwards():
    """Requests activate the plant's zone (PlantTimezoneMiddleware) and leave it active in the
    thread; later tests expect the site's zone."""
    yield
    timezone.deactivate()


@pytest.fixture(autouse=True)
def no_gateway(settings):
    settings.QRQC_GATEWAY = {"URL": "", "TOKEN": ""}


@pytest.fixture
def admin_client_(db):
    user = get_user_model().objects.create_superuser(username="root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ledger(world, team_leader, quality_engineer):
    report = Report(
        line=world.line_a1,
        category="quality",
        title="Burr on flange",
        occurred_at=timezone.now() - dt.timedelta(minutes=10),
        facts={"defect_class": "A", "defect_count": 15},
    )
    problem = report_problem(report, reporter=team_leader)[0]
    now = timezone.now()
    sweep(now)
    for _ in range(4):
        dispatch(now)
    event = EscalationEvent.objects.get(problem=problem)
    return {"event": event, "notification": event.notifications.filter(channel="phone").first()}


def staff_of(plant, *codenames):
    """A quality manager of `plant` on the staff, after an admin gave the quality managers'
    role these escalation rights (rights come from a role, within its scope)."""
    user = make_person("staffer", Role.QUALITY_MANAGER, plant=plant)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    Group.objects.get(name=Role.QUALITY_MANAGER).permissions.add(
        *Permission.objects.filter(content_type__app_label="escalation", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def test_every_escalation_admin_page_loads(admin_client_, world, ledger):
    policy = EscalationPolicy.objects.filter(plant=world.plant, category="quality").get()
    rule = AlarmRule.objects.filter(plant=world.plant).first()
    hook = WebhookEndpoint.objects.create(
        plant=world.plant, name="Assembly chat", kind="wecom", url="http://127.0.0.1:9/hook", secret="s3cret"
    )
    pages = [
        "/admin/escalation/",
        "/admin/escalation/escalationpolicy/",
        f"/admin/escalation/escalationpolicy/{policy.pk}/change/",
        f"/admin/escalation/escalationpolicy/{policy.pk}/history/",
        "/admin/escalation/escalationpolicy/add/",
        "/admin/escalation/alarmrule/",
        f"/admin/escalation/alarmrule/{rule.pk}/change/",
        "/admin/escalation/webhookendpoint/",
        f"/admin/escalation/webhookendpoint/{hook.pk}/change/",
        "/admin/escalation/webhookendpoint/add/",
        "/admin/escalation/escalationevent/",
        f"/admin/escalation/escalationevent/{ledger['event'].pk}/change/",
        "/admin/escalation/notification/",
        f"/admin/escalation/notification/{ledger['notification'].pk}/change/",
    ]
    for page in pages:
        response = admin_client_.get(page)
        assert response.status_code == 200, page
    policy_page = admin_client_.get(f"/admin/escalation/escalationpolicy/{policy.pk}/change/").content.decode()
    assert 'type="checkbox" name="tiers-0-roles" value="team_leader"' in policy_page  # ticks, not raw JSON
    assert "Level 4 — line" in policy_page
    notification_page = admin_client_.get(
        f"/admin/escalation/notification/{ledger['notification'].pk}/change/"
    ).content.decode()
    assert "no phone/SMS gateway configured" in notification_page  # the attempts, with the provider's answer


def tier_post(policy, **changes) -> dict:
    data = {
        "plant": policy.plant_id,
        "category": policy.category,
        "ceiling_a": policy.ceiling_a,
        "ceiling_b": policy.ceiling_b,
        "ceiling_c": policy.ceiling_c,
        "tiers-TOTAL_FORMS": policy.tiers.count(),
        "tiers-INITIAL_FORMS": policy.tiers.count(),
        "tiers-MIN_NUM_FORMS": 0,
        "tiers-MAX_NUM_FORMS": 1000,
    }
    for index, tier in enumerate(policy.tiers.all()):
        data.update(
            {
                f"tiers-{index}-id": tier.pk,
                f"tiers-{index}-policy": policy.pk,
                f"tiers-{index}-level": tier.level,
                f"tiers-{index}-after_minutes": tier.after_minutes,
                f"tiers-{index}-roles": tier.roles,
                f"tiers-{index}-channels": tier.channels,
            }
        )
    data.update(changes)
    return data


def test_editing_a_policy_and_its_tiers_keeps_history(admin_client_, world):
    policy = EscalationPolicy.objects.get(plant=world.plant, category="quality")
    level3 = policy.tiers.get(level=3)
    index = list(policy.tiers.all()).index(level3)

    response = admin_client_.post(
        f"/admin/escalation/escalationpolicy/{policy.pk}/change/",
        tier_post(
            policy,
            ceiling_b=2,
            **{f"tiers-{index}-after_minutes": 25, f"tiers-{index}-channels": ["phone", "sms", "inapp"]},
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    policy.refresh_from_db()
    level3.refresh_from_db()
    assert policy.ceiling_b == 2
    assert (level3.after_minutes, level3.channels) == (25, ["phone", "sms", "inapp"])
    assert policy.history.count() == 2 and policy.history.first().ceiling_b == 2
    assert level3.history.first().after_minutes == 25  # seeded tiers were bulk-created: this is their first record


def test_a_tier_needs_at_least_one_role_and_channel(admin_client_, world):
    policy = EscalationPolicy.objects.get(plant=world.plant, category="quality")

    response = admin_client_.post(
        f"/admin/escalation/escalationpolicy/{policy.pk}/change/", tier_post(policy, **{"tiers-0-roles": []})
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_the_ledger_is_read_only(admin_client_, ledger):
    event, notification = ledger["event"], ledger["notification"]
    before = (event.fired_at, list(event.recipients), notification.status)

    assert admin_client_.get("/admin/escalation/escalationevent/add/").status_code == 403
    assert admin_client_.get("/admin/escalation/notification/add/").status_code == 403
    assert admin_client_.get(f"/admin/escalation/escalationevent/{event.pk}/delete/").status_code == 403
    assert admin_client_.get(f"/admin/escalation/notification/{notification.pk}/delete/").status_code == 403
    assert (
        admin_client_.post(
            f"/admin/escalation/escalationevent/{event.pk}/change/", {"level": 1, "fell_through": "on"}
        ).status_code
        == 403
    )
    assert (
        admin_client_.post(f"/admin/escalation/notification/{notification.pk}/change/", {"status": "sent"}).status_code
        == 403
    )
    changelist = admin_client_.post(
        "/admin/escalation/escalationevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    page = admin_client_.get(f"/admin/escalation/escalationevent/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert "Add escalation event" not in admin_client_.get("/admin/escalation/escalationevent/").content.decode()
    event.refresh_from_db()
    notification.refresh_from_db()
    assert (event.fired_at, list(event.recipients), notification.status) == before
    assert EscalationEvent.objects.filter(pk=event.pk).exists()


def test_staff_see_and_choose_only_their_own_plants(world, other_world, ledger):
    client = staff_of(
        other_world.plant,
        "view_escalationpolicy",
        "change_escalationpolicy",
        "add_escalationpolicy",
        "view_escalationevent",
        "view_notification",
        "view_webhookendpoint",
        "add_webhookendpoint",
    )
    theirs = EscalationPolicy.objects.get(plant=other_world.plant, category="quality")
    ours = EscalationPolicy.objects.get(plant=world.plant, category="quality")

    listing = client.get("/admin/escalation/escalationpolicy/")

    assert set(listing.context["cl"].result_list) == set(EscalationPolicy.objects.filter(plant=other_world.plant))
    assert client.get(f"/admin/escalation/escalationpolicy/{theirs.pk}/change/").status_code == 200
    assert client.get(f"/admin/escalation/escalationpolicy/{ours.pk}/change/").status_code == 302  # "does not exist"
    assert list(client.get("/admin/escalation/escalationevent/").context["cl"].result_list) == []
    assert list(client.get("/admin/escalation/notification/").context["cl"].result_list) == []
    assert client.get(f"/admin/escalation/escalationevent/{ledger['event'].pk}/change/").status_code == 302
    add_form = client.get("/admin/escalation/webhookendpoint/add/").context["adminform"].form
    assert list(add_form.fields["plant"].queryset) == [other_world.plant]
    assert set(add_form.fields["workshop"].queryset.values_list("plant", flat=True)) == {other_world.plant.pk}


def test_the_ledger_shows_each_notification_of_an_event(admin_client_, ledger):
    page = admin_client_.get(f"/admin/escalation/escalationevent/{ledger['event'].pk}/change/").content.decode()

    assert page.count("leader") >= 4  # phone, in-app, then the SMS and e-mail fallbacks
    assert Notification.objects.filter(event=ledger["event"]).count() == 8
