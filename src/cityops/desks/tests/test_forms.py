"""The desk forms ask the domain's rules instead of keeping their own copies."""

from cityops.cases.selectors import LIST_FILTER_PARAMS
from cityops.cases.services import LOCATION_OPTIONAL
from cityops.desks.forms import CaseFilterForm, IntakeForm


def test_the_case_list_filter_form_takes_exactly_the_list_filter_params():
    # analytics builds its drill-down links to /cases/ from LIST_FILTER_PARAMS
    assert set(CaseFilterForm.base_fields) == LIST_FILTER_PARAMS


def test_the_hotline_form_and_the_import_ask_one_set_of_types_without_location():
    from cityops.intake import import_checks

    assert IntakeForm.LOCATION_OPTIONAL is LOCATION_OPTIONAL
    assert import_checks.LOCATION_OPTIONAL is LOCATION_OPTIONAL


def test_a_service_refusal_given_as_a_machine_code_is_shown_as_its_message_on_the_field():
    from django import forms

    from cityops.cases.errors import ValidationFailed
    from cityops.desks.views import _form_errors

    class ChannelForm(forms.Form):
        channel = forms.CharField()

    form = ChannelForm(data={"channel": "inspector"})
    form.is_valid()
    _form_errors(form, ValidationFailed("您的角色不能使用该来源渠道，可用：hotline（热线）。", {"channel": "not_allowed"}))
    assert form.errors["channel"] == ["您的角色不能使用该来源渠道，可用：hotline（热线）。"]
