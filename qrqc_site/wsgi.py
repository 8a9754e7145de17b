"""The WSGI application, for gunicorn (`make production`) and runserver."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")

application = get_wsgi_application()


def refuse_uncollected_static_files() -> None:
    """Production names every static file by its hashed name, read from the manifest that
    `collectstatic` writes: without it every page would be a 500. Refuse to start instead."""
    # Imported once get_wsgi_application() has set Django up: the storage reads the settings.
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
    from django.core.exceptions import ImproperlyConfigured

    if isinstance(staticfiles_storage, ManifestFilesMixin) and not staticfiles_storage.exists(
        staticfiles_storage.manifest_name
    ):
        raise ImproperlyConfigured(
            f"the static files were not collected into {settings.STATIC_ROOT}: run "
            "`manage.py collectstatic --noinput` before starting the site (`make production` does)"
        )


refuse_uncollected_static_files()
