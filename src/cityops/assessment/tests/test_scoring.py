"""Grades, weights validation, composite scores and the weights form of the admin."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cityops.assessment.indicators import DEFAULT_WEIGHTS, Kind, grade, indicators_for
from cityops.assessment.models import AssessmentScheme
from cityops.assessment.scoring import composite, scheme_for, scheme_save, validate_weights


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, "A"), (90, "A"), ("89.9", "B"), (75, "B"), ("74.9", "C"), (60, "C"), ("59.9", "D"),
        (40, "D"), ("39.9", "E"), (0, "E"), (None, None),
    ],
)
def test_grade_boundaries(score, expected):
    assert grade(Decimal(score) if isinstance(score, str) else score) == expected


def test_default_weights_sum_to_100_and_name_scored_indicators():
    for kind in Kind:
        clean = validate_weights(kind, DEFAULT_WEIGHTS[kind])
        assert {code: w for code, w in clean.items() if w} == DEFAULT_WEIGHTS[kind]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"valid_report_rate": 60, "verify_on_time_rate": 30}, "合计须为 100，当前合计 90"),
        ({"valid_report_rate": 70, "verify_on_time_rate": 40}, "当前合计 110"),
        ({"valid_report_rate": 110, "verify_on_time_rate": -10}, "不能为负数"),
        ({"valid_report_rate": "六十", "verify_on_time_rate": 40}, "须为整数"),
        ({"valid_report_rate": 59.5, "verify_on_time_rate": 40.5}, "须为整数"),
        ({"valid_report_rate": 60, "bogus": 40}, "未知指标：bogus"),
        ({"valid_report_rate": 60, "reports": 40}, "未知指标：reports"),  # a count, not scored
        ({}, "请为每项指标填写权重"),
        ("60,40", "请为每项指标填写权重"),
        (None, "请为每项指标填写权重"),
        ({"valid_report_rate": None, "verify_on_time_rate": ""}, "全部为 0"),
    ],
)
def test_weights_that_do_not_validate_give_a_chinese_message(weights, message):
    with pytest.raises(ValidationError) as exc:
        validate_weights(Kind.INSPECTOR, weights)
    assert message in exc.value.messages[0]


def test_weights_accept_numeric_strings_and_fill_missing_codes_with_zero():
    assert validate_weights("inspector", {"valid_report_rate": "100"}) == {"valid_report_rate": 100, "verify_on_time_rate": 0}


def test_unknown_kind_is_a_validation_error():
    with pytest.raises(ValidationError, match="考核对象"):
        validate_weights("mayor", {"x": 100})


def test_composite_reweights_over_indicators_with_data():
    items = indicators_for(Kind.DISPATCHER)
    values = {"dispatch_accuracy_rate": Decimal("90.0"), "dispatch_on_time_rate": Decimal("80.0"), "verify_on_time_rate": None}
    result = composite(items, values, DEFAULT_WEIGHTS[Kind.DISPATCHER])
    assert result.score == Decimal("86.3")  # (50×90 + 30×80) / 80 = 86.25
    assert (result.weight_used, result.missing) == (80, ["按期核查率"])
    assert composite(items, dict.fromkeys(values), DEFAULT_WEIGHTS[Kind.DISPATCHER]).score is None


def test_lower_is_better_enters_as_100_minus_rate():
    items = indicators_for(Kind.DEPARTMENT)
    result = composite(items, {"return_rate": Decimal("12.5")}, {"return_rate": 100})
    assert result.score == Decimal("87.5")


@pytest.mark.django_db
def test_stored_scheme_is_used_and_a_broken_one_falls_back_with_a_message():
    scheme_save(kind=Kind.INSPECTOR, weights={"valid_report_rate": 30, "verify_on_time_rate": 70})
    assert scheme_for(Kind.INSPECTOR).weights == {"valid_report_rate": 30, "verify_on_time_rate": 70}
    assert scheme_for(Kind.INSPECTOR).custom
    AssessmentScheme.objects.filter(kind=Kind.INSPECTOR).update(weights={"valid_report_rate": 30})
    broken = scheme_for(Kind.INSPECTOR)
    assert broken.weights == DEFAULT_WEIGHTS[Kind.INSPECTOR] and "合计须为 100" in broken.problem
    assert not broken.custom
    with pytest.raises(ValidationError):
        scheme_save(kind=Kind.INSPECTOR, weights={"valid_report_rate": 30})


@pytest.mark.django_db
def test_admin_weights_form_rejects_a_bad_sum_with_a_message(client):
    from cityops.accounts.tests.factories import UserFactory
    from cityops.assessment.scoring import schemes_ensure

    schemes_ensure()
    admin = UserFactory(role="sysadmin")
    client.force_login(admin)
    scheme = AssessmentScheme.objects.get(kind=Kind.DISPATCHER)
    url = f"/admin/assessment/assessmentscheme/{scheme.pk}/change/"
    assert client.get("/admin/assessment/assessmentscheme/").status_code == 200
    page = client.get(url)
    assert page.status_code == 200 and "准确派遣率" in page.content.decode()
    bad = client.post(url, {"w_dispatch_accuracy_rate": "50", "w_dispatch_on_time_rate": "30", "w_verify_on_time_rate": "30", "note": ""})
    assert bad.status_code == 200 and "合计须为 100，当前合计 110" in bad.content.decode()
    good = client.post(url, {"w_dispatch_accuracy_rate": "60", "w_dispatch_on_time_rate": "20", "w_verify_on_time_rate": "20", "note": "试行"})
    assert good.status_code == 302
    scheme.refresh_from_db()
    assert scheme.weights == {"dispatch_accuracy_rate": 60, "dispatch_on_time_rate": 20, "verify_on_time_rate": 20}
    assert scheme.updated_by == admin
