"""What the routing app adds (see `cityops.common.plugins`).

Models, the auto-dispatch switches and the categories never dispatched automatically are
configuration: the system administrator activates or rolls back a model and changes the
settings in the admin (the same as `cityops routing activate`); the duplicate index is derived
data, readable only. The daily job retrains the model when enough new labels are there."""

from cityops.accounts import roles
from cityops.common.plugins import Job, Plugin
from cityops.routing.services import retrain_if_due


def _perms(model: str, verbs: tuple[str, ...]) -> list[str]:
    return [f"routing.{verb}_{model}" for verb in verbs]


PLUGIN = Plugin(
    permissions={
        roles.SYSADMIN: [
            *_perms("routingmodel", ("view", "change")),
            *_perms("routingsettings", ("add", "view", "change")),
            *_perms("autodispatchexclusion", ("add", "view", "change", "delete")),
            "routing.view_duplicateindexentry",
        ],
    },
    jobs=(Job("retrain", retrain_if_due, "CITYOPS_RETRAIN_SECONDS", 86400, expires=3600, soft_time_limit=3 * 3600),),
)
