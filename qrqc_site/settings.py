"""QRQC settings: one module, driven by environment variables.

Fail closed: unless DJANGO_ENV says "development" or "test", the site runs as production,
with DEBUG off and no default secret key. DATABASE_URL and REDIS_URL select real servers;
without them the site runs on SQLite and an embedded Celery broker (a SQLite file too).
"""

import datetime as dt
import os
import re
from importlib import resources
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def packaged_file(package: str, name: str) -> str:
    """The path of a data file an installed package ships; "" without the package, so that the
    feature needing it says so when used rather than the whole site failing to start."""
    try:
        return str(resources.files(package) / name)
    except ModuleNotFoundError:
        return ""


# Local state of a development run: SQLite file, uploads, embedded broker, beat schedule.
VAR_DIR = Path(os.environ.get("QRQC_VAR_DIR") or BASE_DIR / "var")

ENVIRONMENT = env_str("DJANGO_ENV", "production")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, got {ENVIRONMENT!r}")
IS_PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", ENVIRONMENT == "development")

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_ENV=production")
    SECRET_KEY = f"insecure-{ENVIRONMENT}-only-key-do-not-use-in-production-{'x' * 20}"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if IS_PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# The address in links sent out (notifications). In development it follows PORT, the port `make run`
# serves on: links pointed at :8000 while the site ran on :8101.
SITE_URL = env_str("QRQC_SITE_URL") or (
    f"http://127.0.0.1:{env_int('PORT', 8000)}" if ENVIRONMENT == "development" else "http://127.0.0.1:8000"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "issues.common.lockout_app.LoginLockoutConfig",  # django-axes
    "csp",
    "issues",
    "escalation",
    "customers",
    "assessment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "issues.common.request_size.RequestSizeMiddleware",  # before CsrfViewMiddleware, which reads the body
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "issues.common.middleware.PlantTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a refused login into the lockout page
]

ROOT_URLCONF = "qrqc_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "escalation.context_processors.escalation",
            ],
        },
    },
]

WSGI_APPLICATION = "qrqc_site.wsgi.application"

DATABASE_URL = env_str("DATABASE_URL")
# SQLite for several people at once (three simultaneous intake submissions failed with "database
# is locked"): WAL lets readers go on while one connection writes; IMMEDIATE takes the write lock
# when a transaction begins, so a writer waits its turn (up to `timeout` seconds) instead of
# failing at once when a read transaction tries to become a write one.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    if DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "qrqc.sqlite3", "OPTIONS": SQLITE_OPTIONS}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "problems:home"
LOGOUT_REDIRECT_URL = "login"

