from decimal import Decimal

import factory
from django.utils import timezone

from cityops.cases.models import Case, Channel
from cityops.cases.services import CaseInput, case_create
from cityops.catalog.models import (
    Category,
    CategoryKind,
    CategorySystem,
    Department,
    DepartmentKind,
    LimitUnit,
    Stage,
    TimeLimit,
    Urgency,
)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"测试部门{n}")
    kind = DepartmentKind.FUNCTIONAL


class LeafCategoryFactory(factory.django.DjangoModelFactory):
    """A 小类 under its own 大类, with a full set of time limits (handle: 2 工作日 / 4 小时)."""

    class Meta:
        model = Category
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"E99{n:02d}")
    name = factory.Sequence(lambda n: f"测试小类{n}")
    system = CategorySystem.URBAN
    kind = CategoryKind.EVENT
    level = 2
    parent = factory.LazyFunction(
        lambda: Category.objects.get_or_create(code="E99", defaults={"name": "测试大类", "system": CategorySystem.URBAN, "kind": CategoryKind.EVENT})[0]
    )

    @factory.post_generation
    def limits(self, create, extracted, **kwargs):
        if not create:
            return
        table = extracted or {
            Stage.REGISTER: (1, LimitUnit.WORK_HOUR), Stage.DISPATCH: (1, LimitUnit.WORK_HOUR),
            Stage.SIGN: (1, LimitUnit.WORK_DAY), Stage.HANDLE: (2, LimitUnit.WORK_DAY), Stage.VERIFY: (1, LimitUnit.WORK_DAY),
        }
        for stage, (value, unit) in table.items():
            TimeLimit.objects.update_or_create(category=self, stage=stage, urgency=Urgency.NORMAL, defaults={"value": Decimal(value), "unit": unit})
            TimeLimit.objects.update_or_create(category=self, stage=stage, urgency=Urgency.URGENT, defaults={"value": Decimal(4), "unit": LimitUnit.HOUR})


def make_case(*, category: Category | None = None, now=None, **overrides) -> Case:
    """A new case through the real intake service (no location unless given)."""
    data = CaseInput(
        description=overrides.pop("description", "小区门口暴露垃圾成堆，无人清理"),
        channel=overrides.pop("channel", Channel.HOTLINE),
        category=category.code if category else None,
        reporter_name=overrides.pop("reporter_name", "张三"),
        reporter_phone=overrides.pop("reporter_phone", "13812341234"),
        require_location=False,
        **overrides,
    )
    return case_create(data=data, now=now or timezone.now())
