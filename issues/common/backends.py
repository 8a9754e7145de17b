"""`user.has_perm(perm, obj)` answered by roles and their scopes (issues.common.scope.holds).

Django's ModelBackend grants a group's permissions everywhere; here a role's permissions hold
only over the places its assignment covers. With an object, the object's place decides. Without
one, the answer is whether the user holds the permission anywhere: enough for menus, the admin
index and a first gate on a view, never the last word on an object. Permissions given to a
person directly (user_permissions) grant nothing: a right comes from a role, within its scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from django.contrib.auth.backends import ModelBackend

from issues.common.scope import held_permissions, holds, scope_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, Permission, User
    from django.db.models import Model


class RoleScopeBackend(ModelBackend):
    """ModelBackend's log-in; its permission checks replaced by the role-and-scope rule."""

    def get_user_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        if obj is None:
            return held_permissions(user_obj)
        return {perm for perm in held_permissions(user_obj) if holds(user_obj, perm, obj)}

    def get_all_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return self.get_group_permissions(user_obj, obj)

    def has_perm(self, user_obj: User | AnonymousUser, perm: str, obj: Model | None = None) -> bool:
        if not (user_obj.is_active and user_obj.is_authenticated):
            return False
        if obj is None:
            return not scope_of(user_obj, perm).empty
        return holds(user_obj, perm, obj)

    def has_module_perms(self, user_obj: User | AnonymousUser, app_label: str) -> bool:
        return user_obj.is_active and any(perm.startswith(f"{app_label}.") for perm in held_permissions(user_obj))

    def with_perm(
        self,
        perm: str | Permission,
        is_active: bool = True,
        include_superusers: bool = True,
        obj: Model | None = None,
    ) -> NoReturn:
        raise NotImplementedError("rights are held per scope: ask issues.common.scope.holds about each person")
