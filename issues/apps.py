from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class IssuesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "issues"
    verbose_name = _("Problems")

    def ready(self) -> None:
        # Imported once the app registry is ready (they use the models). The task modules register
        # the Celery tasks under their issues.tasks.* names and the Q chart's receiver of new problems.
        from issues.common.scope import sync_role_groups
        from issues.problems import tasks as _problem_tasks  # noqa: F401
        from issues.problems.photos import limit_decoding
        from issues.qchart import tasks as _qchart_tasks  # noqa: F401

        limit_decoding()
        post_migrate.connect(sync_role_groups, sender=self)
