"""What the assessment app adds (see `cityops.common.plugins`).

Leaders and dispatchers read the pages (checked by role in the views); the system
administrator maintains the weights, the targets and their manual values in the admin.
Hook `targets_status(start, end, *, cache_seconds=0)`: the live performance targets (the big screen reads them)."""

from cityops.accounts import roles
from cityops.assessment.targets import targets_status
from cityops.common.plugins import NavItem, Plugin


def _perms(model: str, verbs: tuple[str, ...]) -> list[str]:
    app, name = model.split(".")
    return [f"{app}.{verb}_{name}" for verb in verbs]


_READERS = frozenset({roles.LEADER, roles.DISPATCHER})

PLUGIN = Plugin(
    nav=(
        NavItem("考核排名", "assessment:ranking", _READERS, order=60,
                description="部门、街道、网格员、受理员、派遣员月度考核：指标、综合得分、等级、环比"),
        NavItem("绩效目标", "assessment:targets", _READERS, order=65,
                description="中心年度绩效目标的实时完成情况与人工填报"),
    ),
    permissions={
        roles.SYSADMIN: [
            *_perms("assessment.assessmentscheme", ("view", "change")),
            *_perms("assessment.performancetarget", ("view", "change")),
            *_perms("assessment.targetmanualvalue", ("add", "change", "delete", "view")),
            "assessment.view_assessmentsnapshot",
        ],
    },
    hooks={"targets_status": (targets_status,)},
)
