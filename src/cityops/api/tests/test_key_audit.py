"""API key use in the audit trail: a per-key summary entry per window (every call stays in ApiCallLog)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from cityops.api.models import ApiCallLog, ApiKey
from cityops.api.tests.keyclient import KeyClient
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import verify_chain

pytestmark = pytest.mark.django_db


def _entries(name: str):
    return list(AuditEntry.objects.filter(action=AuditAction.API_KEY_USE, target=f"apikey:{name}").order_by("id"))


def test_first_call_of_a_key_is_recorded_with_its_name_and_the_rest_of_the_window_is_summarised():
    video = KeyClient.issue("视频平台")
    for _ in range(3):
        video.get("/cases/CD19990101-0001")
    entries = _entries("视频平台")
    assert len(entries) == 1 and ApiCallLog.objects.count() == 3
    entry = entries[0]
    assert entry.actor_label == "视频平台" and entry.actor == ApiKey.objects.get(name="视频平台").user
    assert entry.details["calls_since_previous_entry"] == 1
    assert entry.details["this_call"] == {"method": "GET", "path": "/api/v1/cases/CD19990101-0001", "status": 404}


def test_the_next_window_counts_the_calls_since_the_previous_entry():
    video = KeyClient.issue("视频平台")
    video.get("/cases/CD19990101-0001")
    video.get("/cases/CD19990101-0001")
    first = _entries("视频平台")[0]
    # Move the first entry's window into the past by writing the next call an hour later.
    from cityops.api.keys import audit_key_use

    record = ApiKey.objects.get(name="视频平台")
    later = first.created_at + timedelta(minutes=61)
    ApiCallLog.objects.create(api_key=record, key_name=record.name, method="GET", path="/x", status_code=200, created_at=later)

    class _Req:
        method, path, META, user = "GET", "/api/v1/x", {"REMOTE_ADDR": "10.1.1.1"}, None

    assert audit_key_use(record, _Req(), 200, now=later) is True
    second = _entries("视频平台")[1]
    assert second.details["calls_since_previous_entry"] == 2  # the second call of the first window and this one
    assert second.ip == "10.1.1.1"
    assert verify_chain() == (True, None)


def test_each_key_gets_its_own_entries():
    KeyClient.issue("视频平台").get("/cases/CD19990101-0001")
    KeyClient.issue("市12345平台").get("/cases/CD19990101-0001")
    assert len(_entries("视频平台")) == 1 and len(_entries("市12345平台")) == 1


@override_settings(AUDIT_API_KEY_WINDOW_MINUTES=1)
def test_window_is_configurable():
    from cityops.api.keys import audit_window

    assert audit_window() == timedelta(minutes=1)
    assert timezone.now()  # the setting is read per call, not at import
