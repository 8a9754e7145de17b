"""Whether the escalation sweep runs: its last run, and how old that is against the limit."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from escalation.models import SweepRun


def sweep_health(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    last = SweepRun.objects.filter(name="sweep").values_list("last_run_at", flat=True).first()
    stale_after = settings.QRQC_SWEEP_STALE_SECONDS
    age = max(0.0, (now - last).total_seconds()) if last else None
    return {
        "ok": age is not None and age <= stale_after,
        "sweep_last_run": last.isoformat() if last else None,
        "sweep_age_seconds": round(age, 1) if age is not None else None,
        "stale_after_seconds": stale_after,
    }
