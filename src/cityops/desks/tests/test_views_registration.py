"""The registration desk: category hints on the 立案 form, the searchable picker, 受理并立案 in one step."""

import pytest
from django.urls import reverse

from cityops.cases.models import Case, CaseEvent, Channel
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import LeafCategoryFactory, make_case
from cityops.desks import presenters

pytestmark = pytest.mark.django_db


@pytest.fixture
def manhole(db):
    from cityops.catalog.selectors import suggestion_index_changed

    category = LeafCategoryFactory(name="井盖破损", keywords="井盖 窨井")
    suggestion_index_changed()
    return category


def _register_form(client, case) -> str:
    response = client.get(reverse("cases:action", args=[case.number, "register"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_register_form_of_an_uncategorised_case_offers_leaf_category_chips(client, people, manhole):
    case = make_case(category=None, channel=Channel.WEB, description="小区门口井盖破损，晚上很危险")
    client.force_login(people["operator"])
    html = _register_form(client, case)
    assert "建议分类" in html and f'data-pick-category="{manhole.code}"' in html


def test_register_form_of_a_categorised_case_offers_no_chips(client, people, manhole, category):
    case = make_case(category=category, description="小区门口井盖破损")
    client.force_login(people["operator"])
    assert "建议分类" not in _register_form(client, case)


def test_register_hints_put_the_models_leaf_prediction_first(people, manhole, category, monkeypatch):
    import cityops.routing.services as routing

    monkeypatch.setattr(routing, "leaf_suggestions", lambda text, k=3: [routing.LeafSuggestion(category, 0.81)])
    case = make_case(category=None, description="小区门口井盖破损")
    hints = presenters.register_suggestions(case)
    assert [(h.category.code, h.source) for h in hints[:2]] == [(category.code, "model"), (manhole.code, "keywords")]
    assert hints[0].probability == pytest.approx(0.81)


def test_register_hints_survive_a_failing_model(people, manhole, monkeypatch):
    import cityops.routing.services as routing

    def broken(text):
        raise RuntimeError("model file missing")

    monkeypatch.setattr(routing, "active_model", broken)
    case = make_case(category=None, description="井盖破损")
    assert [h.category.code for h in presenters.register_suggestions(case)] == [manhole.code]


def test_category_selects_are_marked_for_the_searchable_picker(client, people, category):
    case = make_case(category=None, description="路灯不亮")
    client.force_login(people["operator"])
    assert 'data-category-picker="1"' in _register_form(client, case)
    desk = client.get(reverse("cases:desk_operator")).content.decode()
    assert 'data-category-picker="1"' in desk and "category_picker.js" in desk and "受理并立案" in desk


def _intake(category_code: str = "") -> dict:
    return {
        "channel": Channel.HOTLINE, "case_type": "consult", "description": "咨询燃气开户需要哪些材料",
        "category": category_code, "reporter_phone": "13700002222", "urgency": "", "and_register": "1",
    }


def test_intake_and_register_registers_the_call_in_one_step(client, people, category):
    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), _intake(category.code))
    assert response.status_code == 302
    case = Case.objects.get(description="咨询燃气开户需要哪些材料")
    assert case.status == Status.REGISTERED and case.registered_at is not None
    assert list(case.events.values_list("action", flat=True)) == [Action.CREATE, Action.REGISTER]


def test_intake_and_register_without_a_category_keeps_the_input_and_creates_nothing(client, people):
    client.force_login(people["operator"])
    response = client.post(reverse("cases:desk_operator"), _intake(""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "请选择分类后再受理并立案" in html and "咨询燃气开户需要哪些材料" in html
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_case_page_shows_the_chips_on_the_register_form_only(client, people, manhole):
    case = make_case(category=None, channel=Channel.WEB, description="井盖破损")
    client.force_login(people["operator"])
    html = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert html.count("register-suggestions") == 1
    register_form = html.split('data-action="register"', 1)[1].split("</form>", 1)[0]
    assert f'data-pick-category="{manhole.code}"' in register_form
