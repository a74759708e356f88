"""Reference data the case workflow runs on: categories with time limits, departments,
the responsibility matrix (权责清单) and the working calendar's overrides."""

from __future__ import annotations

from django.db import models

from cityops.common.models import TimeStampedModel

# The command center's own Department: the last resort of routing, and the dispatcher's desk.
CENTER_DEPARTMENT_CODE = "CENTER"


class CaseType(models.TextChoices):
    """工单类型 (12345 practice)."""

    CONSULT = "consult", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGEST = "suggest", "建议"
    PRAISE = "praise", "表扬"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "紧急"


class CategorySystem(models.TextChoices):
    URBAN = "urban", "数字城管 部件/事件"
    HOTLINE = "hotline", "12345 诉求分类"


class CategoryKind(models.TextChoices):
    PART = "part", "部件"
    EVENT = "event", "事件"
    DEMAND = "demand", "诉求"


class Stage(models.TextChoices):
    """SLA stages of a case, in workflow order."""

    REGISTER = "register", "立案"
    DISPATCH = "dispatch", "派遣"
    SIGN = "sign", "签收"
    HANDLE = "handle", "处置"
    VERIFY = "verify", "核查"


class LimitUnit(models.TextChoices):
    WORK_HOUR = "work_hour", "工作时"
    WORK_DAY = "work_day", "工作日"
    HOUR = "hour", "小时"
    DAY = "day", "自然日"


# Categories whose cases Open311 never publishes: `Category.publishable` starts False for these
# codes (migration catalog/0003 and `catalog_load` for new rows); administrators may change the
# flag afterwards, a reload keeps it. A 小类 is published only when it and every ancestor are
# publishable, so a 大类 listed here hides all of its 小类. The rule (docs/integration.md, Open311):
# never publish (a) police, civil-defence and public-order matters, (b) matters that name or
# point at a person (begging, fraud, pyramid selling, unlicensed doctors, illegal employment),
# (c) a citizen's own affairs: social insurance, wages, labour disputes, pensions, family
# planning, medical disputes, school drop-outs, housing hardship and subsidies.
NOT_PUBLISHABLE_CODES: dict[str, str] = {
    # (a) police, civil defence, public order
    "P0112": "公安井盖", "P0502": "人防工事", "E0409": "群发性事件",
    # (b) matters about persons
    "E0502": "流浪乞讨", "H011016": "骗购", "H040407": "传销", "H060603": "非法行医", "H020602": "非法用工",
    # (c) a citizen's own affairs (大类 codes hide every 小类 below them)
    "H0201": "城镇居民社会保险", "H0202": "城镇职工社会保险", "H0203": "工资福利", "H0206": "劳动关系",
    "H0208": "社保基金管理", "H0209": "退休政策及待遇", "H0603": "人口计生", "H0605": "医患纠纷",
    "H0307": "失学辍学", "H011007": "住房困难", "H011012": "房屋补贴",
}


