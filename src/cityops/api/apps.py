from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cityops.api"
    label = "api"
    verbose_name = "接口"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from cityops.api.models import ApiToken, WebhookSubscription
        from cityops.api.tokens import token_rows
        from cityops.api.webhooks import on_case_event_recorded, on_cases_imported, subscriptions_present
        from cityops.cases.signals import case_event_recorded, cases_imported

        # Delivery rows are written in the event's own transaction (the case as that event left it).
        case_event_recorded.connect(on_case_event_recorded, dispatch_uid="cityops.api.webhooks")
        cases_imported.connect(on_cases_imported, dispatch_uid="cityops.api.webhooks.imported")
        for signal in (post_save, post_delete):
            signal.connect(subscriptions_present.invalidate, sender=WebhookSubscription, dispatch_uid=f"cityops.api.webhooks.{signal}")
            # A token, or its user (deactivated, password changed or expired), changed.
            signal.connect(token_rows.invalidate, sender=ApiToken, dispatch_uid=f"cityops.api.tokens.{signal}")
            signal.connect(token_rows.invalidate, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"cityops.api.tokens.user.{signal}")

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`api/plugin.py`)."""
        from cityops.api.plugin import PLUGIN

        return PLUGIN
