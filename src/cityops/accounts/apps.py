from django.apps import AppConfig


class AccountsConfig(AppConfig):
    verbose_name = "用户与角色"
    name = "cityops.accounts"
    label = "accounts"

    def ready(self) -> None:
        from cityops.accounts import checks, signals  # noqa: F401
        from cityops.accounts.otp import admin_hide_enrolment_codes

        admin_hide_enrolment_codes()
