"""Production profile: PostgreSQL, Redis, Celery workers, HTTPS. Every secret comes from the environment.

See docs/deploy.md for the single-server and multi-server layouts and the environment of
each process. `make run-prod` starts the whole stack on one machine (plain http on
127.0.0.1, hence SECURE_SSL_REDIRECT=0 and insecure cookies there only).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    REDIS_URL,
    SECRET_KEY,
    env_bool,
    require_secret_key,
)
from .environment import load

# The declared settings again, with the production defaults (environment.py's `production`
# column: second-factor roles and enrolment codes for all, deferred fanout every second).
_declared = load(os.environ, profile="production")
globals().update(_declared)
CITYOPS_AUDIT_HMAC_KEY = _declared["CITYOPS_AUDIT_HMAC_KEY"] or ""
OTP_REQUIRED_ROLES = _declared["OTP_REQUIRED_ROLES"]
CITYOPS_ALLOW_NO_OTP = _declared["CITYOPS_ALLOW_NO_OTP"]

DEBUG = False
SECRET_KEY = require_secret_key(SECRET_KEY)
# The audit chain's HMAC key comes from the environment or a file, never generated here: every
# web server and worker must sign with the same key (docs/deploy.md "Audit trail key").
if len(CITYOPS_AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured(
        "CITYOPS_AUDIT_HMAC_KEY (or CITYOPS_AUDIT_HMAC_KEY_FILE) must be set: 32+ random characters, kept outside the database."
    )

# Second factor (等保 2.0 身份鉴别): the three administrators and the leaders sign in with TOTP.
# OTP_REQUIRED_ROLES may name other roles; `none` (no role at all) is refused unless the waiver
# CITYOPS_ALLOW_NO_OTP=1 is set, and `check --deploy` fails while any of the three admin roles
# is missing (cityops.accounts.checks).
if not OTP_REQUIRED_ROLES and not CITYOPS_ALLOW_NO_OTP:
    raise ImproperlyConfigured(
        "OTP_REQUIRED_ROLES is empty: the production profile requires the second factor for the "
        "administrators (sysadmin,secadmin,auditor) and leaders. Set CITYOPS_ALLOW_NO_OTP=1 to waive it."
    )
# Binding an authenticator needs a one-time enrolment code issued by the security administrator
# (or `cityops otp_enrolment_code` on the server) for every account, not only the required
# roles: CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL defaults to on here.

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Hashed static names from collectstatic's manifest. Throw-away servers of benchmarks and
# fault tests, which never run collectstatic, set whitenoise.storage.CompressedStaticFilesStorage.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get("CITYOPS_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage")
    },
}

# The request writes the case, its event and an outbox row; the workers do the rest in batches
# (CITYOPS_EVENT_FANOUT defaults to deferred here, CITYOPS_FANOUT_SECONDS to 1).

# Database: persistent connections (one per worker thread), checked before reuse, so a
# restarted PostgreSQL costs one failed request per connection, never a stuck worker.
_db = DATABASES["default"]
if _db["ENGINE"].endswith("postgresql"):
    _db["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"]["connect_timeout"] = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
    _statement_timeout = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "0"))
    if _statement_timeout:
        _db["OPTIONS"]["options"] = f"-c statement_timeout={_statement_timeout}"

# A streaming replica for reports and BI (read-only, may lag a few seconds): code that can
# live with that reads with `.using("reporting")`; everything else uses the primary.
if os.environ.get("REPORTING_DATABASE_URL"):
    import dj_database_url

    DATABASES["reporting"] = dj_database_url.parse(
        os.environ["REPORTING_DATABASE_URL"], conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    )
    DATABASES["reporting"]["CONN_HEALTH_CHECKS"] = True

# Redis is a cache and the Celery broker, never the only copy of anything: when it is down
# the web keeps serving (the cache degrades to misses) and the workers catch up afterwards.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "cityops.ops.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
