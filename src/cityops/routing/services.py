"""Predict, route and auto-dispatch.

* `predict(text)` → the active model's top-3 categories with probabilities.
* `route(case)` → the top-3, the department the 权责清单 gives (with the rule that applied) and
  whether the model is confident enough to dispatch without a person.
* `auto_dispatch(case)` → dispatches a registered case as the system ("智能分拨") when the
  policy allows it (see README.md "Auto-dispatch policy"); returns None otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from cityops.cases.errors import CaseError
from cityops.cases.models import Case
from cityops.cases.states import Status
from cityops.catalog.models import Category, DepartmentKind
from cityops.catalog.selectors import Assignment, category_ancestors, responsible_department
from cityops.routing.labels import category_names
from cityops.routing.models import AutoDispatchExclusion, RoutingSettings
from cityops.routing.registry import LoadedModel, active_model
from cityops.routing.text import is_garbage

logger = logging.getLogger(__name__)

SYSTEM_LABEL = "智能分拨"
MAX_INPUT_CHARS = 50_000  # anything longer is cut before normalisation


@dataclass(frozen=True)
class Prediction:
    """The model's top-3 (category code, probability), best first; empty without an active model."""

    top3: list[tuple[str, float]]
    model_version: int | None
    garbage: bool = False

    @property
    def top(self) -> tuple[str, float] | None:
        return self.top3[0] if self.top3 else None


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    probability: float

    @property
    def percent(self) -> str:
        return f"{self.probability:.0%}"


@dataclass(frozen=True)
class RoutingProposal:
    """What the router proposes for a case, and why (shown to operators and dispatchers)."""

    top3: list[Candidate]
    model_version: int | None
    threshold: float | None
    confident: bool  # top probability ≥ threshold on a text that is not garbage
    category: Category | None  # the category the department was looked up for
    assignment: Assignment | None
    rule: str  # the 权责清单 reason, or why there is no department
    agrees: bool | None  # the model's top class is the case's own (None: case unclassified or not covered)
    auto: bool = False  # the auto-dispatch policy would dispatch this case now
    why_not_auto: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def department(self):
        return self.assignment.lead if self.assignment is not None else None

    @property
    def top(self) -> Candidate | None:
        return self.top3[0] if self.top3 else None


def case_text(case: Case) -> str:
    return "\n".join(part for part in (case.title, case.description) if part)


def predict(text: str | None, *, model: LoadedModel | None = None) -> Prediction:
    """Top-3 categories for a text. Never raises on odd input: empty, emoji-only or huge texts
    get a prediction flagged `garbage` (never confident) or an empty one."""
    model = model or active_model()
    text = "" if text is None else str(text)[:MAX_INPUT_CHARS]
    garbage = is_garbage(text)
    if model is None:
        return Prediction([], None, garbage)
    try:
        top3 = model.router.top(text, 3)
    except Exception:  # a broken artifact must not take the desks down
        logger.exception("routing model v%s failed to predict", model.version)
        return Prediction([], model.version, True)
    return Prediction(top3, model.version, garbage)


def covered_class(category: Category | None, classes) -> str | None:
    """The model class (category code) the category falls under, or None if the model's label
    space does not cover it (e.g. an urban 部件/事件 category for a model of 12345 classes)."""
    if category is None:
        return None
    wanted = set(classes)
    for node in category_ancestors(category):
        if node.code in wanted:
            return node.code
    return None


def _assignment(category: Category | None, case: Case) -> tuple[Assignment | None, str]:
    if category is None:
        return None, "没有可用的分类，无法按权责清单匹配。"
    on_date: date = timezone.localtime(case.created_at).date() if case.created_at else timezone.localdate()
    try:
        assignment = responsible_department(category, case.street, on_date)
    except Exception as exc:  # reference data incomplete: a person decides
        return None, f"无法匹配权责清单：{exc}"
    return assignment, assignment.reason


def _excluded(category: Category) -> bool:
    ids = [node.pk for node in category_ancestors(category)]
    return AutoDispatchExclusion.objects.filter(category_id__in=ids).exists()


