"""`cityops apikey list`: every key with its account, role, scope and last use (never the key)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from cityops.api.models import ApiKey


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "列出 API 密钥（名称、前缀、服务账号、角色、部门、创建与最近使用时间、状态）。"

    def add_arguments(self, parser):
        parser.add_argument("--active", action="store_true", help="只列出未吊销的密钥")

    def handle(self, *args, active=False, **options):
        qs = ApiKey.objects.select_related("user__department").order_by("name")
        if active:
            qs = qs.filter(revoked_at__isnull=True)
        rows = [("名称", "前缀", "服务账号", "角色", "部门", "创建", "最近使用", "状态")]
        for key in qs:
            user = key.user
            rows.append((
                key.name, key.prefix, user.username, ",".join(sorted(user.role_codes)) or "-",
                user.department.code if user.department_id else "-", _when(key.created_at), _when(key.last_used_at),
                f"已吊销 {_when(key.revoked_at)}" if key.revoked_at else ("账号停用" if not user.is_active else "有效"),
            ))
        if len(rows) == 1:
            self.stdout.write("没有 API 密钥。")
            return
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
