"""django-axes under a name the admin can show in both languages (axes calls itself "Axes")."""

from axes.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoginLockoutConfig(AppConfig):
    verbose_name = _("Login lockout")
