"""What the api app adds (see `cityops.common.plugins`).

System administrators manage the systems that connect (API keys, the webhook delivery log;
the mapping tables, devices and intake records are the intake app's, see intake/plugin.py); the security administrator owns webhook subscriptions;
the audit administrator reads the API call log. The webhook outbox is swept every few seconds."""

from cityops.accounts import roles
from cityops.api.webhooks import deliver_due_webhooks
from cityops.common.plugins import Job, Plugin


def _crud(model: str) -> list[str]:
    return [f"api.{verb}_{model}" for verb in ("add", "change", "delete", "view")]


PLUGIN = Plugin(
    permissions={
        roles.SYSADMIN: [
            "api.view_apikey", "api.add_apikey", "api.change_apikey",
            "api.view_webhookdelivery", "api.change_webhookdelivery",
        ],
        # Webhook subscriptions open a data channel to another system: the security administrator's
        # (only for service accounts of role system, targets on CITYOPS_WEBHOOK_ALLOWED_HOSTS).
        roles.SECADMIN: _crud("webhooksubscription"),
        roles.AUDITOR: ["api.view_apicalllog", "api.view_apikey"],
    },
    jobs=(Job("webhooks", deliver_due_webhooks, "CITYOPS_WEBHOOK_SECONDS", 10, expires=9, soft_time_limit=300),),
)
