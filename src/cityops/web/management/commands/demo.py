"""`cityops demo`: load reference data, the synthetic demo geography and demo accounts (idempotent)."""

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cityops.accounts.demo import (
    admin_initial_passwords_ensure,
    demo_accounts_ensure,
    demo_enrolment_codes_ensure,
    demo_password,
    initial_password_variable,
)
from cityops.accounts.services import roles_sync
from cityops.web.demo import DEMO_STEPS, demo_loaded, demo_mark_loaded


class Command(BaseCommand):
    help = "加载基础数据、演示网格与演示账号（可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--no-accounts", action="store_true", help="不创建演示账号")
        parser.add_argument("--force", action="store_true", help="即使已加载也重新加载")
        parser.add_argument(
            "--admin-initial-passwords", action="store_true",
            help="三个管理员账号不用共享的演示密码，各设初始密码（环境变量 CITYOPS_INITIAL_PASSWORD_<用户名> 或随机生成，只显示一次），首次登录须修改",
        )

    _ADMIN_NOTE = "管理员账号（sysadmin、secadmin、auditor）不使用演示密码，而用各自的初始密码（生成时显示一次），首次登录须修改。"

    def handle(self, *args, **options):
        # The fast path of every `make run` after the first: nothing changed, nothing to load.
        password, generated = (None, False) if options["no_accounts"] else demo_password()
        if not options["force"] and demo_loaded(password):
            self.stdout.write("演示数据已加载且未变化，跳过（cityops demo --force 可重新加载）")
            if password is not None:
                self._show(self._admin_initial_passwords(password, options))
                if options["admin_initial_passwords"]:
                    self.stdout.write(self._ADMIN_NOTE)
                self.stdout.write(f"演示账号密码: {password} {self._password_hint(generated)}")
            return
        for label, command in DEMO_STEPS:
            self.stdout.write(f"· {label}")
            call_command(command, stdout=self.stdout)
        roles_sync()
        if options["no_accounts"]:
            demo_mark_loaded()
            return
        rows = demo_accounts_ensure(password, admin_initial_passwords=options["admin_initial_passwords"])
        # Shown at once: a random initial password exists nowhere else.
        self._show(self._admin_initial_passwords(password, options))
        self.stdout.write(self.style.SUCCESS("演示账号（用户名 · 姓名 · 角色）："))
        for username, name, role in rows:
            self.stdout.write(f"  {username:<22} {name} · {role}")
        call_command("demo_cases", stdout=self.stdout)
        demo_mark_loaded()
        if options["admin_initial_passwords"]:
            self.stdout.write(self._ADMIN_NOTE)
        self.stdout.write(f"演示账号密码: {password} {self._password_hint(generated)}")

    @staticmethod
    def _admin_initial_passwords(password: str, options) -> list[tuple[str, str | None]] | None:
        if not options["admin_initial_passwords"]:
            return None
        try:
            return admin_initial_passwords_ensure(password)
        except ValidationError as exc:
            raise CommandError("管理员初始密码不符合密码策略：" + "；".join(exc.messages)) from None

    def _show(self, issued: list[tuple[str, str | None]] | None) -> None:
        if issued is None:
            return
        if issued:
            self.stdout.write(self.style.WARNING("管理员账号的初始密码（只显示这一次，首次登录须修改）："))
        for username, initial in issued:
            shown = initial if initial is not None else f"（来自 {initial_password_variable(username)}）"
            self.stdout.write(f"  {username:<22} {shown}")
        codes = demo_enrolment_codes_ensure()
        if codes:
            self.stdout.write(self.style.WARNING("绑定动态口令的开通码（只显示这一次，一次有效）："))
        for username, code, expires_at in codes:
            self.stdout.write(f"  {username:<22} {code}（有效期至 {timezone.localtime(expires_at):%Y-%m-%d %H:%M}）")

    @staticmethod
    def _password_hint(generated: bool) -> str:
        return "（随机生成，保存在 var/demo_password；设置 CITYOPS_DEMO_PASSWORD 可指定）" if generated else "（来自 CITYOPS_DEMO_PASSWORD）"
