"""The Q charts a new problem changed, drawn ahead by a worker for the next reader."""

import datetime as dt
import functools
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from issues.models import Plant, Problem
from issues.problems.signals import problem_logged
from issues.qchart.drawing import draw_ahead
from qrqc_site.celery import send_now

logger = logging.getLogger(__name__)


# Registered under the name queued messages use.
@shared_task(ignore_result=True, name="issues.tasks.draw_qcharts")
def draw_qcharts(plant_id: int, months: list[list[int]]) -> int:
    """The Q charts a new problem changed, drawn ahead for the next reader (see schedule_qcharts)."""
    plant = Plant.objects.filter(pk=plant_id).first()
    return sum(draw_ahead(plant, year, month) for year, month in months) if plant else 0


def schedule_qcharts(plant: Plant, occurred_at: dt.datetime) -> None:
    """After a problem is logged: a worker draws the Q charts of this month (the page's default)
    and of the month it occurred in, QRQC_QCHART_DELAY_SECONDS later, so that a burst of problems
    is drawn once. Off without a cache the worker shares with the site (QRQC_DRAW_QCHARTS_AHEAD);
    a broker that is down costs only the next reader's drawing time."""
    if not settings.QRQC_DRAW_QCHARTS_AHEAD:
        return
    zone = plant.zone
    today, day = timezone.now().astimezone(zone).date(), occurred_at.astimezone(zone).date()
    months = sorted({(today.year, today.month), (day.year, day.month)})
    delay = max(0, settings.QRQC_QCHART_DELAY_SECONDS)
    waiting = f"qchart-scheduled:{plant.pk}:" + ",".join(f"{year}-{month}" for year, month in months)
    try:
        if not cache.add(waiting, True, timeout=max(1, delay)):
            return  # a drawing already waits for these months and will count this problem too
    except Exception:  # Redis down: the problem is saved all the same, and the charts have no cache anyway
        logger.warning("Q chart: cache unavailable, no drawing ahead", exc_info=True)
        return
    send_now(draw_qcharts, plant.pk, months, countdown=delay, expires=3600, queue=settings.QRQC_QCHART_QUEUE)


@receiver(problem_logged)
def _draw_after_commit(sender, problem: Problem, **kwargs) -> None:
    transaction.on_commit(functools.partial(schedule_qcharts, problem.plant, problem.occurred_at))
