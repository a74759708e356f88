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
    """For the intake form: the model's top-3 classes, each with the best keyword-matched leaf under it
    (the chip the operator clicks to confirm). Empty without an active model or on garbage text."""
    from cityops.catalog.selectors import suggest_categories

    try:
        prediction = predict(text)
    except Exception:
        logger.exception("routing prediction failed")
        return []
    if not prediction.top3 or prediction.garbage:
        return []
    names = category_names([code for code, _ in prediction.top3])
    try:
        leaves = suggest_categories(text, limit=30)
    except Exception:
        leaves = []
    out = []
    for code, probability in prediction.top3:
        leaf = next((s.category for s in leaves if s.category.code.startswith(code)), None)
        out.append({"code": code, "name": names.get(code, code), "probability": probability, "leaf": leaf})
    return out
