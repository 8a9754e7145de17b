"""Policies as rows, and the snapshot copied onto a problem when it is graded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalation.models import AlarmRule, EscalationPolicy, EscalationTier
from escalation.policy_defaults import seed_policies

if TYPE_CHECKING:
    from issues.models import Plant


def seed_plant_policies(plant: Plant) -> None:
    seed_policies(plant, EscalationPolicy, EscalationTier, AlarmRule)


def plan_for(plant: Plant, category: str) -> dict:
    """The plant's policy for the category, as plain data to store on the problem."""
    policy = EscalationPolicy.objects.filter(plant=plant, category=category).prefetch_related("tiers").first()
    if policy is None:
        seed_plant_policies(plant)
        policy = EscalationPolicy.objects.prefetch_related("tiers").get(plant=plant, category=category)
    return {
        "policy": policy.pk,
        "category": category,
        "ceilings": {"A": policy.ceiling_a, "B": policy.ceiling_b, "C": policy.ceiling_c},
        "tiers": [
            {"level": tier.level, "after_minutes": tier.after_minutes, "roles": tier.roles, "channels": tier.channels}
            for tier in policy.tiers.all()
        ],
        "alarms": [
            {"kind": rule.kind, "after_minutes": rule.after_minutes, "roles": rule.roles, "channels": rule.channels}
            for rule in AlarmRule.objects.filter(plant=plant)
        ],
    }
