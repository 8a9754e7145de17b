"""Header state on every page: the stalled-escalation banner and the bell's unread count.

Both are lazy: a page that does not show them (a fragment, an anonymous page) costs no query;
each costs one small query when the template uses it."""

from __future__ import annotations

from functools import cached_property

from django.utils.functional import SimpleLazyObject

from escalation.health import sweep_health
from escalation.inbox.queries import unread_count


class SweepHealth:
    @cached_property
    def state(self) -> dict:
        return sweep_health()

    @property
    def stalled(self) -> bool:
        return not self.state["ok"]

    @property
    def never_ran(self) -> bool:
        return self.state["sweep_last_run"] is None

    @property
    def minutes_ago(self) -> int:
        return int((self.state["sweep_age_seconds"] or 0) // 60)


def escalation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"escalation_stalled": False, "notifications_unread": 0}
    health = SweepHealth()
    return {
        "escalation_health": health,
        "escalation_stalled": SimpleLazyObject(lambda: health.stalled),
        "notifications_unread": SimpleLazyObject(lambda: unread_count(user)),
    }
