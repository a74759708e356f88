"""Profile of `make run` and every `cityops` command: embedded SQLite, a per-checkout secret key.

DEBUG is off, as `make run` may serve people as the main job: Chinese error pages, never
Django's debug page with the URL map (DEBUG=1 turns it on while developing). Static files are
served by WhiteNoise straight from the apps' static/ folders (no collectstatic step), so the
same settings work under gunicorn.
"""

import secrets

from .base import *  # noqa: F403
from .base import CITYOPS_AUDIT_HMAC_KEY, VAR_DIR, env_bool

DEBUG = env_bool("DEBUG", False)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG  # re-read changed files on each request only while developing


def _local_secret_key() -> str:
    # A random key kept beside the embedded database, so sessions survive restarts
    # without any secret being committed.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _local_secret_key()


def _local_audit_key() -> str:
    # The audit chain's HMAC key (cityops.audit.services): generated once beside the embedded
    # database, outside it, unless CITYOPS_AUDIT_HMAC_KEY(_FILE) names one.
    key_file = VAR_DIR / "audit_hmac_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


CITYOPS_AUDIT_HMAC_KEY = CITYOPS_AUDIT_HMAC_KEY or _local_audit_key()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns about a missing root)
