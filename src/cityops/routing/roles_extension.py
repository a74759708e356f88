"""The routing app's lines of the role → permission table (see accounts.roles).

Models, the auto-dispatch switches and the categories never dispatched automatically are
configuration: the system administrator activates or rolls back a model and changes the
settings in the admin (the same as `cityops routing activate`); the duplicate index is derived
data, readable only."""

from cityops.accounts import roles


def _perms(model: str, verbs: tuple[str, ...]) -> list[str]:
    return [f"routing.{verb}_{model}" for verb in verbs]


roles.ROLE_PERMISSIONS[roles.SYSADMIN] += [
    *_perms("routingmodel", ("view", "change")),
    *_perms("routingsettings", ("add", "view", "change")),
    *_perms("autodispatchexclusion", ("add", "view", "change", "delete")),
    "routing.view_duplicateindexentry",
]
