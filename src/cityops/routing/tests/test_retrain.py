"""The demo's first model (leaf categories from the demo history), the daily `retrain_if_due`,
and the schedule: every job resolves to something callable."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition
from cityops.desks.demo_history import demo_history_ensure
from cityops.routing.history import history_dataset
from cityops.routing.models import RoutingModel
from cityops.routing.services import auto_dispatch, demo_model_ensure, leaf_suggestions, retrain_if_due
from cityops.routing.tests.support import DEMO_LEAVES

HEATING = "小区5号楼2单元家里的暖气不热，温度只有十几度，请尽快处理。"
# The synthetic history follows the working calendar and the time of day, so a history ending
# "now" differs from day to day, and a model trained on this fixture's few 小类 ranged from 0 %
# to 98 % auto-dispatch coverage. Tests that judge the model itself load a history ending at a
# fixed moment (a plain Wednesday); the retrain tests need one ending now.
FIXED_END = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _demo_model(days=20, per_day=40, now=None):
    demo_history_ensure(days=days, per_day=per_day, rebuild=False, now=now)
    return demo_model_ensure()


def test_the_demo_model_predicts_leaf_categories_and_is_trained_once(demo_district):
    model = _demo_model(now=FIXED_END)
    assert model.active and set(model.classes) == set(DEMO_LEAVES)
    suggestions = leaf_suggestions(HEATING)
    assert [s.category.code for s in suggestions][:1] == ["H010208"]
    assert len(suggestions) == 3 and suggestions[0].probability > suggestions[1].probability
    assert demo_model_ensure() is None and RoutingModel.objects.count() == 1


def test_the_demo_model_auto_dispatches_a_confident_registered_case(demo_district):
    from cityops.accounts.models import User

    _demo_model(now=FIXED_END)
    case = make_case(description=HEATING)
    case = case_transition(case=case, action=Action.REGISTER, actor=User.objects.get(username="operator"), data={"category": "H010208"})
    dispatched = auto_dispatch(case)
    assert dispatched is not None and dispatched.status == Status.DISPATCHED
    assert dispatched.department.code == "zhujian"
    assert dispatched.events.get(action=Action.DISPATCH).payload["route"] == "auto"


def test_retrain_if_due_skips_until_the_interval_and_the_new_labels_are_there(demo_district, settings):
    settings.CITYOPS_RETRAIN_ALGORITHM = "char13_svc_oof"
    settings.CITYOPS_RETRAIN_INTERVAL_DAYS = 7
    settings.CITYOPS_RETRAIN_MIN_NEW_LABELS = 50
    first = _demo_model(days=16, per_day=30)
    fresh = retrain_if_due()
    assert fresh["retrained"] is False and "未满" in fresh["reason"]
    quiet = retrain_if_due(now=timezone.now() + timedelta(days=8))
    assert quiet["retrained"] is False and "少于" in quiet["reason"]
    assert RoutingModel.objects.count() == 1
    # The model was trained eight days ago: the cases dispatched since are new labels.
    RoutingModel.objects.update(created_at=timezone.now() - timedelta(days=8))
    due = retrain_if_due()
    assert due["retrained"] is True and due["new_labels"] >= 50
    assert due["version"] == first.version + 1 and due["active"] is True
    assert RoutingModel.objects.get(active=True).version == due["version"]
    assert "自动重训" in RoutingModel.objects.get(version=due["version"]).note


def test_retrain_learns_the_operators_correction_of_the_suggestion(demo_district, settings):
    settings.CITYOPS_RETRAIN_ALGORITHM = "char13_svc_oof"
    _demo_model(days=12, per_day=30)
    from cityops.accounts.models import User

    operator, dispatcher = User.objects.get(username="operator"), User.objects.get(username="dispatcher")
    case = make_case(description="公司拖欠我的暖气费补贴和三个月工资")  # the model says 工资 (H020306) …
    case = case_transition(case=case, action=Action.REGISTER, actor=operator, data={"category": "H010208"})  # … the operator: 采暖
    case_transition(case=case, action=Action.DISPATCH, actor=dispatcher, data={"department": "zhujian"})
    result = retrain_if_due(force=True)
    assert result["retrained"] and result["registered"] == 1 and result["corrections"] == 1
    data, _ = history_dataset(level="leaf")
    assert dict(zip(data.ids, data.labels, strict=True))[case.number] == "H010208"


def test_retrain_keeps_a_model_an_administrator_trained_from_a_csv(demo_district, settings, trained):
    from cityops.routing import registry

    settings.CITYOPS_RETRAIN_ALGORITHM = "char13_svc_oof"
    demo_history_ensure(days=10, per_day=30, rebuild=False)
    csv_model = registry.model_save(trained, source="public.csv", activate=True)
    result = retrain_if_due(force=True)
    assert result["retrained"] and result["active"] is False and "CSV" in result["verdict"]
    assert RoutingModel.objects.get(active=True).pk == csv_model.pk


def test_every_scheduled_job_resolves_to_a_callable():
    from cityops.ops import tasks  # noqa: F401  (registers the Celery tasks)
    from cityops.ops.scheduler import beat_schedule, periodic_jobs
    from cityops.routing.services import retrain_if_due
    from config.celery import app

    jobs = {job.name: job for job in periodic_jobs()}  # what the in-process scheduler runs
    assert set(jobs) == set(beat_schedule())
    for name, job in jobs.items():
        assert callable(job.func), name
    assert jobs["retrain"].func is retrain_if_due
    for name, entry in beat_schedule().items():  # what Celery beat sends
        assert entry["task"] in app.tasks and callable(app.tasks[entry["task"]]), name


def test_the_retrain_job_runs_retrain_if_due(db):
    from cityops.ops.scheduler import run_periodic

    result = run_periodic("retrain")
    assert "skipped" not in result and result["retrained"] is False and result["reason"]


def test_leaf_suggestions_of_a_model_of_top_level_classes_are_keyword_matched_leaves(hotline, active_model):
    from cityops.catalog.selectors import suggestion_index_changed

    suggestion_index_changed()
    school = "学校老师周末违规补课收费，学生家长反映多次 教育文体小类"
    assert [s.category.code for s in leaf_suggestions(school)][:1] == ["H030101"]
    assert leaf_suggestions("😀😀") == []


def test_leaf_suggestions_are_empty_without_a_model(db):
    assert leaf_suggestions("路灯不亮") == []
