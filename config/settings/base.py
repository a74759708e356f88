"""Settings shared by every profile; everything that differs between machines comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .environment import load

BASE_DIR = Path(__file__).resolve().parents[2]
SRC_DIR = BASE_DIR / "src" / "cityops"

# The project's own settings (CITYOPS_*, lockout, second factor, sessions, retention): declared
# once, with type, default and meaning, in config/settings/environment.py and read from the
# environment here; a value that does not parse stops the start naming the variable.
_declared = load(os.environ)
globals().update(_declared)
VAR_DIR: Path = _declared["VAR_DIR"]


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # one-time enrolment codes issued by the security administrator
    "cityops.common",
    "cityops.accounts",
    "cityops.geo",
    "cityops.catalog",
    "cityops.audit",
    "cityops.cases",
    "cityops.routing",
    "cityops.api",
    "cityops.intake",
    "cityops.analytics",
    "cityops.assessment",
    "cityops.ops",
    "cityops.desks",  # role desks, forms and presenters over cases, routing and intake
    "cityops.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cityops.ops.dbfailure.DatabaseUnavailableMiddleware",  # database outage → 503, not 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chinese whatever the browser's Accept-Language says; English only through the header's switch.
    "cityops.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "cityops.audit.context.AuditContextMiddleware",  # who and from where, for permission/config audit entries
    # After auth, OTP, messages and htmx: idle timeout, single session, second factor, password change.
    "cityops.accounts.middleware.AuthenticationPolicyMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login failure handling (cityops.accounts.lockout): AXES_FAILURE_LIMIT failures lock an account
# from the address they came from, CITYOPS_ACCOUNT_FAILURE_LIMIT failures from all addresses
# together lock it everywhere; never an address as such (everyone behind one NAT). A success
# clears only that account's failures from that address; refused attempts during a lock are
# not counted, so it ends AXES_COOLOFF_TIME after the failure that set it.
AXES_HANDLER = "cityops.accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "cityops.accounts.views.locked_out"
AXES_USERNAME_CALLABLE = "cityops.web.views.axes_username"  # cut to axes' 255-character column
AXES_RESET_ON_SUCCESS = True
# Lock out the real client, not the load balancer every request comes through (see below).
AXES_CLIENT_IP_CALLABLE = "cityops.common.clientip.client_ip"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cityops.web.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cityops.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default serves concurrent requests and the in-process scheduler from one file:
    # * WAL: readers never wait for the writer, nor the writer for readers;
    # * a busy timeout: a writer waits its turn (up to 30 s) instead of failing at once;
    # * BEGIN IMMEDIATE: every atomic block takes the write lock when it starts. A deferred
    #   transaction that reads and then writes cannot wait for the lock (SQLite answers
    #   "database is locked" at once, as its snapshot is stale); an immediate one simply queues.
    # Writes stay short (imports commit in chunks), so the queue moves. synchronous=NORMAL is
    # SQLite's advice for WAL: no fsync per commit; an application crash loses nothing, a power
    # cut may lose the last commits but never corrupts the file (production runs PostgreSQL).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({
        "timeout": _declared["CITYOPS_SQLITE_BUSY_TIMEOUT"],
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    })

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Argon2id with measured parameters (cityops.accounts.hashers, docs/security.md). PBKDF2 hashes
# of older installations still verify and are re-hashed with Argon2id at the next sign-in.
PASSWORD_HASHERS = [
    "cityops.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "cityops.accounts.validators.MinimumLengthValidator"},
    {"NAME": "cityops.accounts.validators.CharacterClassesValidator"},
    {"NAME": "cityops.accounts.validators.UsernameValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # Common words, the system's name, keyboard runs with digits/symbols around (Password123!).
    {"NAME": "cityops.accounts.validators.PatternValidator"},
    {"NAME": "cityops.accounts.validators.PasswordHistoryValidator"},
]

# ---------------------------------------------------------------- identification & authentication (等保 2.0 身份鉴别)
# Password policy, idle timeout, single session, second-factor roles and enrolment codes:
# CITYOPS_PASSWORD_*, CITYOPS_SESSION_*, CITYOPS_SINGLE_SESSION, OTP_REQUIRED_ROLES, OTP_TOTP_ISSUER,
# CITYOPS_OTP_ENROLMENT_CODE_* in environment.py.
# django-otp's own back-off (1 s, 2 s, 4 s …) is off: wrong codes lock the account like wrong
# passwords (AXES_FAILURE_LIMIT per AXES_COOLOFF_TIME, see cityops.accounts.otp).
OTP_TOTP_THROTTLE_FACTOR = 0
# The admin never shows a device's secret after it was created.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_COOKIE_HTTPONLY = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4): scripts only from our own static files, so an
# injected <script> or on*= handler never runs. Pages pass data to their scripts through
# data-* attributes and json_script blocks; htmx runs with allowEval off and its indicator
# styles in app.css (web/base.html's htmx-config meta).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Style *attributes* only (never <style> elements): ECharts builds its tooltips as HTML
        # strings with style="…" on the colour markers, the arrow and the default axis layout;
        # without this every hover is a CSP violation and an unstyled tooltip. An attribute
        # can't load anything img-src/default-src don't allow, and can't run script.
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_declared["CITYOPS_CSP_IMG_ORIGINS"]],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Rate limits (cityops.common.ratelimit, django-ratelimit in the cache): CITYOPS_RATE_LIMITS is
# {scope: "count/period"} (JSON in the environment); the cache must be shared by all web
# processes (Redis).
RATELIMIT_FAIL_OPEN = True  # Redis down: serve unthrottled rather than refuse everyone
RATELIMIT_IP_META_KEY = "cityops.common.clientip.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}


def require_secret_key(key: str) -> str:
    if not key or len(key) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment (50+ random characters).")
    return key


# The audit chain's HMAC key (CITYOPS_AUDIT_HMAC_KEY, or the file CITYOPS_AUDIT_HMAC_KEY_FILE
# names) and retired keys (CITYOPS_AUDIT_HMAC_KEYS): docs/deploy.md "Audit trail key".
# Production refuses to start without a key; `make run` generates one into the var dir.


# ---------------------------------------------------------------- production mode & scale (issue 7)
# Celery (config/celery.py): Redis broker, late acknowledgement so a killed worker's task is
# redelivered (after the visibility timeout) and run again; every task is idempotent.
CELERY_BROKER_URL = REDIS_URL or "redis://127.0.0.1:6379/0"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message whose worker died unacknowledged goes back to the queue after the visibility
# timeout (longer than the longest task); abandoned messages are swept every interval × throttle s.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800")),
    "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": int(os.environ.get("CELERY_UNACKED_RESTORE_THROTTLE", "10")),
    "global_keyprefix": os.environ.get("CELERY_KEY_PREFIX", ""),
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "cityops")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(os.environ.get("CELERY_MAX_MEMORY_PER_CHILD_KB", "400000"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))
