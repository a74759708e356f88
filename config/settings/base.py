"""Settings shared by every profile; everything that differs between machines comes from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[2]
SRC_DIR = BASE_DIR / "src" / "cityops"
VAR_DIR = Path(os.environ.get("CITYOPS_VAR_DIR", BASE_DIR / "var"))


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
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
CITYOPS_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("CITYOPS_ACCOUNT_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "cityops.web.views.locked_out"
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
        "timeout": int(os.environ.get("CITYOPS_SQLITE_BUSY_TIMEOUT", "30")),
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
# Password policy, read by cityops.accounts.validators when a password is set.
CITYOPS_PASSWORD_MIN_LENGTH = int(os.environ.get("CITYOPS_PASSWORD_MIN_LENGTH", "10"))
CITYOPS_PASSWORD_MIN_CLASSES = int(os.environ.get("CITYOPS_PASSWORD_MIN_CLASSES", "3"))  # of upper/lower/digit/symbol
CITYOPS_PASSWORD_HISTORY = int(os.environ.get("CITYOPS_PASSWORD_HISTORY", "5"))  # last N can't be reused
CITYOPS_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("CITYOPS_PASSWORD_MAX_AGE_DAYS", "90"))  # 0: never expires
# Sessions end after this much inactivity (SESSION_COOKIE_AGE caps their whole life). Requests
# of the views below (background polls) neither count as activity nor keep a session alive.
CITYOPS_SESSION_IDLE_MINUTES = int(os.environ.get("CITYOPS_SESSION_IDLE_MINUTES", "30"))
CITYOPS_SESSION_PASSIVE_VIEWS = env_list("CITYOPS_SESSION_PASSIVE_VIEWS", ["cases:notification_count"])
# On: a new login ends the account's other sessions.
CITYOPS_SINGLE_SESSION = env_bool("CITYOPS_SINGLE_SESSION", False)
# Roles that must sign in with a TOTP second factor (anyone may enrol voluntarily). Empty keeps
# the demo's one-password logins; production should set
# OTP_REQUIRED_ROLES=sysadmin,secadmin,auditor,leader (superusers then need it too).
OTP_REQUIRED_ROLES = env_list("OTP_REQUIRED_ROLES", [])
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "城运·一网统管")
# Binding an authenticator the first time takes a one-time enrolment code issued by the
# security administrator (cityops.accounts.otp): always for the OTP_REQUIRED_ROLES, for every
# account with this on (the production default). A code is valid this many hours.
CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL = env_bool("CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL", False)
CITYOPS_OTP_ENROLMENT_CODE_HOURS = int(os.environ.get("CITYOPS_OTP_ENROLMENT_CODE_HOURS", "72"))
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
# The application serves media/public/ itself (config/urls.py) unless a web server does it.
CITYOPS_SERVE_PUBLIC_MEDIA = env_bool("CITYOPS_SERVE_PUBLIC_MEDIA", True)
# Stored analysis reports (analytics/reports.py): served only through the signed-in /reports/
# pages, so never under MEDIA_ROOT; with several app servers, a directory they all share.
CITYOPS_REPORT_DIR = Path(os.environ.get("CITYOPS_REPORT_DIR", VAR_DIR / "reports"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
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
        "img-src": ["'self'", "data:", "blob:", *env_list("CITYOPS_CSP_IMG_ORIGINS", [])],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# The district this installation serves (GB/T 2260 code).
CITYOPS_DISTRICT_CODE = os.environ.get("CITYOPS_DISTRICT_CODE", "630102")
# Office hours for 工作时 arithmetic: list of (start, end) "HH:MM" pairs on working days.
CITYOPS_OFFICE_HOURS = [
    tuple(span.split("-")) for span in env_list("CITYOPS_OFFICE_HOURS", ["08:30-12:00", "14:00-18:00"])
]

# After a case event commits, rollups, the duplicate index, webhook rows and auto-dispatch run
# "inline" (in the request, after commit) or "deferred" (an outbox row in the event's own
# transaction, drained in batches by the "fanout" job every CITYOPS_FANOUT_SECONDS on the
# workers: see cases/fanout.py). Production defaults to deferred.
CITYOPS_EVENT_FANOUT = os.environ.get("CITYOPS_EVENT_FANOUT", "inline")
CITYOPS_FANOUT_SECONDS = float(os.environ.get("CITYOPS_FANOUT_SECONDS", "1" if CITYOPS_EVENT_FANOUT == "deferred" else "60"))

# Run periodic tasks (SLA scan) inside the dev server when there is no Celery.
CITYOPS_INPROCESS_SCHEDULER = env_bool("CITYOPS_INPROCESS_SCHEDULER", not REDIS_URL)
CITYOPS_MAX_UPLOAD_MB = int(os.environ.get("CITYOPS_MAX_UPLOAD_MB", "10"))
# Photos larger than this many pixels are refused from their header, before they are decoded
# (decompression bombs). 40 MP (7,300 × 5,500; ≈ 120 MB decoded) is above what phones save by
# default (12 MP binned, 48/50 MP in full-resolution mode); Pillow's own guard is set to the
# same number (cityops.cases.photos.set_pillow_guard).
CITYOPS_MAX_IMAGE_PIXELS = int(os.environ.get("CITYOPS_MAX_IMAGE_PIXELS", str(40_000_000)))
# Spreadsheet imports: an .xlsx is a zip; its members may unpack to at most this much.
CITYOPS_MAX_XLSX_UNCOMPRESSED_MB = int(os.environ.get("CITYOPS_MAX_XLSX_UNCOMPRESSED_MB", "1024"))

# Connecting other systems (docs/integration.md).
CITYOPS_INGEST_MAX_BYTES = int(os.environ.get("CITYOPS_INGEST_MAX_BYTES", str(16 * 1024 * 1024)))
CITYOPS_ALARM_DEDUPE_MINUTES = float(os.environ.get("CITYOPS_ALARM_DEDUPE_MINUTES", "30"))
CITYOPS_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CITYOPS_WEBHOOK_MAX_ATTEMPTS", "10"))
# Webhook targets (cityops.api.outbound): hosts a subscription may point at — exact names,
# "*.example.gov.cn", IP addresses or networks; empty: no target is allowed. A host that
# resolves to an internal address is refused unless that address/network is listed too.
CITYOPS_WEBHOOK_ALLOWED_HOSTS = env_list("CITYOPS_WEBHOOK_ALLOWED_HOSTS", [])
CITYOPS_WEBHOOK_REQUIRE_HTTPS = env_bool("CITYOPS_WEBHOOK_REQUIRE_HTTPS", True)  # off only for development
CITYOPS_OPEN311_JURISDICTION = os.environ.get("CITYOPS_OPEN311_JURISDICTION", "")  # empty: the district code
# What Open311 publishes (docs/integration.md): cases of these channels only (网格员 `inspector`
# never, whatever is listed), coordinates of citizens' cases rounded to this many decimals
# (3 ≈ 100 m), and the handling department's name only when CITYOPS_OPEN311_SHOW_DEPARTMENT.
CITYOPS_OPEN311_CHANNELS = env_list("CITYOPS_OPEN311_CHANNELS", ["city_platform", "hotline", "web", "open311", "api"])
CITYOPS_OPEN311_COORD_DECIMALS = int(os.environ.get("CITYOPS_OPEN311_COORD_DECIMALS", "3"))
CITYOPS_OPEN311_SHOW_DEPARTMENT = env_bool("CITYOPS_OPEN311_SHOW_DEPARTMENT", False)
# Workers and Redis (docs/deploy.md).
CITYOPS_SLA_SCAN_CONNECTIONS = int(os.environ.get("CITYOPS_SLA_SCAN_CONNECTIONS", "2"))
CITYOPS_CACHE_RETRY_SECONDS = float(os.environ.get("CITYOPS_CACHE_RETRY_SECONDS", "5"))

# Rate limits (cityops.common.ratelimit, django-ratelimit in the cache): {scope: "count/period"};
# scopes and defaults in DEFAULT_RATES there, e.g. CITYOPS_RATE_LIMITS={"report": "5/m"} or
# {"login": None} to switch one off. The cache must be shared by all web processes (Redis).
CITYOPS_RATE_LIMITS: dict = {}
RATELIMIT_FAIL_OPEN = True  # Redis down: serve unthrottled rather than refuse everyone
RATELIMIT_IP_META_KEY = "cityops.common.clientip.client_ip"
# Reverse proxies / load balancers whose X-Forwarded-For is believed (addresses or networks,
# e.g. "10.0.0.5,10.0.1.0/24"); without them every client behind the balancer would share
# one rate-limit bucket and one login lockout. Empty: REMOTE_ADDR is the client.
CITYOPS_TRUSTED_PROXIES = env_list("CITYOPS_TRUSTED_PROXIES", [])

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


def env_secret(name: str) -> str:
    """A secret from the environment variable `name`, or read from the file that `name`_FILE
    names (systemd credentials, Docker/Kubernetes secrets): never from the database."""
    value = os.environ.get(name, "").strip()
    path = os.environ.get(f"{name}_FILE", "").strip()
    if not value and path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    return value


# Audit trail (cityops.audit.services): the hash chain is an HMAC under this key, kept outside
# the database so a database writer cannot recompute it. Retired keys (one per line or comma-
# separated) stay in the keyring to verify older rows; docs/deploy.md "Audit trail key".
# Production refuses to start without a key; `make run` generates one into the var dir.
CITYOPS_AUDIT_HMAC_KEY = env_secret("CITYOPS_AUDIT_HMAC_KEY")
CITYOPS_AUDIT_HMAC_KEYS = env_secret("CITYOPS_AUDIT_HMAC_KEYS")


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
# Escalation of overdue cases to the leaders (natural hours past the stage deadline).
# Callback (回访): after this many unanswered attempts a closed case leaves the queue as 无法联系
# and counts in neither numerator nor denominator of the satisfaction rate (docs/assessment.md).
CITYOPS_CALLBACK_MAX_ATTEMPTS = int(os.environ.get("CITYOPS_CALLBACK_MAX_ATTEMPTS", "3"))
# A department's return (退单) waits for the dispatcher's acceptance before the case leaves it.
CITYOPS_RETURN_NEEDS_ACCEPTANCE = env_bool("CITYOPS_RETURN_NEEDS_ACCEPTANCE", True)
# The daily routing retrain (`routing.services.retrain_if_due`, routing/README.md): retrain when
# the newest history model is this many days old and this many cases were dispatched since.
CITYOPS_RETRAIN_INTERVAL_DAYS = float(os.environ.get("CITYOPS_RETRAIN_INTERVAL_DAYS", "7"))
CITYOPS_RETRAIN_MIN_NEW_LABELS = int(os.environ.get("CITYOPS_RETRAIN_MIN_NEW_LABELS", "200"))
CITYOPS_RETRAIN_WINDOW_DAYS = float(os.environ.get("CITYOPS_RETRAIN_WINDOW_DAYS", "365"))
CITYOPS_RETRAIN_ACTIVATE = env_bool("CITYOPS_RETRAIN_ACTIVATE", True)
CITYOPS_RETRAIN_MAX_DROP = float(os.environ.get("CITYOPS_RETRAIN_MAX_DROP", "0.02"))
if os.environ.get("CITYOPS_RETRAIN_ALGORITHM"):
    CITYOPS_RETRAIN_ALGORITHM = os.environ["CITYOPS_RETRAIN_ALGORITHM"]
CITYOPS_ESCALATE_AFTER_HOURS = float(os.environ.get("CITYOPS_ESCALATE_AFTER_HOURS", "24"))
# The tiny insert endpoint the intake benchmark uses as its ceiling; never on in a deployment.
CITYOPS_BENCHMARK_ENDPOINTS = env_bool("CITYOPS_BENCHMARK_ENDPOINTS", False)

# ---------------------------------------------------------------- audit retention & privacy (等保 2.0)
# Audit entries are kept at least six months; `cityops audit purge` refuses anything younger,
# and a value below 183 is raised to 183 (cityops.audit.services.retention_days).
AUDIT_RETENTION_DAYS = max(183, int(os.environ.get("AUDIT_RETENTION_DAYS", "183")))
# Reporters' names and phones of cases closed more than this many months ago are anonymised
# by the daily "privacy" job (cityops.cases.privacy); 0 turns the job off.
PERSONAL_DATA_RETENTION_MONTHS = int(os.environ.get("PERSONAL_DATA_RETENTION_MONTHS", "24"))
# One audit entry per API key per this many minutes; every call is in the API call log.
AUDIT_API_KEY_WINDOW_MINUTES = int(os.environ.get("AUDIT_API_KEY_WINDOW_MINUTES", "60"))
