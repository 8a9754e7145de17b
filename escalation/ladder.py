"""The escalation ladder (docs/escalation.md §The rules) as pure functions: no ORM, no clock; `now` is passed in.

A plan is the policy copied onto a problem when it was graded:
    {"category": "quality", "ceilings": {"A": 1, "B": 3, "C": 4},
     "tiers": [{"level": 4, "after_minutes": 5, "roles": [...], "channels": [...]}, ...],
     "alarms": [{"kind": "no_owner", "after_minutes": 2880, "roles": [...], "channels": [...]}, ...]}
Levels count down: 5 means only the initiator knows, 4 is the line, 1 the general manager.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

INITIATOR_LEVEL = 5


@dataclass(frozen=True)
class Step:
    """A tier (level 4..1) or a timed alarm (kind, level 0) of a plan."""

    after_minutes: int
    roles: tuple[str, ...]
    channels: tuple[str, ...]
    level: int = 0
    kind: str = "tier"

    def due_at(self, occurred_at: dt.datetime) -> dt.datetime:
        return occurred_at + dt.timedelta(minutes=self.after_minutes)


def _step(data: dict, kind: str = "tier") -> Step:
    return Step(
        after_minutes=int(data.get("after_minutes") or 0),
        roles=tuple(data.get("roles", ())),
        channels=tuple(data.get("channels", ())),
        level=int(data.get("level", 0)),
        kind=data.get("kind", kind),
    )


def ceiling(plan: dict, grade: str) -> int:
    """The highest level (smallest number) a problem of this grade may reach."""
    return int(plan.get("ceilings", {}).get(grade, INITIATOR_LEVEL))


def tiers(plan: dict, grade: str) -> list[Step]:
    """The tiers a problem of `grade` climbs, line first."""
    top = ceiling(plan, grade)
    steps = [_step(tier) for tier in plan.get("tiers", ())]
    return sorted((step for step in steps if step.level >= top), key=lambda step: -step.level)


def due_tiers(plan: dict, grade: str, occurred_at: dt.datetime, reached: int, now: dt.datetime) -> list[Step]:
    """Tiers above the level reached whose time has come, in climbing order. A tier is never
    skipped: if a policy edited out of order makes a higher tier due first, the lower ones
    still pending go with it, before it."""
    pending = [step for step in tiers(plan, grade) if step.level < reached]
    due = [index for index, step in enumerate(pending) if step.due_at(occurred_at) <= now]
    return pending[: due[-1] + 1] if due else []


def next_escalation_at(plan: dict, grade: str, occurred_at: dt.datetime, reached: int) -> dt.datetime | None:
    pending = [step.due_at(occurred_at) for step in tiers(plan, grade) if step.level < reached]
    return min(pending, default=None)


def tier(plan: dict, level: int) -> Step | None:
    return next((_step(data) for data in plan.get("tiers", ()) if int(data["level"]) == level), None)


def timed_alarms(plan: dict) -> list[Step]:
    return sorted(
        (_step(alarm, alarm["kind"]) for alarm in plan.get("alarms", ()) if alarm.get("after_minutes") is not None),
        key=lambda step: step.after_minutes,
    )


def alarm(plan: dict, kind: str) -> Step | None:
    return next((_step(data, kind) for data in plan.get("alarms", ()) if data["kind"] == kind), None)


def due_alarms(plan: dict, occurred_at: dt.datetime, done: list[str], now: dt.datetime) -> list[Step]:
    return [step for step in timed_alarms(plan) if step.kind not in done and step.due_at(occurred_at) <= now]


def next_alarm_at(plan: dict, occurred_at: dt.datetime, done: list[str]) -> dt.datetime | None:
    return min((step.due_at(occurred_at) for step in timed_alarms(plan) if step.kind not in done), default=None)


def minutes_open(occurred_at: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - occurred_at).total_seconds() // 60))
