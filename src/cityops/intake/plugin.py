"""What the intake app adds (see `cityops.common.plugins`): the inspector's page and the batch
import on the menu; the system administrator manages the channels' mapping tables and devices
and reads the intake records (models moved from api in issue 15; their permissions with them)."""

from cityops.accounts import roles
from cityops.common.plugins import NavItem, Plugin
from cityops.intake.privacy import anonymise_intake_records


def _crud(model: str) -> list[str]:
    return [f"intake.{verb}_{model}" for verb in ("add", "change", "delete", "view")]


PLUGIN = Plugin(
    nav=(
        NavItem("网格员上报", "intake:inspector_home", frozenset({roles.INSPECTOR}), order=40,
                description="手机巡查上报（拍照、定位），现场核查已反馈案件"),
        NavItem("批量导入", "intake:import", frozenset({roles.OPERATOR}), order=55,
                description="从 Excel / CSV 批量导入案件，先校验后写入，逐行列出错误"),
    ),
    permissions={
        roles.SYSADMIN: [
            *_crud("citycategorymapping"), *_crud("addressmapping"), *_crud("device"), *_crud("alarmtypemapping"),
            "intake.view_intakerecord",
        ],
    },
    # Personal data retention (cases.privacy): the intake records of long-closed cases lose the
    # personal keys of what outside systems sent.
    hooks={"anonymisers": (anonymise_intake_records,)},
)