def route(case: Case, *, settings: RoutingSettings | None = None, model: LoadedModel | None = None) -> RoutingProposal:
    """The router's proposal for a case: top-3, department by the matrix, confidence, auto-dispatch verdict."""
    model = model or active_model()
    settings = settings or RoutingSettings.load()
    prediction = predict(case_text(case), model=model)
    names = category_names([code for code, _ in prediction.top3])
    top3 = [Candidate(code, names.get(code, code), round(p, 4)) for code, p in prediction.top3]
    threshold = model.threshold_for(settings.target_precision) if model is not None else None
    top = prediction.top
    confident = bool(top and threshold is not None and not prediction.garbage and top[1] >= threshold)

    notes: list[str] = []
    classes = model.router.classes if model is not None else []
    own = covered_class(case.category, classes) if case.category_id else None
    agrees: bool | None = None
    if case.category_id is not None:
        category = case.category
        if own is not None and top is not None:
            agrees = own == top[0]
            if not agrees:
                notes.append(f"模型预测为 {top3[0].code} {top3[0].name}，与登记分类不一致，请核对。")
    else:
        category = Category.objects.filter(code=top[0]).first() if top else None
        if category is not None:
            notes.append(f"案件未分类，按模型预测的 {category.code} {category.name} 匹配权责清单。")
    assignment, rule = _assignment(category, case)
    if assignment is not None and assignment.lead.kind == DepartmentKind.CENTER:
        notes.append("权责清单与属地均无匹配，需人工指定部门。")

    why = _why_not_auto(case, settings, model, prediction, confident, own, agrees, assignment)
    return RoutingProposal(
        top3=top3, model_version=prediction.model_version, threshold=threshold, confident=confident, category=category,
        assignment=assignment, rule=rule, agrees=agrees, auto=why == "", why_not_auto=why, notes=notes,
    )


def _why_not_auto(case, settings, model, prediction, confident, own, agrees, assignment) -> str:
    """Empty when the policy allows auto-dispatch; otherwise the first reason it does not."""
    if not settings.auto_dispatch_enabled:
        return "自动派遣已关闭。"
    if model is None:
        return "没有启用的分拨模型。"
    if case.status != Status.REGISTERED:
        return "只有已立案、尚未派遣的案件才会自动派遣。"
    if case.category_id is None:
        return "案件未分类。"
    if own is None:
        return "该分类不在模型的分类体系内（如数字城管部件/事件），由派遣员派遣。"
    if prediction.garbage:
        return "案件描述过短或无有效文字。"
    if not confident:
        top = prediction.top
        return f"置信度 {top[1]:.0%} 低于阈值。" if top else "模型没有给出预测。"
    if not agrees:
        return "模型预测与登记分类不一致。"
    if _excluded(case.category):
        return "该分类已设置为不自动派遣。"
    if assignment is None:
        return "权责清单没有匹配的部门。"
    if assignment.lead.kind == DepartmentKind.CENTER or not assignment.lead.active:
        return "权责清单与属地均无匹配的处置部门。"
    return ""


def auto_dispatch(case: Case) -> Case | None:
    """Dispatch a registered case as 智能分拨 if the policy allows it; None when a person must decide.

    The event records route=auto, the confidence, the proposal and the matrix rule, and the
    model version in its note. A concurrent human action wins (Conflict is swallowed)."""
    proposal = route(case)
    if not proposal.auto:
        return None
    from cityops.cases.workflow import case_transition

    department = proposal.department
    top = proposal.top
    note = (
        f"智能分拨：模型 v{proposal.model_version} 预测 {top.code} {top.name}（置信度 {top.probability:.1%}，"
        f"阈值 {proposal.threshold:.1%}），与登记分类一致，按权责清单派遣。"
    )
    data = {
        "department": department.code, "route": "auto", "proposal": department.code,
        "confidence": round(top.probability, 4), "rule": proposal.rule, "note": note,
    }
    try:
        return case_transition(case=case, action="dispatch", actor=None, system_label=SYSTEM_LABEL, data=data)
    except CaseError as exc:
        logger.info("auto-dispatch of %s skipped: %s", case.number, exc)
        return None


