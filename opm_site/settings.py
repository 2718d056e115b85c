"""OpenPassMarket settings, read from the environment (django-environ).

Defaults are safe for a laptop: SQLite under ``var/``, DEBUG off, a secret key generated into
``var/`` on first run. Production sets ``DATABASE_URL``, ``ALLOWED_HOSTS`` and ``OPM_PRODUCTION=1``.
"""

import hashlib
import os
import secrets
import sys
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("OPM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The SECRET_KEY from the environment, else one generated once into var/ (mode 0600)."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


_SUPPORTED_ENGINES = {"django.db.backends.sqlite3", "django.db.backends.postgresql"}


def _database(url: str) -> dict:
    """Parse DATABASE_URL; a malformed one stops start-up with one line, not a traceback."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # django-environ warns on unknown schemes; we report it below.
            config = environ.Env.db_url_config(url)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: DATABASE_URL is malformed ({url!r}): {exc}\n")
        raise SystemExit(2) from None
    if config.get("ENGINE") not in _SUPPORTED_ENGINES:
        sys.stderr.write(f"error: DATABASE_URL must be sqlite:///PATH or postgres://..., got {url!r}\n")
        raise SystemExit(2)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Persistent connections: opening a PostgreSQL session per request cost more than a signal's whole
        # transaction (benchmarks/api.py). Health checks drop a connection the server closed meanwhile.
        config.setdefault("CONN_MAX_AGE", env.int("OPM_DB_CONN_MAX_AGE", default=300))
        config.setdefault("CONN_HEALTH_CHECKS", env.bool("OPM_DB_HEALTH_CHECKS", default=True))
        # Server-side binding lets psycopg prepare the hot statements (the signal path's) once per connection:
        # a third less database CPU per signal (benchmarks/api.py). OPM_DB_SERVER_SIDE_BINDING=0 turns it off.
        if env.bool("OPM_DB_SERVER_SIDE_BINDING", default=True):
            config.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})
    else:
        config.setdefault("CONN_MAX_AGE", 0)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    return config


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = env.bool("OPM_PRODUCTION", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "opm_site.apps.OpmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "registry",
    "governance",
    "orchestration",
    "transparency",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # a policy only where a view sets one (API docs)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "opm_site.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "opm_site.urls"
WSGI_APPLICATION = "opm_site.wsgi.application"
ASGI_APPLICATION = "opm_site.asgi.application"

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

DATABASES = {"default": _database(env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'opm.sqlite3'}"))}
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
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from here once `collectstatic` has run
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# TLS for `bash run.sh serve` (gunicorn): the operator's own files, or a self-signed pair made on first run.
OPM_TLS_CERT = Path(env.str("OPM_TLS_CERT", default=str(VAR_DIR / "tls" / "cert.pem")))
OPM_TLS_KEY = Path(env.str("OPM_TLS_KEY", default=str(VAR_DIR / "tls" / "key.pem")))

# Rate limits (opm_site/throttling.py) count in this cache, which every gunicorn worker shares. The counts
# are ephemeral and each request rewrites one small file, so by default they live on the shared-memory tmpfs
# (/dev/shm, one directory per var/ so two servers on a host never share counts), else under var/cache/;
# OPM_CACHE_URL (a django-environ cache URL) puts them elsewhere.
_SHM = Path("/dev/shm")
_CACHE_DIR = (
    _SHM / f"opm-cache-{hashlib.sha256(str(VAR_DIR.resolve()).encode()).hexdigest()[:16]}"
    if _SHM.is_dir() and os.access(_SHM, os.W_OK)
    else VAR_DIR / "cache"
)
CACHES = {"default": env.cache_url("OPM_CACHE_URL", default=f"filecache://{_CACHE_DIR}")}

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "opm_site.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "opm_site.openapi.ProblemAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "deployment": env.str("OPM_THROTTLE_DEPLOYMENT", default="600/minute"),
        "public": env.str("OPM_THROTTLE_PUBLIC", default="300/minute"),
    },
    # Anonymous callers are counted by peer address: REMOTE_ADDR, or behind N reverse proxies of ours the
    # address the outermost one appended to X-Forwarded-For. Never None: DRF then reads the client's own header.
    "NUM_PROXIES": env.int("OPM_NUM_PROXIES", default=0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OpenPassMarket API",
    "DESCRIPTION": "Adapters' work loop (API-key authenticated) and the public, read-only transparency log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs work offline: Swagger UI and Redoc are served from drf-spectacular-sidecar's static files,
    # Redoc's page (templates/api/redoc.html) loads no web fonts, and Swagger UI asks no online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, sans-serif",
                "headings": {"fontFamily": "system-ui, sans-serif"},
                "code": {"fontFamily": "ui-monospace, monospace"},
            }
        }
    },
}
# Request bodies above this are refused with 413 (signals and manifests are small).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("OPM_MAX_BODY_BYTES", default=256 * 1024)

# The transparency log's identity (docs/design.md §5); keys live outside git under var/keys/.
OPM_LOG_ORIGIN = env.str("OPM_LOG_ORIGIN", default="openpassmarket.example/log")
OPM_KEY_DIR = Path(env.str("OPM_KEY_DIR", default=str(VAR_DIR / "keys")))
# Appends schedule a checkpoint; at most one is issued per this many seconds (`ledger checkpoint` forces one).
OPM_CHECKPOINT_INTERVAL = env.float("OPM_CHECKPOINT_INTERVAL", default=60.0)

TASKS = {
    "default": {"BACKEND": env.str("OPM_TASKS_BACKEND", default="django.tasks.backends.immediate.ImmediateBackend")}
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {"django.tasks": {"level": env.str("LOG_LEVEL", default="WARNING")}},
}

if PRODUCTION:
    # What `manage.py check --deploy` asks of a site served over TLS.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
