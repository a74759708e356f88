"""Test profile: fast hasher, locmem cache, a throwaway media root."""

import tempfile

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-key-not-secret-" + "x" * 40
CITYOPS_AUDIT_HMAC_KEY = "test-only-audit-key-not-secret-" + "y" * 16
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = tempfile.mkdtemp(prefix="cityops-test-media-")
CITYOPS_REPORT_DIR = tempfile.mkdtemp(prefix="cityops-test-reports-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = tempfile.mkdtemp(prefix="cityops-test-static-")

# Every test client posts from 127.0.0.1 and the locmem cache outlives a test, so the limits
# that the suite's many logins and Open311 posts would add up to are off here; the tests of
# those limits set their own rates (the citizen pages' tests clear the cache each time).
CITYOPS_RATE_LIMITS = {"login": None, "api_token": None, "open311_post_ip": None, "open311_post_key": None}
