"""Composite scores: the weights of each evaluated kind, their validation, and the score of one
subject from its indicator values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from cityops.assessment.indicators import DEFAULT_WEIGHTS, WEIGHT_TOTAL, Indicator, Kind, scored_indicators


def validate_weights(kind: str, weights: Any) -> dict[str, int]:
    """Clean `{indicator code: weight}` for `kind`: whole numbers ≥ 0 on scored indicators of
    that kind, summing to 100. Raises ValidationError with a message in Chinese; never crashes
    on odd input (strings, None, floats, unknown codes)."""
    try:
        kind = Kind(kind)
    except ValueError:
        raise ValidationError("请选择考核对象。") from None
    if not isinstance(weights, dict) or not weights:
        raise ValidationError("请为每项指标填写权重（整数），合计须为 100。")
    known = {i.code: i for i in scored_indicators(kind)}
    unknown = [str(code) for code in weights if code not in known]
    if unknown:
        names = "、".join(f"{i.code}（{i.name}）" for i in known.values())
        raise ValidationError(f"未知指标：{'、'.join(unknown)}。{kind.label}可用的指标：{names}。")
    clean: dict[str, int] = {}
    for code, raw in weights.items():
        name = known[code].name
        if raw in (None, ""):
            clean[code] = 0
            continue
        try:
            number = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError):
            raise ValidationError(f"“{name}”的权重须为整数。") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValidationError(f"“{name}”的权重须为整数。")
        if number < 0:
            raise ValidationError(f"“{name}”的权重不能为负数。")
        clean[code] = int(number)
    total = sum(clean.values())
    if total != WEIGHT_TOTAL:
        detail = " + ".join(f"{known[c].name} {w}" for c, w in clean.items() if w)
        raise ValidationError(f"各项权重合计须为 {WEIGHT_TOTAL}，当前合计 {total}（{detail or '全部为 0'}）。")
    return {code: clean.get(code, 0) for code in known}


@dataclass(frozen=True)
class Scheme:
    kind: str
    weights: dict[str, int]
    custom: bool  # False: the built-in defaults
    problem: str = ""  # a stored scheme that no longer validates: the defaults are used, and this says why


def scheme_for(kind: str) -> Scheme:
    """The weights in force for `kind`: the stored AssessmentScheme if valid, else the defaults."""
    from cityops.assessment.models import AssessmentScheme

    stored = AssessmentScheme.objects.filter(kind=kind).values_list("weights", flat=True).first()
    defaults = validate_weights(kind, DEFAULT_WEIGHTS[Kind(kind)])
    if stored is None:
        return Scheme(kind, defaults, custom=False)
    try:
        return Scheme(kind, validate_weights(kind, stored), custom=stored != defaults)
    except ValidationError as exc:
        return Scheme(kind, defaults, custom=False, problem=f"已保存的权重方案无效（{exc.messages[0]}），暂按默认权重计分。")


def scheme_save(*, kind: str, weights: Any, user=None, note: str = ""):
    """Validate and store the weights of `kind`; raises ValidationError (Chinese message)."""
    from cityops.assessment.models import AssessmentScheme

    clean = validate_weights(kind, weights)
    scheme, _ = AssessmentScheme.objects.update_or_create(
        kind=kind, defaults={"weights": clean, "note": note, "updated_by": user}
    )
    return scheme


def schemes_ensure() -> int:
    """Create the default scheme of every kind that has none (idempotent); returns how many."""
    from cityops.assessment.models import AssessmentScheme

    made = 0
    for kind in Kind:
        _, created = AssessmentScheme.objects.get_or_create(
            kind=kind, defaults={"weights": validate_weights(kind, DEFAULT_WEIGHTS[kind]), "note": "默认权重（REFERENCE §5）"}
        )
        made += created
    return made


@dataclass(frozen=True)
class Composite:
    score: Decimal | None
    weight_used: int  # the weights of indicators that had data
    missing: list[str]  # names of weighted indicators without data


def composite(indicators: list[Indicator], values: dict[str, Decimal | None], weights: dict[str, int]) -> Composite:
    """Σ weight × indicator score ÷ Σ weight, over the weighted indicators that have data.

    An indicator without data (no cases in its denominator) is left out and the others are
    re-weighted, so a department that had no callbacks is not scored 0 on satisfaction."""
    total = Decimal(0)
    used = 0
    missing = []
    for item in indicators:
        weight = weights.get(item.code, 0)
        if not weight or not item.scored:
            continue
        points = item.score(values.get(item.code))
        if points is None:
            missing.append(item.name)
            continue
        total += points * weight
        used += weight
    if not used:
        return Composite(None, 0, missing)
    score = (total / used).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Composite(score, used, missing)
