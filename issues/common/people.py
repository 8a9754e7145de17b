"""The plant's people: who may be named as an owner, a team member or a signatory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from issues.models import RoleAssignment

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def people_of(plant_id: int) -> QuerySet[User]:
    """The plant's people (anyone holding a role there): the choices for teams and owners."""
    holders = RoleAssignment.objects.filter(plant_id=plant_id).values("user_id")
    return (
        get_user_model()
        .objects.filter(pk__in=holders, is_active=True)
        .select_related("profile")
        .order_by("profile__display_name", "username")
    )


class PersonField(forms.ModelChoiceField):
    """One of the plant's people; stored as the user's id."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", None)
        super().__init__(**kwargs)

    def label_from_instance(self, user) -> str:
        profile = getattr(user, "profile", None)
        return (profile.display_name if profile else "") or user.get_username()
