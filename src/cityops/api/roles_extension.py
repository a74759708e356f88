"""The api app's lines of the role → permission table (see accounts.roles).

System administrators manage the systems that connect (API keys, their mapping tables,
devices, the webhook delivery log); the security administrator owns webhook subscriptions;
the audit administrator reads the API call log."""

from cityops.accounts import roles


def _crud(model: str) -> list[str]:
    return [f"api.{verb}_{model}" for verb in ("add", "change", "delete", "view")]


roles.ROLE_PERMISSIONS[roles.SYSADMIN] += [
    "api.view_apikey", "api.add_apikey", "api.change_apikey",
    *_crud("citycategorymapping"), *_crud("addressmapping"), *_crud("device"), *_crud("alarmtypemapping"),
    "api.view_webhookdelivery", "api.change_webhookdelivery", "api.view_intakerecord",
]
# Webhook subscriptions open a data channel to another system: the security administrator's
# (only for service accounts of role system, targets on CITYOPS_WEBHOOK_ALLOWED_HOSTS).
roles.ROLE_PERMISSIONS[roles.SECADMIN] += [*_crud("webhooksubscription")]
roles.ROLE_PERMISSIONS[roles.AUDITOR] += ["api.view_apicalllog", "api.view_apikey"]