def proposals_for(cases) -> dict[int, RoutingProposal]:
    """Proposals for a page of cases (one model and settings lookup); empty without an active model.

    For the desks: a failure here must never break the page, so errors leave a case out."""
    try:
        model = active_model()
    except Exception:
        logger.exception("loading the routing model failed")
        return {}
    if model is None:
        return {}
    settings = RoutingSettings.load()
    out: dict[int, RoutingProposal] = {}
    for case in cases:
        try:
            out[case.pk] = route(case, settings=settings, model=model)
        except Exception:
            logger.exception("routing proposal failed for %s", case.number)
    return out


def text_suggestions(text: str) -> list[dict]:
    """For the intake form: the model's top-3 classes, each with its leaf (the chip the operator clicks
    to confirm): the class itself for a leaf-level model, else the best keyword-matched leaf under it.
    Empty without an active model or on garbage text. (`leaf_suggestions` gives leaves only.)"""
    from cityops.catalog.selectors import suggest_categories

    try:
        prediction = predict(text)
    except Exception:
        logger.exception("routing prediction failed")
        return []
    if not prediction.top3 or prediction.garbage:
        return []
    names = category_names([code for code, _ in prediction.top3])
    # A leaf-level model's classes are leaves themselves; a model of 一级 classes gets the best
    # keyword-matched leaf under each class.
    own_leaves = {c.code: c for c in Category.objects.filter(code__in=[code for code, _ in prediction.top3], children__isnull=True)}
    leaves = []
    if len(own_leaves) < len(prediction.top3):
        try:
            leaves = suggest_categories(text, limit=30)
        except Exception:
            leaves = []
    out = []
    for code, probability in prediction.top3:
        leaf = own_leaves.get(code) or next((s.category for s in leaves if s.category.code.startswith(code)), None)
        out.append({"code": code, "name": names.get(code, code), "probability": probability, "leaf": leaf})
    return out


# ---------------------------------------------------------------- top-k leaf categories (立案 desk)


@dataclass(frozen=True)
class LeafSuggestion:
    """A leaf category (小类) the operator can register the case under, with the model's probability."""

    category: Category
    probability: float

    @property
    def percent(self) -> str:
        return f"{self.probability:.0%}"


def leaf_suggestions(text: str | None, k: int = 3) -> list[LeafSuggestion]:
    """The model's top-k leaf categories for a text, best first — what the 立案 form offers.

    With a leaf-level model (the demo's and every `retrain_if_due` model) these are its own
    classes; with an older model of 一级 classes each class is replaced by the best
    keyword-matched leaf under it (classes without one are left out). Empty without an active
    model or on garbage text; never raises."""
    from cityops.catalog.selectors import suggest_categories

    try:
        model = active_model()
        if model is None:
            return []
        text = "" if text is None else str(text)[:MAX_INPUT_CHARS]
        if is_garbage(text):
            return []
        ranked = model.router.top(text, max(k, 3))
    except Exception:
        logger.exception("routing prediction failed")
        return []
    own = {c.code: c for c in Category.objects.filter(code__in=[code for code, _ in ranked], active=True, children__isnull=True)}
    keyword_leaves = None
    out: list[LeafSuggestion] = []
    for code, probability in ranked:
        leaf = own.get(code)
        if leaf is None:  # a model of 一级 classes: the best keyword-matched leaf under the class
            if keyword_leaves is None:
                try:
                    keyword_leaves = suggest_categories(text, limit=30)
                except Exception:
                    keyword_leaves = []
            leaf = next((s.category for s in keyword_leaves if s.category.code.startswith(code)), None)
        if leaf is not None and all(s.category.pk != leaf.pk for s in out):
            out.append(LeafSuggestion(leaf, probability))
        if len(out) >= k:
            break
    return out


# ---------------------------------------------------------------- training from the dispatch history

# The first model of a fresh demo, trained inside `cityops demo` (≤ a few seconds on 2 cores):
# a linear SVM on character 1–3-grams (no NB-SVM stack), 2 cross-validation folds to choose the
# threshold and 2 for the probability calibration, the latest 60 cases of each 小类, no
# near-duplicate grouping of the folds (the synthetic texts come from shared templates). Retraining (`retrain_if_due`) uses the full history and
# CITYOPS_RETRAIN_ALGORITHM (default: the default model). See README.md "Learning from the floor".
DEMO_TRAINING = {"algorithm": "char13_svc_oof", "n_folds": 2, "calibration_folds": 2, "per_class": 60, "group_duplicates": False}
HISTORY_SOURCE = "案件历史"


