"""What django-simple-history reads from an instance being saved, declared for the type checker."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class HistoryNotes:
    """Mixin of the models with HistoricalRecords whose verbs say who made a change and why: set
    on the instance before `save()`, django-simple-history writes them on the history row. Only
    annotations: nothing changes at run time."""

    _history_user: User | None
    _change_reason: str
