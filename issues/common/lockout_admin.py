"""Locked log-ins in the admin (django-axes' access attempts): a plant's quality manager unlocks
the people of their plant, an administrator anyone. Unlocking deletes the attempt rows, which is
how axes forgets the failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import axes.admin  # registers axes' own pages first; the attempts page is replaced below
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from issues.models import Role, RoleAssignment

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import AnonymousUser, User
    from django_stubs_ext import StrOrPromise


def managed_plant_ids(user: User) -> set[int]:
    """The plants whose people `user` may unlock: those where they are the quality manager of the
    whole plant (a role held over one workshop or line does not reach the plant's people)."""
    return set(
        RoleAssignment.objects.filter(
            user=user, role=Role.QUALITY_MANAGER, workshop__isnull=True, line__isnull=True
        ).values_list("plant_id", flat=True)
    )


def unlockable_attempts(user: User | AnonymousUser, attempts: QuerySet[AccessAttempt]) -> QuerySet[AccessAttempt]:
    """Attempts on the names of people who hold a role in one of the plants `user` manages;
    every attempt for an administrator (names that belong to nobody included)."""
    if user.is_superuser:
        return attempts
    plants = managed_plant_ids(user) if user.is_authenticated else set()
    if not plants:
        return attempts.none()
    people = get_user_model().objects.filter(role_assignments__plant_id__in=plants)
    return attempts.filter(username__in=people.values("username"))


# Successful logins and single failures are not stored (AXES_DISABLE_ACCESS_LOG, axes' default
# without a failure log): their pages would stay empty.
admin.site.unregister([AccessAttempt, AccessLog, AccessFailureLog])


@admin.register(AccessAttempt)
class LockedLoginAdmin(axes.admin.AccessAttemptAdmin):
    actions = ["unlock"]

    def _may_unlock(self, request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (user.is_superuser or bool(managed_plant_ids(user)))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_unlock(request)

    def has_view_permission(self, request: HttpRequest, obj: AccessAttempt | None = None) -> bool:
        return self._may_unlock(request)

    def has_delete_permission(self, request: HttpRequest, obj: AccessAttempt | None = None) -> bool:
        return self._may_unlock(request)

    def has_change_permission(self, request: HttpRequest, obj: AccessAttempt | None = None) -> bool:
        return False

    @admin.display(description=_("Expires"))
    def expiration(self, obj: AccessAttempt) -> dt.datetime | StrOrPromise:
        return super().expiration(obj)

    @admin.display(description=_("Status"))
    def status(self, obj: AccessAttempt) -> StrOrPromise:
        return super().status(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessAttempt]:
        return unlockable_attempts(request.user, super().get_queryset(request))

    @admin.action(description=_("Unlock the selected log-ins"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count = queryset.count()
        queryset.delete()
        message = ngettext("%(count)d log-in unlocked.", "%(count)d log-ins unlocked.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)