def _cap_per_class(data, per_class: int | None, seed: int = 0):
    """At most `per_class` texts of each label (the most recent ones: ids are case numbers by date)."""
    from cityops.routing.training import Dataset

    if not per_class:
        return data
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    keep = sorted(i for rows in by_label.values() for i in sorted(rows, key=lambda i: data.ids[i])[-per_class:])
    return Dataset([data.texts[i] for i in keep], [data.labels[i] for i in keep], [data.ids[i] for i in keep], data.skipped, data.source)


def train_from_history(
    *, algorithm: str | None = None, n_folds: int = 5, calibration_folds: int = 5, per_class: int | None = None, since=None,
    group_duplicates: bool = True, activate: bool = False, note: str = "", actor=None, progress=None,
):
    """Train a leaf-category model on the dispatch history (see `history.history_dataset`), store it
    as the next version and activate it if asked. Returns (RoutingModel, TrainResult, HistoryReport);
    raises TrainingDataError when the history cannot train a model."""
    from cityops.routing.history import history_dataset
    from cityops.routing.pipeline import DEFAULT_ALGORITHM
    from cityops.routing.registry import model_save
    from cityops.routing.training import train

    data, report = history_dataset(level="leaf", since=since)
    data = _cap_per_class(data, per_class)
    data.source = HISTORY_SOURCE
    result = train(data, algorithm=algorithm or DEFAULT_ALGORITHM, n_folds=n_folds, group_duplicates=group_duplicates,
                   calibration_folds=calibration_folds, target_precision=RoutingSettings.load().target_precision, progress=progress)
    result.metrics["level"] = "leaf"
    model = model_save(result, source=HISTORY_SOURCE, actor=actor, activate=activate, note=note)
    return model, result, report


def demo_model_ensure(*, progress=None):
    """`cityops demo`: train and activate the first model from the demo's history, unless a model
    already exists (never replaces one). Returns the new RoutingModel or None."""
    from cityops.routing.models import RoutingModel
    from cityops.routing.training import TrainingDataError

    if RoutingModel.objects.exists():
        return None
    try:
        model, _result, _report = train_from_history(
            **DEMO_TRAINING, activate=True, note="演示：由合成的派遣历史训练（小类）", progress=progress,
        )
    except TrainingDataError as exc:
        logger.warning("demo routing model not trained: %s", exc)
        return None
    return model


def _setting(name: str, default):
    from django.conf import settings as django_settings

    return type(default)(getattr(django_settings, name, default))


def corrections_since(model: LoadedModel | None, since) -> tuple[int, int]:
    """(registered cases since `since`, how many of them the operator registered under another
    leaf category than the model's top suggestion) — the operators' corrections the next model
    learns from (their registered category is the label)."""
    from cityops.cases.models import CaseEvent
    from cityops.cases.states import Action

    events = CaseEvent.objects.filter(action=Action.REGISTER)
    if since is not None:
        events = events.filter(created_at__gt=since)
    rows = list(events.values_list("case__title", "case__description", "payload"))
    if model is None or not rows:
        return len(rows), 0
    classes = set(model.router.classes)
    texts = ["\n".join(p for p in (title, description) if p) for title, description, _ in rows]
    try:
        proba = model.router.predict_proba(texts)
    except Exception:
        logger.exception("routing model failed on the registered cases")
        return len(rows), 0
    top = [model.router.classes[i] for i in proba.argmax(axis=1)]
    corrected = sum(
        1 for predicted, (_, _, payload) in zip(top, rows, strict=True)
        if (payload or {}).get("category") in classes and (payload or {}).get("category") != predicted
    )
    return len(rows), corrected


