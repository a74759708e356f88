"""The audit administrator's page /audit/: search, chain status, CSV export (itself recorded); nobody else opens it."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.selectors import CHAIN_STATUS_KEY
from cityops.audit.services import audit_record
from cityops.web.navigation import nav_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_chain_status():
    from django.core.cache import cache

    cache.delete(CHAIN_STATUS_KEY)


@pytest.fixture
def auditor_client(client):
    client.force_login(UserFactory(role="auditor"))
    return client


@pytest.fixture
def trail():
    now = timezone.now()
    return {
        "old": audit_record(action=AuditAction.LOGIN, actor_label="王五 (wangwu)", target="user:wangwu",
                            details={"via": "web"}, now=now - timedelta(days=10)),
        "export": audit_record(action=AuditAction.EXPORT, actor_label="张三 (zhangsan)", target="cases:csv",
                               details={"count": 3}, now=now - timedelta(hours=2)),
        "config": audit_record(action=AuditAction.CONFIG_CHANGE, actor_label="李四 (lisi)", target="catalog.category:12",
                               details={"op": "change"}, now=now - timedelta(hours=1)),
    }


def _ids(response) -> set[int]:
    return {e.pk for e in response.context["entries"]}


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "operator", "leader"])
def test_only_the_auditor_opens_the_page_and_the_export(client, role):
    client.force_login(UserFactory(role=role))
    assert client.get(reverse("audit:list")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_superuser_without_the_auditor_role_is_refused_too(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(reverse("audit:list")).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_auditor_sees_the_trail_with_the_chain_status(auditor_client, trail):
    response = auditor_client.get(reverse("audit:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert _ids(response) >= {e.pk for e in trail.values()}
    assert "哈希链完整" in html and "catalog.category:12" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "export"}, {"export"}),
        ({"actor": "李四"}, {"config"}),
        ({"target": "user:"}, {"old"}),
        ({"ip": "10.9."}, {"ip"}),
        ({"date_from": "{today}"}, {"export", "config", "ip"}),
        ({"date_to": "{ten_days_ago}"}, {"old"}),
    ],
)
def test_search_by_time_actor_action_target_and_ip(auditor_client, trail, params, expected):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="10.9.8.7")
    trail["ip"] = audit_record(action=AuditAction.LOGIN_FAILED, actor_label="x", request=request)
    today = timezone.localdate()
    values = {
        k: v.format(today=(today - timedelta(days=1)).isoformat(), ten_days_ago=(today - timedelta(days=9)).isoformat())
        for k, v in params.items()
    }
    response = auditor_client.get(reverse("audit:list"), values)
    assert response.status_code == 200
    wanted = {trail[name].pk for name in expected}
    assert _ids(response) & {e.pk for e in trail.values()} == wanted


def test_bad_dates_show_the_error_and_no_rows(auditor_client, trail):
    response = auditor_client.get(reverse("audit:list"), {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert "开始日期不能晚于结束日期" in response.content.decode()
    assert not _ids(response)


def test_pages_hold_fifty_entries(auditor_client):
    for n in range(55):
        audit_record(action=AuditAction.LOGIN, actor_label=f"u{n}")
    total = AuditEntry.objects.count()  # the 55 and the auditor's own login
    first = auditor_client.get(reverse("audit:list"))
    second = auditor_client.get(reverse("audit:list"), {"page": 2})
    assert len(first.context["entries"]) == 50 and len(second.context["entries"]) == total - 50


def test_a_tampered_row_shows_as_a_broken_chain_when_verified(auditor_client, trail):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET target = 'x' WHERE id = %s", [trail["export"].pk])
    html = auditor_client.get(reverse("audit:list"), {"verify": "1"}).content.decode()
    assert "哈希链校验失败" in html and f"ID {trail['export'].pk}" in html


def test_export_streams_the_filtered_entries_and_is_recorded(auditor_client, trail):
    response = auditor_client.get(reverse("audit:export"), {"action": "config_change"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["ID", "时间", "操作人", "动作"]
    assert [int(r[0]) for r in rows[1:]] == [trail["config"].pk]
    assert rows[1][3] == "配置变更"
    record = AuditEntry.objects.filter(action=AuditAction.EXPORT, target="audit:csv").get()
    assert record.details == {"format": "csv", "count": 1, "filters": {"action": "config_change"}}
    assert "auditor" in record.actor_label or record.actor is not None


def test_csv_cells_that_look_like_formulas_are_defused(auditor_client):
    audit_record(action=AuditAction.LOGIN_FAILED, actor_label="=HYPERLINK(\"http://x\")", target="user:=1+1")
    response = auditor_client.get(reverse("audit:export"), {"action": "login_failed"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'user:=1+1" not in text  # only a leading = is a formula


def test_navigation_offers_the_page_to_the_auditor_only():
    assert any(i["url"] == reverse("audit:list") for i in nav_for(UserFactory(role="auditor")))
    for role in ("sysadmin", "secadmin", "operator"):
        assert all(i["url"] != reverse("audit:list") for i in nav_for(UserFactory(role=role)))


def test_details_are_shown_as_readable_json(auditor_client):
    audit_record(action=AuditAction.EXPORT, actor_label="甲", target="cases:csv", details={"筛选": {"街道": "东关大街街道"}, "count": 3})
    html = auditor_client.get(reverse("audit:list")).content.decode()
    assert "{&quot;count&quot;: 3, &quot;筛选&quot;: {&quot;街道&quot;: &quot;东关大街街道&quot;}}" in html
