"""The operator desk: hotline intake, category suggestions, duplicates after intake."""

import pytest
from django.urls import reverse

from cityops.cases.models import Case, Channel
from cityops.cases.states import Status
from cityops.cases.tests.factories import make_case
from cityops.desks import views

pytestmark = pytest.mark.django_db


def test_intake_creates_a_case_and_shows_it(client, people, category):
    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), {
        "channel": Channel.HOTLINE, "case_type": "consult", "description": "咨询垃圾分类投放时间",
        "category": category.code, "reporter_name": "李四", "reporter_phone": "13700001111", "urgency": "",
    })
    assert response.status_code == 302
    case = Case.objects.get(description="咨询垃圾分类投放时间")
    assert case.status == Status.NEW and case.created_by == people["operator"] and case.category == category
    assert response["Location"].endswith(f"?created={case.number}")
    html = client.get(response["Location"]).content.decode()
    assert "已受理：" in html and case.number in html


def test_intake_of_a_complaint_without_location_is_refused_and_keeps_the_input(client, people):
    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), {
        "channel": Channel.HOTLINE, "case_type": "complaint", "description": "夜间施工噪音扰民", "reporter_phone": "13700001111",
    })
    assert response.status_code == 400
    html = response.content.decode()
    assert "请在地图上选择问题位置" in html
    assert "夜间施工噪音扰民" in html and "13700001111" in html
    assert not Case.objects.filter(description="夜间施工噪音扰民").exists()


def test_intake_requires_a_description(client, people):
    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), {"channel": "hotline", "case_type": "consult", "description": ""})
    assert response.status_code == 400
    assert "请填写问题描述" in response.content.decode()


def test_the_intake_form_offers_only_the_operators_channels(client, people):
    client.force_login(people["operator"])
    html = client.get(reverse("cases:desk_operator")).content.decode()
    for allowed in (Channel.HOTLINE, Channel.CITY_PLATFORM, Channel.WEB):
        assert f'<option value="{allowed}"' in html
    for refused in (Channel.INSPECTOR, Channel.IOT, Channel.API):
        assert f'<option value="{refused}"' not in html


@pytest.mark.parametrize("channel", [Channel.INSPECTOR, Channel.IOT])
def test_intake_through_a_channel_of_another_role_is_refused_with_the_apis_message(client, people, channel):
    from cityops.cases.services import channel_refusal

    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), {
        "channel": channel, "case_type": "consult", "description": "冒用巡查员渠道登记",
    })
    assert response.status_code == 400
    assert channel_refusal(people["operator"]).message in response.content.decode()
    assert not Case.objects.filter(description="冒用巡查员渠道登记").exists()


def test_duplicates_of_the_new_case_are_offered_with_one_click_merge(client, people, category, monkeypatch):
    master = make_case(category=category, description="小区门口垃圾堆积")
    new = make_case(category=category, description="小区门口垃圾堆积没人管")
    monkeypatch.setattr(views, "duplicate_candidates", lambda **kw: [{"case": master, "distance_m": 12, "similarity": 0.6, "score": 0.7}])
    client.force_login(people["operator"])
    html = client.get(reverse("cases:desk_operator"), {"created": new.number}).content.decode()
    assert "疑似重复" in html and f'name="master" value="{master.number}"' in html
    response = client.post(reverse("cases:action", args=[new.number, "merge"]), {"version": new.version, "master": master.number})
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.status == Status.CLOSED and new.master == master


def test_category_suggestions_for_the_typed_description(client, people, category):
    from cityops.catalog.selectors import suggestion_index_changed

    suggestion_index_changed()
    client.force_login(people["operator"])
    html = client.get(reverse("cases:suggest_categories"), {"description": f"这里有{category.name}的问题"}).content.decode()
    assert f'data-pick-category="{category.code}"' in html
    empty = client.get(reverse("cases:suggest_categories"), {"description": ""}).content.decode()
    assert "data-pick-category" not in empty


def test_callback_queue_lists_closed_cases_without_satisfaction(client, people, category, department):
    from cityops.cases.workflow import case_transition
    from cityops.testing.workflow import responded

    case = responded(people, category, department)
    case = case_transition(case=case, action="verify", actor=people["dispatcher"], data={"passed": True})
    client.force_login(people["operator"])
    html = client.get(reverse("cases:desk_operator"), {"tab": "callback"}).content.decode()
    assert case.number in html and 'data-action-loader="callback"' in html