# Language: the user's switch (cookie, also stored on the profile), else the browser's.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # stored in UTC; shifts, days and months use each plant's own zone

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not IS_PRODUCTION  # serve straight from the source tree outside production
MEDIA_ROOT = Path(env_str("QRQC_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: photos go through a scope-checked view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Photos: resized on upload so a tablet's 12-megapixel shot does not fill the disk.
QRQC_PHOTO_MAX_BYTES = env_int("QRQC_PHOTO_MAX_BYTES", 15 * 1024 * 1024)
QRQC_PHOTO_MAX_COUNT = env_int("QRQC_PHOTO_MAX_COUNT", 8)
QRQC_PHOTO_MAX_EDGE = env_int("QRQC_PHOTO_MAX_EDGE", 1600)
# Read from the file's header before anything is decoded: a 50 MP phone photo (8160×6120) fits,
# a 97 KB PNG of 10000×10000 (300 MB once decoded) does not.
QRQC_PHOTO_MAX_PIXELS = env_int("QRQC_PHOTO_MAX_PIXELS", 50_000_000)

# Printouts (8D, minutes) and Q charts: a TrueType font with Chinese glyphs (of a .ttc collection,
# its first face), embedded in every PDF so Chinese renders on the customer's side too. By default
# WenQuanYi Micro Hei from the paperang-p2-fonts-cjk package (requirements.txt): pip brings it.
QRQC_PDF_FONT = env_str("QRQC_PDF_FONT") or packaged_file("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc")
# 8D attachments (issues/eightd/attachments.py): per file, and per section.
QRQC_ATTACHMENT_MAX_BYTES = env_int("QRQC_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
QRQC_ATTACHMENT_MAX_COUNT = env_int("QRQC_ATTACHMENT_MAX_COUNT", 20)
# Request bodies, refused with a 413 from their Content-Length before a byte is read
# (issues.common.request_size): the intake form carries its photos, an 8D upload one file, an API
# call a problem's JSON; any other request no more than Django keeps of a form in memory.
REQUEST_MARGIN_BYTES = 1024 * 1024  # the form's other fields and the multipart framing
QRQC_REQUEST_MAX_BYTES = env_int("QRQC_REQUEST_MAX_BYTES", DATA_UPLOAD_MAX_MEMORY_SIZE)
QRQC_INTAKE_MAX_REQUEST_BYTES = env_int(
    "QRQC_INTAKE_MAX_REQUEST_BYTES", QRQC_PHOTO_MAX_COUNT * QRQC_PHOTO_MAX_BYTES + REQUEST_MARGIN_BYTES
)
QRQC_ATTACHMENT_MAX_REQUEST_BYTES = env_int(
    "QRQC_ATTACHMENT_MAX_REQUEST_BYTES", QRQC_ATTACHMENT_MAX_BYTES + REQUEST_MARGIN_BYTES
)
QRQC_API_MAX_REQUEST_BYTES = env_int("QRQC_API_MAX_REQUEST_BYTES", 64 * 1024)
QRQC_API_MAX_PAGE_SIZE = env_int("QRQC_API_MAX_PAGE_SIZE", 200)  # ?limit= above it is cut to it
# The daily QRQC board (issue #5): open boards poll the server this often (a new or escalated
# problem must show within 10 s); a TV shows this many rows a page and turns the page this often.
QRQC_BOARD_REFRESH_SECONDS = env_int("QRQC_BOARD_REFRESH_SECONDS", 5)
QRQC_TV_ROWS_PER_PAGE = env_int("QRQC_TV_ROWS_PER_PAGE", 10)
QRQC_TV_PAGE_SECONDS = env_int("QRQC_TV_PAGE_SECONDS", 15)

# Celery: Redis when REDIS_URL is set, else an embedded broker with no server: kombu's SQLAlchemy
# transport on a SQLite file of its own (qrqc_site/broker.py; transactional, so the site, beat and
# the worker may all publish at once; kombu's filesystem transport let a reader see half a message).
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_FILE = VAR_DIR / "celery-broker.sqlite3"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    CELERY_BROKER_URL = f"sqlite:///{CELERY_BROKER_FILE}"
    CELERY_BROKER_TRANSPORT = "qrqc_site.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "polling_interval": 0.5,  # an idle worker looks for work twice a second (a read, no lock)
        "busy_timeout": 30,  # seconds a publisher or the worker waits for the file's write lock
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
QRQC_SWEEP_SECONDS = env_int("QRQC_SWEEP_SECONDS", 2)
QRQC_SWEEP_STALE_SECONDS = env_int("QRQC_SWEEP_STALE_SECONDS", 60)
QRQC_KICK_SWEEP = env_bool("QRQC_KICK_SWEEP", True)  # sweep right after intake instead of at the next beat
# After intake a worker draws the Q charts the new problem changed (issues.qchart.tasks.schedule_qcharts).
# Only with a cache the worker shares with the site (Redis): a local-memory cache is per process.
QRQC_DRAW_QCHARTS_AHEAD = env_bool("QRQC_DRAW_QCHARTS_AHEAD", bool(REDIS_URL))
QRQC_QCHART_DELAY_SECONDS = env_int("QRQC_QCHART_DELAY_SECONDS", 5)  # problems logged meanwhile: one drawing
QRQC_QCHART_QUEUE = env_str("QRQC_QCHART_QUEUE", "celery")  # Celery's default queue, the one `make run` serves
CELERY_BEAT_SCHEDULE = {
    # Level-triggered: a missed run is caught up by the next one, so no ETA messages are used.
    "escalation-sweep": {
        "task": "escalation.tasks.sweep_now",
        "schedule": float(QRQC_SWEEP_SECONDS),
        "options": {"expires": QRQC_SWEEP_SECONDS * 2},
    },
    "escalation-dispatch": {
        "task": "escalation.tasks.dispatch_now",
        "schedule": float(QRQC_SWEEP_SECONDS),
        "options": {"expires": QRQC_SWEEP_SECONDS * 2},
    },
    "purge-abandoned-photos": {"task": "issues.tasks.purge_abandoned_photos", "schedule": 3600.0},
}

# Notification channels, pluggable like e-mail backends.
QRQC_CHANNEL_BACKENDS = {
    "inapp": "escalation.channels.InApp",
    "email": "escalation.channels.Email",
    "sms": "escalation.channels.GatewaySMS",
    "phone": "escalation.channels.GatewayCall",
    "webhook": "escalation.channels.GroupWebhook",
}
# The plant's phone/SMS gateway (its carrier or PBX): POST JSON with a bearer token.
QRQC_GATEWAY = {"URL": env_str("QRQC_GATEWAY_URL"), "TOKEN": env_str("QRQC_GATEWAY_TOKEN")}
QRQC_HTTP_TIMEOUT = env_int("QRQC_HTTP_TIMEOUT", 5)
# A notification claimed by a worker that died is sent again after this lease runs out.
QRQC_DISPATCH_LEASE_SECONDS = env_int("QRQC_DISPATCH_LEASE_SECONDS", 60)
QRQC_SMS_MAX_CHARS = env_int("QRQC_SMS_MAX_CHARS", 70)  # one segment when the text has Chinese
QRQC_PHONE_REPEATS = env_int("QRQC_PHONE_REPEATS", 2)
QRQC_PHONE_REPEAT_MINUTES = env_int("QRQC_PHONE_REPEAT_MINUTES", 5)

# Outside production mail goes to files in var/mail, not to the console, where it would mix
# into the JSON lines `manage.py escalation_sweep` prints.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "qrqc@localhost")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Tests run in parallel workers (pytest-xdist) on one Redis database, each with a test
        # database of its own, where the same ids mean other rows: each worker keeps its own keys
        # (API throttle counts, Q chart markers), and so do the processes its tests start.
        "KEY_PREFIX": env_str("PYTEST_XDIST_WORKER") if ENVIRONMENT == "test" else "",
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}


# --- API throttling and login lockout (issue #11) -------------------------------------------
def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as "120/minute": checked here, since DRF would only fail on the
    first request."""
    rate = env_str(name, default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", rate):
        raise ImproperlyConfigured(f"{name} must be a rate such as 120/minute, got {rate!r}")
    return rate


QRQC_TRUSTED_PROXIES = env_int("QRQC_TRUSTED_PROXIES", 0)
if QRQC_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("QRQC_TRUSTED_PROXIES must be 0 or more")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "issues.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "issues.api.views.exception_handler",
    # Throttles, counted in the cache: a runaway script or a leaked token cannot take the two
    # cores from the shop floor; the answer is 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("QRQC_API_RATE_ANON", "30/minute"),
        "user": env_rate("QRQC_API_RATE_USER", "120/minute"),
    },
    # Reverse proxies in front of the site that append to X-Forwarded-For; 0: the peer's
    # address is the client's (a client-sent X-Forwarded-For is then ignored, not trusted).
    "NUM_PROXIES": QRQC_TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QRQC API",
    "DESCRIPTION": "Problem intake and A/B/C grading for line systems and MES.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"GradeEnum": "issues.models.thresholds.Grade"},
    # The schema and its docs list every endpoint and field: in production only for people
    # signed in (session or token); a development or test server keeps them open.
    "SERVE_PERMISSIONS": ["issues.api.schema.SignedInInProduction"],
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},  # no call to a public validator
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "issues.api.schema.document_throttling",
    ],
}

# Production hardening (`manage.py check --deploy` clean with DJANGO_ENV=production).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", IS_PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # monitors probe over plain HTTP inside the plant network
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Login lockout (django-axes): failed passwords are counted per user name *and* device address,
# so on a shared shop-floor tablet one person's typos lock only that person there, and the
# others on the tablet still log in. 5 tries then 15 minutes: room for a few typos on a touch
# keyboard, while a guesser gets 20 tries an hour per name and device; a further try while
# locked starts the 15 minutes again. A quality manager unlocks the people of their plant in
# the admin (Locked log-ins), an administrator anyone (also `manage.py axes_reset_username`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked name before any password check
    # ModelBackend's password check; permissions held per role and scope (issues.common.backends).
    "issues.common.backends.RoleScopeBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # rows in the site's database, any engine
AXES_FAILURE_LIMIT = env_int("QRQC_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("QRQC_LOGIN_LOCKOUT_MINUTES", 15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= dt.timedelta(0):
    raise ImproperlyConfigured("QRQC_LOGIN_FAILURE_LIMIT and QRQC_LOGIN_LOCKOUT_MINUTES must be positive")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # typos spread over weeks never add up to a lockout
AXES_LOCKOUT_CALLABLE = "issues.common.login_lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "issues.common.login_lockout.client_address"
AXES_VERBOSE = False  # no start-up line on every manage.py command; failures are still logged
AXES_SENSITIVE_PARAMETERS: list[str] = []  # logs name the user and address (passwords stay masked)
# No table of every successful login (address, browser) kept without end: only the failures
# that count towards a lock are stored, and they go with the unlock or the cool-off.
AXES_DISABLE_ACCESS_LOG = True

# Content-Security-Policy (django-csp): scripts and styles only from this site's static files,
# no inline script, style or eval (htmx runs with allowEval off, see base.html); the Q chart's
# inline SVG uses presentation attributes, not style attributes. The API docs page adds what
# Swagger UI needs (issues.api.docs).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # One style attribute is allowed by its exact text: django-simple-history's history
        # page writes style="border-top: 0" on its pager (not worth a copy of its template).
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Permissions-Policy: the camera stays for this site (the intake form takes photos on the
# tablet), full screen for the board's TV mode; every other powerful feature is off.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "fullscreen": ["self"],
    **{
        feature: []
        for feature in (
            "accelerometer",
            "bluetooth",
            "browsing-topics",
            "display-capture",
            "geolocation",
            "gyroscope",
            "hid",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "serial",
            "usb",
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}
