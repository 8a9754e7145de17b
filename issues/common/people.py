"""The plant's people: who may be named as an owner, a team member or a signatory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from issues.models import RoleAssignment
from issues.models.plant import shown_name

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


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

    def label_from_instance(self, user: User) -> str:
        return person_name(user)


def person_name(user: User | AnonymousUser | None) -> str:
    """The person's shown name (issues.models.plant.shown_name); "" for nobody."""
    if user is None:
        return ""
    profile = getattr(user, "profile", None)  # a user without a profile is named by the login
    return shown_name(profile.display_name if profile else "", user.get_username())


def person_label(user: User | None) -> str:
    """How a person is offered and typed: "Wang Wei (wangw)", unique even when names repeat."""
    if user is None:
        return ""
    name, username = person_name(user), user.get_username()
    return f"{name} ({username})" if name != username else username


def find_person(plant_id: int, raw: object) -> User | None:
    """One of the plant's people from what a form sent: a label as person_label gives it, a
    username, or a display name that only one person has. None when nobody matches."""
    raw = str(raw or "").strip()[:150]
    if not raw:
        return None
    people = people_of(plant_id)
    if raw.endswith(")") and "(" in raw:
        found = people.filter(username=raw[raw.rindex("(") + 1 : -1].strip()).first()
        if found:
            return found
    matches = list(people.filter(Q(username__iexact=raw) | Q(profile__display_name__iexact=raw))[:2])
    return matches[0] if len(matches) == 1 else None
