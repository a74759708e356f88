from cityops.accounts import roles
from cityops.common.plugins import Job, NavItem, Plugin


def extra_job() -> dict:
    return {"extra": 1}


def extra_hook() -> str:
    return "extra"


PLUGIN = Plugin(
    nav=(NavItem("额外页面", "web:login", frozenset({roles.DEPARTMENT}), order=35),),
    permissions={roles.DEPARTMENT: ["cases.add_case"]},
    jobs=(Job("extra", extra_job, "CITYOPS_EXTRA_SECONDS", 42),),
    hooks={"extra": (extra_hook,)},
)
