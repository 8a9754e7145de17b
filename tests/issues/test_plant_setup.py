"""A new plant is set up explicitly (issues.plant_setup.set_up_plant) wherever one is created: it
grades, escalates and solves problems from its first minute."""

from django.urls import reverse

from escalation.models import AlarmRule, EscalationPolicy
from issues.grading.thresholds import current_table
from issues.models import Plant, SolvingPolicy
from issues.plant_setup import set_up_plant


def plant_form(code: str) -> dict:
    data = {
        "code": code,
        "name_en": "New Plant",
        "name_zh": "新工厂",
        "timezone": "Asia/Shanghai",
        "recurrence_window_days": 30,
        "special_team_occurrences": 3,
        "special_team_window_days": 90,
        "language": "zh-hans",
    }
    for inline in ("workshops", "shifts"):
        data |= {f"{inline}-TOTAL_FORMS": 0, f"{inline}-INITIAL_FORMS": 0}
    return data


def set_up(plant: Plant) -> dict:
    return {
        "threshold table": current_table(plant).version,
        "escalation policies": EscalationPolicy.objects.filter(plant=plant).count(),
        "alarms": AlarmRule.objects.filter(plant=plant).exists(),
        "8D deadlines": SolvingPolicy.objects.get(plant=plant).deadlines.count(),
    }


def test_a_plant_added_in_the_admin_is_set_up(admin_client):
    response = admin_client.post(reverse("admin:issues_plant_add"), plant_form("np1"))

    assert response.status_code == 302, response.content.decode()[:2000]
    plant = Plant.objects.get(code="np1")
    assert set_up(plant) == {"threshold table": 1, "escalation policies": 6, "alarms": True, "8D deadlines": 9}


def test_setting_up_a_plant_twice_adds_nothing(db):
    plant = Plant.objects.create(code="np2", name_en="New Plant")
    set_up_plant(plant)
    first = set_up(plant)

    set_up_plant(plant)

    assert set_up(plant) == first
