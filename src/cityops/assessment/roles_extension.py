"""The assessment app's lines of the role → permission table (see accounts.roles).

Leaders and dispatchers read the pages (checked by role in the views); the system
administrator maintains the weights, the targets and their manual values in the admin."""

from cityops.accounts import roles


def _perms(model: str, verbs: tuple[str, ...]) -> list[str]:
    app, name = model.split(".")
    return [f"{app}.{verb}_{name}" for verb in verbs]


roles.ROLE_PERMISSIONS[roles.SYSADMIN] += [
    *_perms("assessment.assessmentscheme", ("view", "change")),
    *_perms("assessment.performancetarget", ("view", "change")),
    *_perms("assessment.targetmanualvalue", ("add", "change", "delete", "view")),
    "assessment.view_assessmentsnapshot",
]
