"""The admin under the role-and-scope rule (issues.common.scope): a staff member reads, changes, adds
and deletes a row only where they hold, over the row's place, a role whose group carries the
permission. Rows, list filter choices and the choices of every place-bound foreign key are
narrowed the same way, so another plant's names never show and a row cannot be moved to a
place the user holds no right over."""

from __future__ import annotations

import copy

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Q
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from issues.common.scope import scope_of
from issues.models.place import place_path_of


def permission(opts, action: str) -> str:
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def narrow_choices(fields: dict, user, perm: str, obj=None) -> None:
    """Keep, in each choice of a row that has a place (a plant, a line, a failure mode), the rows
    the user holds `perm` over, and the object's current value (keeping it is not a move)."""
    scope = scope_of(user, perm)
    if scope.everything:
        return
    for name, field in list(fields.items()):
        queryset = getattr(field, "queryset", None)
        path = place_path_of(queryset.model) if queryset is not None else None
        if path is None:
            continue
        allowed = scope.q(path)
        current = _current_id(obj, name)
        if current is not None:
            allowed |= Q(pk=current)
        narrowed = copy.deepcopy(field)  # declared fields are shared by every form of the class
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

    def _holds(self, request, action: str, obj=None) -> bool:
        return request.user.has_perm(permission(self.opts, action), obj)

    def has_view_permission(self, request, obj=None):
        return self._holds(request, "view", obj) or self._holds(request, "change", obj)

    def has_change_permission(self, request, obj=None):
        return self._holds(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._holds(request, "delete", obj)


class ScopedModelAdmin(ScopedPermissions, admin.ModelAdmin):
    """Rows where the user holds the view (or change) permission; forms, filters and saves
    checked against the row's place."""

    def has_add_permission(self, request):
        return self._holds(request, "add")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        view, change = scope_of(user, permission(self.opts, "view")), scope_of(user, permission(self.opts, "change"))
        if view.everything or change.everything:
            return queryset
        path = place_path_of(self.model)
        return queryset.filter(view.q(path) | change.q(path))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        narrow_choices(form.base_fields, request.user, permission(self.opts, "change" if obj else "add"), obj)
        return form

    def save_form(self, request, form, change):
        """The row as it will be stored must lie where the user holds the right (a form that
        offered only held places already ensures it; a revert from history might not)."""
        obj = super().save_form(request, form, change)
        if not self._holds(request, "change" if change else "add", obj):
            raise PermissionDenied
        return obj

    def get_list_filter(self, request):
        """A foreign-key filter offers only the values of rows the user may see (the default
        lists every plant's names)."""
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry):
        if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
            return (entry, admin.RelatedOnlyFieldListFilter)
        if isinstance(entry, tuple) and entry[1] is admin.RelatedFieldListFilter:
            return (entry[0], admin.RelatedOnlyFieldListFilter)
        return entry


class ScopedInline(ScopedPermissions):
    """An inline's rights over its parent row's place; its foreign-key choices narrowed too."""

    def has_add_permission(self, request, obj=None):
        return self._holds(request, "add", obj)

    def get_formset(self, request, obj=None, **kwargs):
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

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        obj = self._in_scope(request, object_id)
        if request.method == "POST" and obj is not None and not self.has_change_permission(request, obj):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
