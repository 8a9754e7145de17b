"""The problems' background work (Celery beat): photos of a form never sent again."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from issues.problems.photos import purge_staged_photos

STAGED_PHOTO_LIFETIME = dt.timedelta(days=1)


# Registered under the name beat and queued messages use.
@shared_task(name="issues.tasks.purge_abandoned_photos")
def purge_abandoned_photos() -> int:
    """Photos kept for a form that failed validation and was never sent again."""
    return purge_staged_photos(timezone.now() - STAGED_PHOTO_LIFETIME)
