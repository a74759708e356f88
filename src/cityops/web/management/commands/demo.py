"""`cityops demo`: load reference data, the synthetic demo geography and demo accounts (idempotent)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cityops.accounts.demo import demo_accounts_ensure, demo_password
from cityops.accounts.services import roles_sync
from cityops.web.demo import DEMO_STEPS, demo_loaded, demo_mark_loaded


class Command(BaseCommand):
    help = "加载基础数据、演示网格与演示账号（可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--no-accounts", action="store_true", help="不创建演示账号")
        parser.add_argument("--force", action="store_true", help="即使已加载也重新加载")

    def handle(self, *args, **options):
        # The fast path of every `make run` after the first: nothing changed, nothing to load.
        password, generated = (None, False) if options["no_accounts"] else demo_password()
        if not options["force"] and demo_loaded(password):
            self.stdout.write("演示数据已加载且未变化，跳过（cityops demo --force 可重新加载）")
            if password is not None:
                self.stdout.write(f"演示账号密码: {password} {self._password_hint(generated)}")
            return
        for label, command in DEMO_STEPS:
            self.stdout.write(f"· {label}")
            call_command(command, stdout=self.stdout)
        roles_sync()
        if options["no_accounts"]:
            demo_mark_loaded()
            return
        rows = demo_accounts_ensure(password)
        self.stdout.write(self.style.SUCCESS("演示账号（用户名 · 姓名 · 角色）："))
        for username, name, role in rows:
            self.stdout.write(f"  {username:<22} {name} · {role}")
        call_command("demo_cases", stdout=self.stdout)
        demo_mark_loaded()
        self.stdout.write(f"演示账号密码: {password} {self._password_hint(generated)}")

    @staticmethod
    def _password_hint(generated: bool) -> str:
        return "（随机生成，保存在 var/demo_password；设置 CITYOPS_DEMO_PASSWORD 可指定）" if generated else "（来自 CITYOPS_DEMO_PASSWORD）"
