"""The admin under the role-and-scope rule (issues.common.scope): a staff member reads, changes, adds
and deletes a row only where they hold, over the row's place, a role whose group carries the
permission. Rows, list filter choices and the choices of every place-bound foreign key are
narrowed the same way, so another plant's names never show and a row cannot be moved to a
place the user holds no right over."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from issues.common.scope import scope_of
from issues.models.place import place_path_of

if TYPE_CHECKING:
    from django import forms
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models.options import Options
    from django.forms.models import BaseInlineFormSet


def permission(opts: Options[Any], action: str) -> str:
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def narrow_choices(
    fields: dict[str, forms.Field], user: User | AnonymousUser, perm: str, obj: Model | None = None
) -> None:
    """Keep, in each choice of a row that has a place (a plant, a line, a failure mode), the rows
    the user holds `perm` over, and the object's current value (keeping it is not a move)."""
    scope = scope_of(user, perm)
    if scope.everything:
        return
    for name, field in list(fields.items()):
        queryset = getattr(field, "queryset", None)
        path = place_path_of(queryset.model) if queryset is not None else None
        if queryset is None or path is None:
            continue
        allowed = scope.q(path)
        current = _current_id(obj, name)
        if current is not None:
            allowed |= Q(pk=current)
        # Declared fields are shared by every form of the class. One with a queryset chooses rows.
        narrowed = cast("forms.ModelChoiceField[Any]", copy.deepcopy(field))
        narrowed.queryset = queryset.filter(allowed)
        fields[name] = narrowed


def _current_id(obj, name: str):
    if obj is None or obj.pk is None:
        return None
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return getattr(obj, field.attname, None) if field.many_to_one or field.one_to_one else None


class ScopedPermissions:
    """has_*_permission asked about the object (Django's defaults ignore it). In an inline the
    object is the parent row, whose place its rows share."""

    opts: Options[Any]  # the admin's it is mixed into

    def _holds(self, request: HttpRequest, action: str, obj: Model | None = None) -> bool:
        return request.user.has_perm(permission(self.opts, action), obj)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._holds(request, "view", obj) or self._holds(request, "change", obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._holds(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._holds(request, "delete", obj)


class ScopedModelAdmin(ScopedPermissions, admin.ModelAdmin):
    """Rows where the user holds the view (or change) permission; forms, filters and saves
    checked against the row's place."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._holds(request, "add")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = request.user
        view, change = scope_of(user, permission(self.opts, "view")), scope_of(user, permission(self.opts, "change"))
        if view.everything or change.everything:
            return queryset
        path = place_path_of(self.model)
        assert path is not None, f"{self.model.__name__} has no place_path: it cannot have a scoped admin"
        return queryset.filter(view.q(path) | change.q(path))

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        narrow_choices(form.base_fields, request.user, permission(self.opts, "change" if obj else "add"), obj)
        return form

    def save_form(self, request: HttpRequest, form: forms.ModelForm[Any], change: bool) -> Model:
        """The row as it will be stored must lie where the user holds the right (a form that
        offered only held places already ensures it; a revert from history might not)."""
        obj = super().save_form(request, form, change)
        if not self._holds(request, "change" if change else "add", obj):
            raise PermissionDenied
        return obj

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """A foreign-key filter offers only the values of rows the user may see (the default
        lists every plant's names)."""
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry):
        if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
            return (entry, admin.RelatedOnlyFieldListFilter)
        if isinstance(entry, tuple) and entry[1] is admin.RelatedFieldListFilter:
            return (entry[0], admin.RelatedOnlyFieldListFilter)
        return entry


class ScopedInline(ScopedPermissions, InlineModelAdmin):
    """An inline's rights over its parent row's place; its foreign-key choices narrowed too."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._holds(request, "add", obj)

    def get_formset(
        self, request: HttpRequest, obj: Model | None = None, **kwargs: Any
    ) -> type[BaseInlineFormSet[Any, Any, Any]]:
        formset = super().get_formset(request, obj, **kwargs)
        narrow_choices(formset.form.base_fields, request.user, permission(self.opts, "change" if obj else "add"))
        return formset


class PlantScopedAdmin(ScopedModelAdmin, SimpleHistoryAdmin):
    """A scoped admin with history. simple_history's history pages look the row up unscoped
    (and the version page can revert it): another place's row is a 404 there too, and a revert
    needs the change permission over the row."""

    def _in_scope(self, request, object_id):
        """The row, if the user may see it (404 otherwise); None for a superuser, who also
        reads the history of a deleted row."""
        if request.user.is_superuser:
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        return obj

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self._in_scope(request, object_id)
        if request.method == "POST" and obj is not None and not self.has_change_permission(request, obj):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