def retrain_if_due(*, now=None, force: bool = False, activate: bool | None = None, progress=None) -> dict:
    """The daily `retrain` job (and `cityops routing retrain`): retrain the leaf model from the
    dispatch history when it is due, and say what was done.

    Due when there is no model yet, or when the newest model is at least
    `CITYOPS_RETRAIN_INTERVAL_DAYS` (default 7) old AND at least `CITYOPS_RETRAIN_MIN_NEW_LABELS`
    (default 200) cases were dispatched since it was trained — or always with `force`. The
    training set is every dispatched case of the last `CITYOPS_RETRAIN_WINDOW_DAYS` (default
    365) labelled with its final leaf category, so an operator's correction of the suggestion
    (another category at 立案) and a re-classification after a mis-dispatch are learnt.

    The new model becomes active (`CITYOPS_RETRAIN_ACTIVATE`, default on; `activate` overrides)
    when no model is active, or when the active one was also trained on the case history and
    the new one's cross-validated accuracy is not lower by more than `CITYOPS_RETRAIN_MAX_DROP`
    (default 0.02); a model trained from a CSV by an administrator is never replaced
    automatically. The returned dict is what the job records (`ops.JobRun.last_result`)."""
    from datetime import timedelta

    from django.conf import settings as django_settings

    from cityops.cases.models import CaseEvent
    from cityops.cases.states import Action
    from cityops.routing.models import RoutingModel
    from cityops.routing.training import TrainingDataError

    now = now or timezone.now()
    interval = timedelta(days=_setting("CITYOPS_RETRAIN_INTERVAL_DAYS", 7.0))
    min_new = _setting("CITYOPS_RETRAIN_MIN_NEW_LABELS", 200)
    window = timedelta(days=_setting("CITYOPS_RETRAIN_WINDOW_DAYS", 365.0))
    latest = RoutingModel.objects.defer("artifact").order_by("-version").first()
    since = latest.created_at if latest is not None else None
    dispatched = CaseEvent.objects.filter(action=Action.DISPATCH)
    if since is not None:
        dispatched = dispatched.filter(created_at__gt=since)
    new_labels = dispatched.values("case_id").distinct().count()
    loaded = active_model()
    registered, corrected = corrections_since(loaded, since)
    out: dict = {"new_labels": new_labels, "registered": registered, "corrections": corrected,
                 "latest_version": latest.version if latest else None}
    if not force and latest is not None:
        age = now - latest.created_at
        if age < interval:
            return {**out, "retrained": False, "reason": f"上次训练距今 {age.days} 天，未满 {interval.days} 天"}
        if new_labels < min_new:
            return {**out, "retrained": False, "reason": f"新增派遣 {new_labels} 件，少于 {min_new} 件"}
    try:
        model, result, report = train_from_history(
            algorithm=django_settings.CITYOPS_RETRAIN_ALGORITHM,
            since=now - window, note=f"自动重训：新增 {new_labels} 件，纠正 {corrected} 件", progress=progress,
        )
    except TrainingDataError as exc:
        return {**out, "retrained": False, "reason": str(exc)}
    current = RoutingModel.objects.filter(active=True).defer("artifact").first()
    wanted = _setting("CITYOPS_RETRAIN_ACTIVATE", True) if activate is None else activate
    accuracy = result.metrics.get("accuracy") or 0.0
    if not wanted:
        verdict = "未启用（设置为不自动启用）"
    elif current is None:
        verdict = "已启用（此前没有启用的模型）"
    elif current.source != HISTORY_SOURCE:
        verdict = f"未启用：当前模型 v{current.version} 由 CSV 训练，需管理员确认后启用"
    elif accuracy + _setting("CITYOPS_RETRAIN_MAX_DROP", 0.02) < ((current.metrics or {}).get("accuracy") or 0.0):
        verdict = f"未启用：准确率 {accuracy:.1%} 低于当前 v{current.version}"
    else:
        verdict = "已启用"
    if verdict.startswith("已启用"):
        from cityops.routing.registry import model_activate

        model = model_activate(model.version)
    RoutingModel.objects.filter(pk=model.pk).update(note=f"{model.note}；{verdict}"[:200])
    logger.info("routing retrain: v%s %s", model.version, verdict)
    return {
        **out, "retrained": True, "version": model.version, "active": verdict.startswith("已启用"), "verdict": verdict,
        "training_size": int(result.metrics.get("n", 0)),
        "accuracy": accuracy, "threshold": result.threshold, "left_out_unresolved": report.left_out_unresolved,
    }
