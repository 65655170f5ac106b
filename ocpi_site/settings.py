"""Settings, all read from environment variables (documented in README "Settings").

Every variable has a safe default for a local demo, except SECRET_KEY, which is required
as soon as DEBUG is off.
"""

import importlib.metadata
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OCPI_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def read_env_file(path: Path) -> None:
    """Load KEY=VALUE lines from a local env file; real environment variables win.

    `make run` writes one (`.env`, git-ignored) with DEBUG on and a generated SECRET_KEY, so
    that `manage.py` commands work in a checkout without exporting anything.
    """
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


# OCPI_ENV_FILE names another file; empty reads none (the test settings set it empty, so
# that a developer's .env never changes a test run).
_env_file = os.environ.get("OCPI_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    read_env_file(Path(_env_file))
    # Read again: the file may name it (OCPI_VAR_DIR=/var/lib/ocpi in docs/deploy.md).
    VAR_DIR = Path(os.environ.get("OCPI_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally, no CDN
    "nested_admin",
    "django_jsonform",  # the sub-object editors of the admin (locations/editors.py)
    "versions",
    "partners",
    "locations",
    "pushers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "versions.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ocpi_site.urls"
WSGI_APPLICATION = "ocpi_site.wsgi.application"

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
            ],
        },
    },
]

# Database: an SQLite file by default (the embedded demo), PostgreSQL via DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write concurrently: WAL lets readers go on while one
    # writes, and IMMEDIATE transactions take the write lock up front instead of failing
    # with "database is locked" when a read transaction later tries to write.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve the admin's static files straight from the apps in development and tests, so
# that `make run` works without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# Security: production defaults whenever DEBUG is off, so `check --deploy` is clean.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["versions.envelope.OcpiJSONRenderer"],
    # DRF's JSONParser plus a 400 (not a 500) for absurdly nested JSON.
    "DEFAULT_PARSER_CLASSES": ["versions.parsers.OcpiJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["versions.auth.OcpiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["versions.auth.IsRegisteredPartner"],
    "EXCEPTION_HANDLER": "versions.errors.ocpi_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_METADATA_CLASS": "versions.envelope.OcpiMetadata",  # OPTIONS: an envelope too
}

# OpenAPI schema of the OCPI endpoints at /api/schema/, docs at /api/docs/ (docs/openapi.md).
# OCPI views return OcpiResponse: each app declares its operations and shapes next to its
# views (<app>/openapi.py, <app>/schemas.py); the hook adds the components (docs/openapi.md).
try:
    _PACKAGE_VERSION = importlib.metadata.version("ocpi-cpo")
except importlib.metadata.PackageNotFoundError:  # a checkout that was not pip-installed
    _PACKAGE_VERSION = "0.0.0+unknown"
SPECTACULAR_SETTINGS = {
    "TITLE": "OCPI 2.2.1 CPO server",
    "DESCRIPTION": "The OCPI endpoints of this CPO: versions, credentials, Locations Sender.",
    "VERSION": _PACKAGE_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["ocpi_site.openapi.add_ocpi_components"],
}