class Category(TimeStampedModel):
    """A node of a classification tree.

    Urban (数字城管) codes follow the 部件/事件 scheme: `P01` (部件大类 01), `P0101`
    (小类 01 of it), `E01`, `E0101`. Hotline (12345) codes are `H01`, `H0101`, `H010101`
    for the three levels. Only leaves are chosen on cases; every leaf carries time limits.
    """

    code = models.CharField("编码", max_length=16, unique=True)
    name = models.CharField("名称", max_length=64)
    system = models.CharField("体系", max_length=16, choices=CategorySystem.choices, db_index=True)
    kind = models.CharField("部件/事件", max_length=8, choices=CategoryKind.choices)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField("层级", default=1)
    register_condition = models.CharField("立案条件", max_length=200, blank=True)
    close_condition = models.CharField("结案条件", max_length=200, blank=True)
    default_urgency = models.CharField("默认紧急程度", max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    keywords = models.CharField("关键词", max_length=400, blank=True, help_text="以空格分隔，用于分类建议")
    requires_after_photo = models.BooleanField(
        "处置反馈须附处置后照片", default=False, help_text="部件类默认要求；网格员上报的案件一律要求"
    )
    publishable = models.BooleanField(
        "对外公开 (Open311)", default=True,
        help_text="不勾选：本分类及其全部下级分类的案件不在 Open311 公开，也不列为可提交的服务。"
                  "涉及公安/人防/群体性事件、针对个人的事项和个人事务（社保、工资、劳动关系等）的分类默认不公开。",
    )
    active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "分类"
        verbose_name_plural = "分类"
        ordering = ["system", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_leaf(self) -> bool:
        return not self.children.exists()


class TimeLimit(models.Model):
    """How long one stage of a case of this category may take, for one urgency."""

    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.CASCADE, related_name="time_limits")
    stage = models.CharField("环节", max_length=16, choices=Stage.choices)
    urgency = models.CharField("紧急程度", max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    value = models.DecimalField("时限", max_digits=6, decimal_places=1)
    unit = models.CharField("单位", max_length=16, choices=LimitUnit.choices)

    class Meta:
        verbose_name = "处置时限"
        verbose_name_plural = "处置时限"
        constraints = [
            models.UniqueConstraint(fields=["category", "stage", "urgency"], name="uniq_time_limit_per_stage"),
            models.CheckConstraint(condition=models.Q(value__gt=0), name="time_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category.code} {self.get_stage_display()} {self.value}{self.get_unit_display()}"


class DepartmentKind(models.TextChoices):
    CENTER = "center", "指挥中心"
    FUNCTIONAL = "functional", "区职能部门"
    STREET = "street", "街道办事处/镇政府"
    UTILITY = "utility", "公共服务企业"


class Department(TimeStampedModel):
    """A unit that cases are dispatched to. Street offices are tied to their street for 属地 fallback."""

    code = models.CharField("部门编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64)
    short_name = models.CharField("简称", max_length=16, blank=True)
    kind = models.CharField("类型", max_length=16, choices=DepartmentKind.choices)
    street = models.OneToOneField(
        "geo.Region", verbose_name="属地街道/镇", null=True, blank=True, on_delete=models.PROTECT,
        related_name="street_office",
    )
    phone = models.CharField("联系电话", max_length=32, blank=True)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "部门"
        verbose_name_plural = "部门"
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class ResponsibilityRule(TimeStampedModel):
    """One line of the 权责清单: cases of `category` (optionally only in `street`) go to `lead`."""

    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.PROTECT, related_name="responsibility_rules")
    street = models.ForeignKey(
        "geo.Region", verbose_name="限定街道/镇", null=True, blank=True, on_delete=models.PROTECT,
        related_name="responsibility_rules",
    )
    lead = models.ForeignKey(Department, verbose_name="主办部门", on_delete=models.PROTECT, related_name="lead_rules")
    co_handlers = models.ManyToManyField(Department, verbose_name="协办部门", blank=True, related_name="co_rules")
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("失效日期", null=True, blank=True, help_text="含当日；留空表示长期有效")
    basis = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        verbose_name = "权责清单条目"
        verbose_name_plural = "权责清单"
        ordering = ["category__code", "street__code", "valid_from"]
        constraints = [
            # (category, street, valid_from) identifies a line; NULL streets need their own
            # constraint because NULLs never collide in a plain unique index.
            models.UniqueConstraint(
                fields=["category", "valid_from"], condition=models.Q(street__isnull=True),
                name="uniq_rule_general_per_start",
            ),
            models.UniqueConstraint(
                fields=["category", "street", "valid_from"], condition=models.Q(street__isnull=False),
                name="uniq_rule_street_per_start",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="rule_valid_to_after_from",
            ),
        ]

    def __str__(self) -> str:
        where = f" @{self.street.name}" if self.street else ""
        return f"{self.category}{where} → {self.lead}"


class CalendarOverride(models.Model):
    """An admin's correction of the holiday engine for one date, e.g. from the State Council's yearly notice."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否工作日", help_text="勾选：上班（调休补班）；不勾选：放假")
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'} {self.note}"
