"""The api app's lines of the role → permission table (see accounts.roles).

System administrators manage the systems that connect (API keys, their mapping tables,
devices, webhooks); the audit administrator reads the API call log."""

from cityops.accounts import roles


def _crud(model: str) -> list[str]:
    return [f"api.{verb}_{model}" for verb in ("add", "change", "delete", "view")]


roles.ROLE_PERMISSIONS[roles.SYSADMIN] += [
    "api.view_apikey", "api.add_apikey", "api.change_apikey",
    *_crud("citycategorymapping"), *_crud("addressmapping"), *_crud("device"), *_crud("alarmtypemapping"),
    *_crud("webhooksubscription"), "api.view_webhookdelivery", "api.change_webhookdelivery", "api.view_intakerecord",
]
roles.ROLE_PERMISSIONS[roles.AUDITOR] += ["api.view_apicalllog", "api.view_apikey"]
