"""The default escalation matrix and the 8D notice rules, copied into every new plant as editable
rows (docs/escalation.md §Policies, tiers and ceilings).

Material, safety/5S and people problems are not in the source matrix; read as routed like
quality problems (team leader, then workshop director, ...). Level 4 and 3 are phoned, levels
2 and 1 phoned and texted; every tier also lands in the app and in the plant's group chats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalation.models import AlarmRule, EscalationPolicy, EscalationTier
    from issues.models import Plant

T, QE, EE, UE = "team_leader", "quality_engineer", "equipment_engineer", "utilities_engineer"
WD, ISC, MSC = "workshop_director", "inspection_section_chief", "maintenance_section_chief"
PM, QM, EM, GM, DGM = (
    "production_manager",
    "quality_manager",
    "engineering_manager",
    "general_manager",
    "deputy_general_manager",
)

LOWER = ["phone", "inapp", "webhook"]
UPPER = ["phone", "sms", "inapp", "webhook"]


def ladder(level4: list[str], level3: list[str], level2: list[str]) -> list[dict[str, Any]]:
    return [
        {"level": 4, "after_minutes": 5, "roles": level4, "channels": LOWER},
        {"level": 3, "after_minutes": 30, "roles": level3, "channels": LOWER},
        {"level": 2, "after_minutes": 60, "roles": level2, "channels": UPPER},
        {"level": 1, "after_minutes": 120, "roles": [GM], "channels": UPPER},
    ]


QUALITY_LADDER = ladder([T, QE], [WD, ISC], [PM, QM])
DEFAULT_TIERS = {
    "quality": QUALITY_LADDER,
    "equipment": ladder([T, EE], [WD, MSC], [PM, EM]),
    "utilities": ladder([T, UE], [WD, MSC], [PM, EM]),
    "material": QUALITY_LADDER,
    "safety": QUALITY_LADDER,
    "people": QUALITY_LADDER,
}
DEFAULT_CEILINGS = {"ceiling_a": 1, "ceiling_b": 3, "ceiling_c": 4}

# No owner after 2 days → the quality section chief; also when the lists flag "no owner" in a plan
# that has no such alarm (issues.problems.flags).
NO_OWNER_AFTER_MINUTES = 2 * 24 * 60

DEFAULT_ALARMS: list[dict[str, Any]] = [
    {"kind": "no_owner", "after_minutes": NO_OWNER_AFTER_MINUTES, "roles": [ISC], "channels": ["inapp", "sms"]},
    # unresolved after a week → the section chief reports upward (production manager told too)
    {"kind": "unresolved_week", "after_minutes": 7 * 24 * 60, "roles": [ISC, PM], "channels": ["inapp", "sms"]},
    # a problem report rejected twice → the deputy general manager (raised by the review, not by time)
    {"kind": "rejected_twice", "after_minutes": None, "roles": [DGM], "channels": ["inapp", "sms"]},
    # 8D deadline notices (issues.eightd.rules.next_notice) always reach the owner and the 8D team;
    # the roles are who is told besides them: nobody before the deadline, the section chief after.
    {"kind": "section_due_soon", "after_minutes": None, "roles": [], "channels": ["inapp", "email"]},
    {"kind": "section_overdue", "after_minutes": None, "roles": [ISC], "channels": ["inapp", "email"]},
]


def seed_policies(
    plant: Plant,
    policy_model: type[EscalationPolicy],
    tier_model: type[EscalationTier],
    alarm_model: type[AlarmRule],
) -> None:
    """Write the defaults for one plant; models may be historical ones (migrations)."""
    for category, tiers in DEFAULT_TIERS.items():
        policy, created = policy_model.objects.get_or_create(plant=plant, category=category, defaults=DEFAULT_CEILINGS)
        if created:
            tier_model.objects.bulk_create(tier_model(policy=policy, **tier) for tier in tiers)
    for alarm in DEFAULT_ALARMS:
        alarm_model.objects.get_or_create(plant=plant, kind=alarm["kind"], defaults=alarm)
