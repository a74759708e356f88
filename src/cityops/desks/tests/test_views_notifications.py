"""Notifications page, unread count fragment, mark read, open."""

import pytest
from django.urls import reverse

from cityops.cases.models import Notification
from cityops.cases.tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_count_list_mark_read(client, people, category):
    user = people["dispatcher"]
    case = make_case(category=category)
    first = Notification.objects.create(recipient=user, case=case, kind="new_task", message="新派遣案件")
    Notification.objects.create(recipient=user, kind="info", message="系统通知")
    Notification.objects.create(recipient=people["operator"], kind="info", message="别人的通知")
    client.force_login(user)
    assert ">2<" in client.get(reverse("cases:notification_count")).content.decode()
    html = client.get(reverse("cases:notifications")).content.decode()
    assert "新派遣案件" in html and "别人的通知" not in html
    client.post(reverse("cases:notifications_read"), {"id": first.pk})
    assert ">1<" in client.get(reverse("cases:notification_count")).content.decode()
    response = client.post(reverse("cases:notifications_read"), {"all": "1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="notification-list")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_opening_a_notification_marks_it_read_and_goes_to_the_case(client, people, category):
    user = people["operator"]
    case = make_case(category=category)
    note = Notification.objects.create(recipient=user, case=case, kind="info", message="x")
    client.force_login(user)
    response = client.get(reverse("cases:notification_open", args=[note.pk]))
    assert response["Location"] == reverse("cases:detail", args=[case.number])
    note.refresh_from_db()
    assert note.read_at is not None


def test_someone_elses_notification_is_404(client, people):
    note = Notification.objects.create(recipient=people["operator"], kind="info", message="x")
    client.force_login(people["dispatcher"])
    assert client.get(reverse("cases:notification_open", args=[note.pk])).status_code == 404
    client.post(reverse("cases:notifications_read"), {"id": note.pk})
    note.refresh_from_db()
    assert note.read_at is None
