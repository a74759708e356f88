"""`cityops settings_doc [--check]`: the "All settings" table of docs/deploy.md, from config/settings/environment.py."""

from django.core.management.base import BaseCommand, CommandError

from config.settings.environment import DEPLOY_DOC, with_documentation


class Command(BaseCommand):
    help = "从 config/settings/environment.py 生成 docs/deploy.md 的“全部设置”表；--check 只检查是否一致"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只检查，不一致时退出码为 1")

    def handle(self, *args, **options):
        text = DEPLOY_DOC.read_text(encoding="utf-8")
        try:
            updated = with_documentation(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["check"]:
            if updated != text:
                raise CommandError(f"{DEPLOY_DOC} 的设置表与 config/settings/environment.py 不一致：运行 cityops settings_doc")
            self.stdout.write(self.style.SUCCESS("设置表与声明一致。"))
            return
        if updated != text:
            DEPLOY_DOC.write_text(updated, encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"已更新 {DEPLOY_DOC}。"))
        else:
            self.stdout.write("设置表已是最新。")
