import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import CaseEvent
from cityops.cases.states import Status
from cityops.cases.tests.factories import LeafCategoryFactory, make_case
from cityops.cases.workflow import case_transition
from cityops.routing import services
from cityops.routing.models import AutoDispatchExclusion, RoutingModel, RoutingSettings

SCHOOL = "学校老师周末违规补课收费，学生家长反映多次，请教育部门尽快处理"


@pytest.fixture
def operator(db):
    return UserFactory(role="operator")


def _register(case, operator, capture, category=None):
    with capture(execute=True):
        case_transition(case=case, action="register", actor=operator, data={"category": category} if category else {})
    case.refresh_from_db()
    return case


@pytest.mark.parametrize("text", ["", "好", "😀😀😀😀", "？？？", "x" * 50_000, "字" * 50_000, None])
def test_garbage_never_crashes(active_model, text):
    prediction = services.predict(text)
    assert prediction.model_version == active_model.version
    if text is None or len(text) < 10:
        assert prediction.garbage


def test_predict_without_a_model_is_empty(db):
    prediction = services.predict("学校乱收费")
    assert prediction.top3 == [] and prediction.model_version is None


def test_predict_normalises_traditional_characters(active_model):
    assert services.predict("學校老師違規補課收費").top[0] == "H03"


def test_confident_registered_case_is_auto_dispatched_by_the_router(hotline, active_model, operator, django_capture_on_commit_callbacks):
    case = make_case(category=hotline["leaves"]["H03"], description=SCHOOL)
    case = _register(case, operator, django_capture_on_commit_callbacks)
    assert case.status == Status.DISPATCHED
    assert case.department == hotline["departments"]["H03"]
    event = CaseEvent.objects.get(case=case, action="dispatch")
    assert event.actor is None and event.actor_label == "智能分拨"
    assert event.payload["route"] == "auto"
    assert event.payload["department"] == "jiaoyu"
    assert event.payload["confidence"] >= active_model.threshold
    assert "权责清单" in event.payload["rule"]
    assert f"v{active_model.version}" in event.note


def test_no_auto_dispatch_below_the_threshold(hotline, active_model, operator, django_capture_on_commit_callbacks):
    model = RoutingModel.objects.get(pk=active_model.pk)
    model.threshold = 1.01
    model.save()
    case = _register(make_case(category=hotline["leaves"]["H03"], description=SCHOOL), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED
    proposal = services.route(case)
    assert not proposal.confident and not proposal.auto
    assert proposal.department == hotline["departments"]["H03"]  # still suggested to the dispatcher
    assert next(c.code for c in proposal.top3) == "H03"


def test_no_auto_dispatch_when_disabled_globally(hotline, active_model, operator, django_capture_on_commit_callbacks):
    RoutingSettings(auto_dispatch_enabled=False).save()
    case = _register(make_case(category=hotline["leaves"]["H03"], description=SCHOOL), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED
    assert services.route(case).why_not_auto == "自动派遣已关闭。"


def test_no_auto_dispatch_for_an_excluded_category(hotline, active_model, operator, django_capture_on_commit_callbacks):
    AutoDispatchExclusion.objects.create(category=hotline["leaves"]["H03"].parent.parent, reason="教育件人工把关")
    case = _register(make_case(category=hotline["leaves"]["H03"], description=SCHOOL), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED
    assert "不自动派遣" in services.route(case).why_not_auto


def test_no_auto_dispatch_when_the_model_disagrees_with_the_category(hotline, active_model, operator, django_capture_on_commit_callbacks):
    case = _register(make_case(category=hotline["leaves"]["H01"], description=SCHOOL), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED
    proposal = services.route(case)
    assert proposal.agrees is False and not proposal.auto
    assert proposal.department == hotline["departments"]["H01"]  # the registered category decides the matrix line
    assert any("不一致" in note for note in proposal.notes)


def test_no_auto_dispatch_outside_the_model_label_space(hotline, active_model, operator, django_capture_on_commit_callbacks):
    urban = LeafCategoryFactory()  # an urban 事件 category the hotline model does not know
    case = _register(make_case(category=urban, description=SCHOOL), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED
    assert "分类体系" in services.route(case).why_not_auto


def test_no_auto_dispatch_on_garbage_text(hotline, active_model, operator, django_capture_on_commit_callbacks):
    case = _register(make_case(category=hotline["leaves"]["H03"], description="😀😀"), operator, django_capture_on_commit_callbacks)
    assert case.status == Status.REGISTERED


def test_proposal_for_an_unclassified_case_uses_the_predicted_category(hotline, active_model):
    case = make_case(description=SCHOOL)
    proposal = services.route(case)
    assert proposal.category.code == "H03"
    assert proposal.department == hotline["departments"]["H03"]
    assert proposal.top.name == "教育文体"
    assert not proposal.auto  # only registered cases are dispatched


def test_settings_target_precision_moves_the_threshold_along_the_stored_curve(hotline, active_model):
    case = make_case(category=hotline["leaves"]["H03"], description=SCHOOL)
    assert services.route(case).threshold == pytest.approx(active_model.threshold)
    RoutingSettings(target_precision=0.999).save()
    stricter = services.route(case).threshold
    assert stricter >= active_model.threshold
