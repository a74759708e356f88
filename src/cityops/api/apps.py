from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cityops.api"
    label = "api"
    verbose_name = "接口"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from cityops.api import roles_extension  # noqa: F401
        from cityops.api.models import WebhookSubscription
        from cityops.api.webhooks import on_case_events, subscriptions_present
        from cityops.cases.signals import case_events_committed

        case_events_committed.connect(on_case_events, dispatch_uid="cityops.api.webhooks")
        for signal in (post_save, post_delete):
            signal.connect(subscriptions_present.invalidate, sender=WebhookSubscription, dispatch_uid=f"cityops.api.webhooks.{signal}")
