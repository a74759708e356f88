from django.core.management.base import BaseCommand

from cityops.accounts.roles import role_label
from cityops.accounts.services import roles_sync


class Command(BaseCommand):
    help = "按角色权限表同步角色（用户组）的权限"

    def handle(self, *args, **options):
        for code, count in roles_sync().items():
            self.stdout.write(f"{role_label(code)} ({code}): {count} 项权限")
