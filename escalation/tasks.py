"""Celery entry points: short, id-free, enqueued by beat or after a commit. The sweep itself
is level-triggered, so a lost or late message costs at most one sweep period."""

import contextvars
import logging
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings

from escalation.dispatch import dispatch
from escalation.sweep import sweep
from qrqc_site.celery import send_now

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sweep_now() -> int:
    """Beat's sweep. Dispatch runs as its own beat task, so a slow provider never delays the
    next sweep; new events get a dispatch at once rather than at its next tick."""
    fired = sweep()
    if fired:
        dispatch_now.apply_async(expires=60)
    return len(fired)


@shared_task(ignore_result=True)
def dispatch_now() -> int:
    return dispatch()


@shared_task(ignore_result=True)
def sweep_and_dispatch() -> int:
    """After intake: the problem's overdue tiers go out in the same task."""
    fired = sweep()
    dispatch()
    return len(fired)


_kicks_paused = contextvars.ContextVar("escalation_kicks_paused", default=False)


@contextmanager
def kicks_paused():
    """For bulk writes (the demo seed): one sweep afterwards instead of one per problem."""
    token = _kicks_paused.set(True)
    try:
        yield
    finally:
        _kicks_paused.reset(token)


def kick() -> None:
    """After a problem is logged or regraded: sweep at once instead of waiting for beat. With
    the broker down (Redis stopped) intake must still succeed; beat catches up later."""
    if not settings.QRQC_KICK_SWEEP or _kicks_paused.get():
        return
    if not send_now(sweep_and_dispatch, expires=60):
        logger.warning("could not enqueue an escalation sweep; beat will catch up")