# --- OCPI identity -----------------------------------------------------------------------
# Public base URL under which this server is reachable; every URL we publish starts with it.
OCPI_BASE_URL = env_str("OCPI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
OCPI_COUNTRY_CODE = env_str("OCPI_COUNTRY_CODE", "NL").upper()
OCPI_PARTY_ID = env_str("OCPI_PARTY_ID", "EXA").upper()
OCPI_BUSINESS_NAME = env_str("OCPI_BUSINESS_NAME", "Example CPO")
OCPI_BUSINESS_WEBSITE = env_str("OCPI_BUSINESS_WEBSITE", "")
# The most objects one page of a paginated GET returns (announced in X-Limit).
OCPI_MAX_PAGE_SIZE = env_int("OCPI_MAX_PAGE_SIZE", 100)
# The admin's Import… page runs in the request: the largest file (bytes) and the most
# Locations it takes; larger imports use `manage.py ocpi_import` (docs/admin.md).
OCPI_ADMIN_IMPORT_MAX_BYTES = env_int("OCPI_ADMIN_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
OCPI_ADMIN_IMPORT_MAX_LOCATIONS = env_int("OCPI_ADMIN_IMPORT_MAX_LOCATIONS", 500)
# Sender GET list paging (locations/paging.py, docs/api.md "Cost"): the longest a cached
# X-Total-Count may be served (it is counted again at once after any write; this bounds
# the rare case the data version misses), and how long a page remembers where the next
# one starts (a crawl pausing longer than this pays one OFFSET walk on its next page).
OCPI_LIST_COUNT_MAX_AGE = env_int("OCPI_LIST_COUNT_MAX_AGE", 60)
OCPI_LIST_CRAWL_MAX_AGE = env_int("OCPI_LIST_CRAWL_MAX_AGE", 600)
# Connect and read timeouts (seconds) of every outbound OCPI call.
OCPI_HTTP_CONNECT_TIMEOUT = float(env_str("OCPI_HTTP_CONNECT_TIMEOUT", "5"))
OCPI_HTTP_READ_TIMEOUT = float(env_str("OCPI_HTTP_READ_TIMEOUT", "15"))
# Total seconds one outbound call may take (connect, TLS, sending and all reads together).
OCPI_HTTP_DEADLINE = float(env_str("OCPI_HTTP_DEADLINE", "20"))
# Largest answer (bytes) we read from a partner; a larger one fails the call.
OCPI_HTTP_MAX_RESPONSE_BYTES = env_int("OCPI_HTTP_MAX_RESPONSE_BYTES", 1024 * 1024)
# Partner URLs (versions/partner_urls.py): http:// (else https:// only), and hosts on
# loopback, private, link-local or reserved addresses; both only for development and tests.
OCPI_ALLOW_HTTP_PARTNER_URLS = env_bool("OCPI_ALLOW_HTTP_PARTNER_URLS", DEBUG)
OCPI_ALLOW_PRIVATE_PARTNER_URLS = env_bool("OCPI_ALLOW_PRIVATE_PARTNER_URLS", DEBUG)
# Total seconds of the calls of one credentials handshake, and how many handshakes one web
# process runs at once (more are refused at once with OCPI 3000; docs/partners.md).
OCPI_HANDSHAKE_DEADLINE = float(env_str("OCPI_HANDSHAKE_DEADLINE", "10"))
OCPI_HANDSHAKE_CONCURRENCY = env_int("OCPI_HANDSHAKE_CONCURRENCY", 2)

# --- Cache -------------------------------------------------------------------------------
# The Sender list's counts and page boundaries (locations/paging.py). Per process by default;
# with several web processes set CACHE_URL=redis://host:6379/N so that the page a worker
# serves can start where the page another worker served ended (without it such a page pays
# an OFFSET walk; the answers are the same either way). A cache that is down is skipped.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "ocpi",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport, which needs no server but still runs tasks
# in a separate worker process. Set CELERY_BROKER_URL=redis://... in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast/control messages (worker pings) also go to files, not to ./control.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Fail fast instead of blocking a web request when the broker is down: the outbox
    # sweeper re-queues anything whose message could not be sent.
    # Publishing reconnects once, at once, instead of kombu's default of retrying for
    # broker_connection_timeout on every save during an outage (docs/reliability.md).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# Delivery state lives in database rows, never in a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Two queues, so that fan-out and the sweeper never wait behind sends to slow partners:
# `celery` (fan-out, sweeper, full sync) and `push-send` (the sends). A worker started
# without -Q consumes both; in production run one worker per queue (Procfile).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("push-send"))
CELERY_TASK_ROUTES = {"pushers.tasks.send_lane": {"queue": "push-send"}}
# Celery's Django fix-up closes the database connection before and after every task unless
# this is set, so each push task opened a new PostgreSQL connection (~900 in one benchmark
# run, a few ms each). With it the fix-up closes them only every this many tasks, and
# `ocpi_site/celery.py` applies Django's own CONN_MAX_AGE rule around each task instead.
CELERY_DB_REUSE_MAX = 1000
# Remote control (`celery inspect`/`control`, Flower) makes each worker listen on a Redis
# pub/sub channel, and when Redis goes away kombu 5.7 can crash the worker while closing that
# channel (docs/reliability.md, Findings). Nothing here needs it, so it is off by default.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = env_bool("CELERY_WORKER_REMOTE_CONTROL", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Publishing a task must never hold up (or break) the save that triggered it: no publish
# retries in the web request. A message that could not be sent is found by the sweeper,
# because the outbox row was committed anyway.
CELERY_TASK_PUBLISH_RETRY = False

# --- Push to partners (pushers) ----------------------------------------------------------
# Transient failures (timeouts, connection errors, HTTP 5xx/429, OCPI 3xxx) are retried with
# exponential backoff with jitter: a random point in the upper half of BASE * 2**(attempt-1)
# seconds, capped at MAX, for at most
# WINDOW seconds after the first failure. Past the window the partner gets a full sync
# (a PUT of every Location) once it answers again, instead of a replay of old changes.
PUSH_RETRY_BACKOFF_BASE = float(env_str("PUSH_RETRY_BACKOFF_BASE", "2"))
PUSH_RETRY_BACKOFF_MAX = float(env_str("PUSH_RETRY_BACKOFF_MAX", "600"))
PUSH_RETRY_WINDOW = env_int("PUSH_RETRY_WINDOW", 6 * 3600)
# How often a partner that missed its window is tried again with a full sync (seconds).
PUSH_FULL_SYNC_RETRY_INTERVAL = env_int("PUSH_FULL_SYNC_RETRY_INTERVAL", 900)
# Locations a full sync queues per transaction (and task): keeps each well inside the tasks'
# time limit at any platform size.
PUSH_FULL_SYNC_BATCH = env_int("PUSH_FULL_SYNC_BATCH", 2000)
# Calls in flight to one partner at most, across all workers (slow partners keep to their own
# slots); after PUSH_BREAKER_FAILURES transient failures in a row a partner is degraded: one
# call at a time until it answers again.
PUSH_PARTNER_CONCURRENCY = env_int("PUSH_PARTNER_CONCURRENCY", 2)
PUSH_BREAKER_FAILURES = env_int("PUSH_BREAKER_FAILURES", 5)
# A worker's lease on a (partner, Location) lane; must exceed one HTTP call's timeouts.
# A worker that dies holding a lane blocks it for at most this long.
PUSH_LANE_LEASE = env_int(
    "PUSH_LANE_LEASE", int(OCPI_HTTP_CONNECT_TIMEOUT + OCPI_HTTP_READ_TIMEOUT) + 30
)
# The sweeper (Celery beat) runs every PUSH_SWEEP_INTERVAL seconds and re-queues change
# records and due deliveries whose task has not run PUSH_SWEEP_GRACE seconds after it should
# have (broker down at save time, worker killed).
PUSH_SWEEP_INTERVAL = env_int("PUSH_SWEEP_INTERVAL", 30)
PUSH_SWEEP_GRACE = env_int("PUSH_SWEEP_GRACE", 30)
# Retention (pushers/retention.py, a beat task every PUSH_PURGE_INTERVAL seconds): days
# finished deliveries and all attempts are kept for the operator view, days parked (failed)
# deliveries are kept, days change records are kept after their fan-out; rows deleted per
# statement and batches per kind and run.
PUSH_KEEP_DAYS = env_int("PUSH_KEEP_DAYS", 14)
PUSH_KEEP_FAILED_DAYS = env_int("PUSH_KEEP_FAILED_DAYS", 30)
PUSH_KEEP_CHANGES_DAYS = env_int("PUSH_KEEP_CHANGES_DAYS", 7)
PUSH_PURGE_INTERVAL = env_int("PUSH_PURGE_INTERVAL", 3600)
PUSH_PURGE_BATCH = env_int("PUSH_PURGE_BATCH", 5000)
PUSH_PURGE_MAX_BATCHES = env_int("PUSH_PURGE_MAX_BATCHES", 20)
# Debounce per object and partner: an idle object goes at once; a change right after a send
# waits until the object has been quiet this many seconds (0: off), collecting further changes.
PUSH_LANE_QUIET = float(env_str("PUSH_LANE_QUIET", "0.3"))
# ... but no longer than this many seconds after its first held change (continuous changes).
PUSH_LANE_MAX_WAIT = float(env_str("PUSH_LANE_MAX_WAIT", "5"))

# Data quality (locations/quality_store.py): every OCPI_QUALITY_INTERVAL seconds a beat task
# re-checks the Locations changed since their last check, for the admin's filter and dashboard.
OCPI_QUALITY_INTERVAL = env_int("OCPI_QUALITY_INTERVAL", 300)

# The admin's maps (locations/admin/maps.py): a tile URL template with {z}/{x}/{y} (and {s}
# for subdomains); empty: no tiles (the maps still place pins and show Locations).
OCPI_MAP_TILES_URL = env_str("OCPI_MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
OCPI_MAP_TILES_ATTRIBUTION = env_str(
    "OCPI_MAP_TILES_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

# Admin bulk actions ("Set status …", "Mark removed", publish/unpublish) on more rows than
# this are queued for a worker, which applies them a batch per transaction and shows its
# progress under Locations → Bulk changes (locations/bulk_jobs.py); fewer are written in the
# request.
ADMIN_BULK_IN_REQUEST = env_int("ADMIN_BULK_IN_REQUEST", 500)

CELERY_BEAT_SCHEDULE: dict = {
    "push-sweep": {"task": "pushers.tasks.sweep", "schedule": float(PUSH_SWEEP_INTERVAL)},
    "push-purge": {"task": "pushers.tasks.purge", "schedule": float(PUSH_PURGE_INTERVAL)},
    "quality-refresh": {
        "task": "locations.tasks.refresh_quality",
        "schedule": float(OCPI_QUALITY_INTERVAL),
    },
    # Bulk changes whose next batch's message was lost are queued again.
    "bulk-changes-sweep": {
        "task": "locations.tasks.sweep_bulk_changes",
        "schedule": float(PUSH_SWEEP_INTERVAL),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # HTTP libraries log request lines (urllib3 at DEBUG, httpx – the tests' partner
        # server – at INFO); our own client logs what matters.
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print its lines a second time next
        # to the root's: its lines go to the root handler only.
        "django": {"level": "INFO", "handlers": []},
        # SQL parameters include the plain token we send to each partner: never log them,
        # whatever LOG_LEVEL says.
        "django.db.backends": {"level": "INFO", "propagate": False, "handlers": []},
    },
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root before collectstatic
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("processed", "control"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)

# --- Admin login protection (django-axes) --------------------------------------------------
# Failed admin logins are counted per user name and client address; at AXES_FAILURE_LIMIT
# the pair is locked out (HTTP 429, even with the right password) for AXES_COOLOFF_MINUTES
# (0: until an operator runs `manage.py axes_reset_username NAME`; docs/security.md).
INSTALLED_APPS += ["axes"]
# Axes wants its middleware last and its backend first (it refuses locked-out logins there).
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Off only for a test or an emergency: then nothing is counted or locked.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Failed attempts of one user name from one address before the lockout.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
# Minutes a lockout lasts (0: until reset by hand).
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 30)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES) if AXES_COOLOFF_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A successful login clears the pair's failures, so typos spread over weeks never add up.
AXES_RESET_ON_SUCCESS = True
# No "AXES: BEGIN …" line at every start of every manage.py command.
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)

# --- Admin lists at scale (docs/admin.md, "Large lists") ---------------------------------
# Form fields one POST may carry (Django's default 1,000). An admin action on rows ticked on
# a page posts one field per row, and "Show all" lists up to 200; 10,000 leaves room while
# still refusing absurd bodies (each field is a few bytes; DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB,
# applies too). "Select all N" never posts the rows: it posts `select_across` and the list's
# filters, whatever N is (the confirmation pages too).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10_000)

# --- Deployment (docs/deploy.md) ---------------------------------------------------------
# Behind a reverse proxy that sets X-Forwarded-Host: build absolute URLs (admin redirects)
# from it. Only with a proxy that overwrites the header; SECURE_PROXY_SSL_HEADER (above) and
# CSRF_TRUSTED_ORIGINS (e.g. https://cpo.example.com) are the other proxy settings.
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
# Seconds a web or worker process keeps its database connection (0: one per request/task).
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    # PgBouncer in transaction mode: a server-side cursor cannot outlive its transaction
    # there, so Django must not use them (docs/deploy.md, "PgBouncer").
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", False
    )

# --- Hubs and our parties (issue 14) -------------------------------------------------------
# The CPO parties this platform runs, as a JSON list of {"country_code", "party_id", "name",
# "website"?} (each announced as a CPO role in our credentials; docs/partners.md). Empty: the
# one party OCPI_COUNTRY_CODE/OCPI_PARTY_ID/OCPI_BUSINESS_NAME/OCPI_BUSINESS_WEBSITE.
OCPI_PARTIES = env_str("OCPI_PARTIES", "")

# --- Health, metrics, logs and error reporting (monitoring; docs/operations.md) ----------
from typing import Any  # noqa: E402

INSTALLED_APPS += ["monitoring"]
# Request latency per OCPI endpoint for /metrics; right after the request ids.
MIDDLEWARE.insert(
    MIDDLEWARE.index("versions.middleware.RequestIdMiddleware") + 1,
    "monitoring.middleware.RequestMetricsMiddleware",
)
# Each worker and beat write a heartbeat row this often (seconds); /healthz reads them.
HEALTH_HEARTBEAT_INTERVAL = float(env_str("HEALTH_HEARTBEAT_INTERVAL", "15"))
# A heartbeat older than this (seconds) is a dead worker or beat: /healthz answers 503.
HEALTH_HEARTBEAT_STALE = float(env_str("HEALTH_HEARTBEAT_STALE", "60"))
# A dead worker stops failing /healthz this many seconds after its last heartbeat (a retired
# machine); every queue must still have a live worker.
HEALTH_HEARTBEAT_FORGET = float(env_str("HEALTH_HEARTBEAT_FORGET", "86400"))
# Beat writes its heartbeat from its scheduler (monitoring/beat.py).
CELERY_BEAT_SCHEDULER = "monitoring.beat:HeartbeatScheduler"
# /metrics answers 404 unless one of these is set; when both are, both must match.
# A bearer token (Authorization: Bearer <token>) that scrapers send.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Client addresses or networks (REMOTE_ADDR, the direct peer) allowed to scrape, e.g. 10.0.0.0/8.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "")
# Log lines as plain text (default) or one JSON object per line with the request and push ids.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
_logging: dict[str, Any] = LOGGING
_logging["formatters"]["json"] = {"()": "monitoring.logs.JsonFormatter"}
_logging["handlers"]["console"]["formatter"] = LOG_FORMAT
# Celery formats the logs of workers and beat itself unless told not to: with json, the
# configuration above formats theirs too (task lines included).
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
# Errors go to Sentry when set (needs the `sentry` extra: pip install '.[sentry]').
SENTRY_DSN = env_str("SENTRY_DSN")
# Sentry's environment tag (e.g. production, staging).
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production")
if SENTRY_DSN:
    from monitoring.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=_PACKAGE_VERSION)

# --- Audit trail (docs/admin.md, "History") ---
# History of every change of Locations, EVSEs, Connectors and Partners (django-simple-history;
# the audit app registers the models). After the apps whose models it records.
INSTALLED_APPS += ["simple_history", "audit"]
# Records a change made in a web request with the request's user (before axes, which wants
# its middleware last).
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"),
    "simple_history.middleware.HistoryRequestMiddleware",
)
