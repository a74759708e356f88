"""Assessment indicators as data: who is evaluated, which counts are taken, and how each
rate is formed from them (REFERENCE.md §5, GB/T 30428.4 / CJ/T 292 lineage).

The page prints `formula` next to every figure, the API returns it, and `metrics.py`
produces exactly the counts named here — one table, three readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from cityops.analytics import kpis


class Kind(models.TextChoices):
    """Who is evaluated."""

    DEPARTMENT = "department", "处置部门"
    STREET = "street", "街道"
    INSPECTOR = "inspector", "网格员/监督员"
    OPERATOR = "operator", "受理员"
    DISPATCHER = "dispatcher", "派遣员/值班长"


HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class Count:
    """A raw count taken from case events, with the words that define it."""

    key: str
    name: str
    definition: str


@dataclass(frozen=True)
class Indicator:
    """A figure of the ranking. A rate is numerator / denominator in %; a count is shown as is.

    `better` says which way is good. A "lower is better" rate enters the composite score as
    100 − rate (REFERENCE §5: "lower is better" rates use 100 − rate). Counts are shown for
    context and never scored.
    """

    code: str
    name: str
    numerator: str
    denominator: str | None = None  # None: a plain count
    better: str = HIGHER
    formula: str = ""
    note: str = ""

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def scored(self) -> bool:
        return self.is_rate

    @property
    def unit(self) -> str:
        return "%" if self.is_rate else "件"

    @property
    def better_label(self) -> str:
        return "越高越好" if self.better == HIGHER else "越低越好"

    def value(self, counts: dict[str, int]) -> Decimal | None:
        """The figure for one subject: a rate in % (one decimal), a count, or None (no data)."""
        num = int(counts.get(self.numerator, 0) or 0)
        if not self.is_rate:
            return Decimal(num)
        den = int(counts.get(self.denominator, 0) or 0)
        if den <= 0:
            return None
        return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def score(self, value: Decimal | None) -> Decimal | None:
        """0–100 points of the figure: the rate, or 100 − rate when lower is better."""
        if value is None or not self.scored:
            return None
        points = value if self.better == HIGHER else Decimal(100) - value
        return max(Decimal(0), min(Decimal(100), points))


# ---------------------------------------------------------------- counts

_COHORT = "本期派遣、截至统计截止时"

COUNTS: dict[str, Count] = {
    c.key: c
    for c in [
        # departments and streets: the cohort of cases dispatched in the period
        Count("dispatched", "派遣数", "本期派遣至该部门（街道：位于该街道）的案件数，同一案件只计一次"),
        Count("returned", "退单数", "本期（截至统计截止时）该部门退回且已生效的案件数（不含“非本单位职责”退回后改派其他部门的误派件，计入派遣员），加上被派遣员驳回的退单"),
        Count("due", "应处置数", f"{_COHORT}未被退回，且已反馈或已过处置时限的案件数（挂账中的未到反馈不计）；亦即应结案数"),
        Count("handled", "处置数", "应处置案件中已反馈处置结果的案件数"),
        Count("handled_on_time", "按期处置数", "已处置且最后一次反馈不晚于处置时限（含批准的延期、返工重新计时）的案件数"),
        Count("closed", "结案数", "应处置案件中核查通过（结案）的案件数"),
        Count("closed_on_time", "按期结案数", "已结案且按期处置的案件数"),
        Count("reworked", "返工数", "应处置案件中至少一次核查未通过（返工）的案件数"),
        Count("extended", "延期数", "应处置案件中申请过延期的案件数"),
        Count("overdue_open", "超期未处置数", "应处置案件中截至统计截止时已过处置时限仍未反馈、且未挂账的案件数"),
        Count("rated", "有结果案件数", "本期确定满意度结果的案件数，每件一次（首次回访或市民评价；更正后按更正结果；重办清除原结果；按案件当前处置部门、所在街道归属）"),
        Count("satisfied", "满意数", "其中结果为“满意”或“基本满意”的案件数"),
        Count("callbacks_needed", "需回访数", "本期结案且需回访的案件数（无电话、合并的重复件、反映人要求不回访的除外）"),
        Count("callbacks_finished", "已回访数", "其中已有满意度结果或确认无法联系的案件数"),
        Count("registered", "立案数", "本期立案的案件数"),
        # inspectors
        Count("reports", "上报数", "本期本人上报的案件数"),
        Count("valid_reports", "有效上报数", "本期上报、截至统计截止时已立案的案件数"),
        Count("verifications", "核查数", "本期本人完成的核查次数（通过或返工）"),
        Count("verifications_on_time", "按期核查数", "核查环节未被系统记录超期（SLA 扫描的“已超期”事件）的核查次数"),
        Count("verify_overdue_waiting", "超期待核查数", "统计截止时仍在核查环节且已过核查时限的案件数：有责任网格员的网格计入该网格员，其余由派遣席共担（计入本期有核查操作的每位派遣员）"),
        Count("verify_due", "应核查数", "核查数 + 超期待核查数"),
        # operators
        Count("accepted", "受理数", "本期本人办理的受理操作数：立案、不予立案、直接答复、合并"),
        Count("registered_by", "立案数", "本期本人立案的案件数"),
        Count("registered_on_time", "按时立案数", "立案环节未被系统记录超期的立案数"),
        Count("register_overdue_waiting", "超期待立案数", "统计截止时仍在立案环节且已过立案时限的案件数（受理席共担，计入本期有立案操作的每位受理员）"),
        Count("register_due", "应立案数", "立案数 + 超期待立案数"),
        Count("registered_valid", "准确立案数", "立案数 − 作废数（立案后又作为重复件合并的）"),
        Count("callbacks_by", "回访数", "本期本人完成的回访数"),
        # dispatchers
        Count("dispatches", "派遣数", "本期本人派遣的次数（改派另计一次）"),
        Count("dispatches_on_time", "按期派遣数", "派遣环节未被系统记录超期的派遣次数"),
        Count("dispatches_accurate", "准确派遣数", "派遣次数 − 误派数；误派 = 接收部门以“非本单位职责”退回、退单生效（直接生效或经派遣员同意）后改派其他部门的派遣"),
        Count("dispatch_overdue_waiting", "超期待派遣数", "统计截止时仍在派遣环节（待派遣、已退回）且已过派遣时限的案件数（派遣席共担，计入本期有派遣操作的每位派遣员）"),
        Count("dispatch_due", "应派遣数", "派遣次数 + 超期待派遣数"),
    ]
}


# ---------------------------------------------------------------- indicators

_DISPOSAL = Indicator("disposal_rate", "处置率", "handled", "due", HIGHER, "处置数 ÷ 应处置数 × 100%")
_DISPOSAL_ON_TIME = Indicator("disposal_on_time_rate", "按期处置率", "handled_on_time", "due", HIGHER, "按期处置数 ÷ 应处置数 × 100%")
_CLOSURE = Indicator("closure_rate", "结案率", "closed", "due", HIGHER, "结案数 ÷ 应结案数 × 100%（应结案数 = 应处置数）")
_CLOSURE_ON_TIME = Indicator("closure_on_time_rate", "按期结案率", "closed_on_time", "due", HIGHER, "按期结案数 ÷ 应结案数 × 100%")
_REWORK = Indicator("rework_rate", "返工率", "reworked", "due", LOWER, "返工数 ÷ 应结案数 × 100%（成都金牛区口径）")
_RETURN = Indicator("return_rate", "退单率", "returned", "dispatched", LOWER, "退单数 ÷ 派遣数 × 100%")
_EXTENSION = Indicator("extension_rate", "延期率", "extended", "due", LOWER, "延期数 ÷ 应处置数 × 100%（金牛区口径）")
_OVERDUE = Indicator(
    "overdue_open_rate", "超期未处置", "overdue_open", "due", LOWER, "超期未处置数 ÷ 应处置数 × 100%（即超期待处置率）",
    note="页面同时显示超期未处置件数",
)
_SATISFACTION = Indicator("satisfaction_rate", "满意率", "satisfied", "rated", HIGHER, kpis.SATISFACTION_RATE_FORMULA, note=kpis.SATISFACTION_RATE_NOTE)
_VERIFY_ON_TIME = Indicator(
    "verify_on_time_rate", "按期核查率", "verifications_on_time", "verify_due", HIGHER, "按期核查数 ÷（核查数 + 超期待核查数）× 100%",
    note="统计截止时仍超期待核查的案件计为不按期",
)

INDICATORS: dict[str, list[Indicator]] = {
    Kind.DEPARTMENT: [
        _DISPOSAL, _DISPOSAL_ON_TIME, _CLOSURE, _REWORK, _RETURN, _EXTENSION, _OVERDUE, _SATISFACTION,
        Indicator("dispatched", "派遣数", "dispatched", formula="本期派遣至本部门的案件数"),
    ],
    Kind.STREET: [
        Indicator("registered", "立案数", "registered", formula="本期立案、位于本街道的案件数"),
        _CLOSURE, _CLOSURE_ON_TIME, _DISPOSAL_ON_TIME, _REWORK, _OVERDUE, _SATISFACTION,
    ],
    Kind.INSPECTOR: [
        Indicator("valid_report_rate", "有效上报率", "valid_reports", "reports", HIGHER, "有效上报数 ÷ 上报数 × 100%"),
        _VERIFY_ON_TIME,
        Indicator("reports", "上报数", "reports", formula="本期本人上报的案件数"),
        Indicator("verifications", "核查数", "verifications", formula="本期本人完成的核查次数"),
    ],
    Kind.OPERATOR: [
        Indicator("register_on_time_rate", "按时立案率", "registered_on_time", "register_due", HIGHER,
                  "按时立案数 ÷（立案数 + 超期待立案数）× 100%", note="统计截止时仍超期待立案的案件计为不按时"),
        Indicator("register_accuracy_rate", "准确立案率", "registered_valid", "registered_by", HIGHER, "（立案数 − 作废数）÷ 立案数 × 100%"),
        Indicator("accepted", "受理数", "accepted", formula="立案、不予立案、直接答复、合并的操作数"),
        Indicator("callbacks_by", "回访数", "callbacks_by", formula="本期本人完成的回访数"),
    ],
    Kind.DISPATCHER: [
        Indicator("dispatch_accuracy_rate", "准确派遣率", "dispatches_accurate", "dispatches", HIGHER, "准确派遣数 ÷ 派遣数 × 100%"),
        Indicator("dispatch_on_time_rate", "按期派遣率", "dispatches_on_time", "dispatch_due", HIGHER,
                  "按期派遣数 ÷（派遣数 + 超期待派遣数）× 100%", note="统计截止时仍超期待派遣的案件计为不按期"),
        _VERIFY_ON_TIME,
        Indicator("dispatches", "派遣数", "dispatches", formula="本期本人派遣的次数"),
    ],
}

# Default composite weights (sum 100). Sources: REFERENCE §5 — 专业部门 after 金牛区 practice
# (处置率 30, 按期处置率 20, 返工率 20, 超期待处置率 20, 延期率 10) rebalanced to make room for
# 结案率, 退单率 and 满意率; 区域 with 结案率 30 / 按期结案率 40; 监督员, 受理员, 派遣员 keep the
# vendor weights' proportions over the indicators the platform can measure.
DEFAULT_WEIGHTS: dict[str, dict[str, int]] = {
    Kind.DEPARTMENT: {
        "disposal_rate": 20, "disposal_on_time_rate": 20, "closure_rate": 10, "rework_rate": 10,
        "return_rate": 10, "extension_rate": 5, "overdue_open_rate": 10, "satisfaction_rate": 15,
    },
    Kind.STREET: {"closure_rate": 30, "closure_on_time_rate": 40, "satisfaction_rate": 15, "overdue_open_rate": 15},
    Kind.INSPECTOR: {"valid_report_rate": 60, "verify_on_time_rate": 40},
    Kind.OPERATOR: {"register_on_time_rate": 60, "register_accuracy_rate": 40},
    Kind.DISPATCHER: {"dispatch_accuracy_rate": 50, "dispatch_on_time_rate": 30, "verify_on_time_rate": 20},
}

WEIGHT_TOTAL = 100


def indicators_for(kind: str) -> list[Indicator]:
    return INDICATORS[Kind(kind)]


def scored_indicators(kind: str) -> list[Indicator]:
    return [i for i in indicators_for(kind) if i.scored]


def indicator(kind: str, code: str) -> Indicator:
    for item in indicators_for(kind):
        if item.code == code:
            return item
    raise KeyError(code)


# ---------------------------------------------------------------- grades

# (lowest score, grade, label). A ≥ 90; B 75–<90; C 60–<75; D 40–<60; E < 40.
GRADES: list[tuple[int, str, str]] = [
    (90, "A", "优秀"),
    (75, "B", "良好"),
    (60, "C", "合格"),
    (40, "D", "基本合格"),
    (0, "E", "不合格"),
]


def grade(score: Decimal | float | int | None) -> str | None:
    """The grade of a composite score (None when there is no score)."""
    if score is None:
        return None
    value = Decimal(str(score))
    for floor, letter, _label in GRADES:
        if value >= floor:
            return letter
    return "E"


def grade_label(letter: str | None) -> str:
    return next((label for _floor, g, label in GRADES if g == letter), "")
