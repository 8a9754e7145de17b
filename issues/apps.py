from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class IssuesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "issues"
    verbose_name = _("Problems")

    def ready(self) -> None:
        from issues.common.scope import sync_role_groups
        from issues.problems.photos import limit_decoding

        limit_decoding()
        post_migrate.connect(sync_role_groups, sender=self)
