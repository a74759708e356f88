"""`cityops apikey create NAME [--role system]`: a key for another system.

三员分立: the key gets a new service account of role `system` (or `--user` names an existing
service account, never a person's account); a business role or department scope is given to
that service account afterwards by the security administrator (user admin), as any role.
The key is printed alone on the last line (scripts read it with `tail -n1`); it is shown
only this once. Issuing is audited."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cityops.api.keys import ISSUER_ROLES, KeyIssueError, apikey_issue


class Command(BaseCommand):
    help = ("为外部系统签发 API 密钥（新建“外部系统”服务账号，或用 --user 绑定已有服务账号）；"
            "业务角色由安全管理员分配。密钥只显示一次，在最后一行。")

    def add_arguments(self, parser):
        parser.add_argument("name", help="接入系统名称，如“市12345平台”")
        parser.add_argument("--role", choices=ISSUER_ROLES, help="新服务账号的角色（只能是 system；业务角色由安全管理员分配）")
        parser.add_argument("--department", help="部门编码（可选）")
        parser.add_argument("--user", help="绑定已有服务账号（用户名），不新建服务账号；不能绑定个人账号")

    def handle(self, *args, name, role=None, department=None, user=None, **options):
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"用户不存在：{user}")
            if role or department:
                raise CommandError("--user 不能与 --role / --department 同用：服务账号的角色和部门由安全管理员在后台分配。")
        try:
            issued = apikey_issue(name=name, user=account, role=role or (None if account else "system"),
                                  department_code=department, created_by="cli", issuer_rules=True)
        except KeyIssueError as exc:
            raise CommandError(str(exc)) from None
        record = issued.record
        self.stdout.write(f"已签发 API 密钥“{record.name}”（前缀 {record.prefix}，服务账号 {record.user.username}）。")
        self.stdout.write("请立即保存，密钥不会再次显示。使用方式：请求头 X-API-Key: <密钥>；Open311 提交时作 api_key 参数。")
        self.stdout.write(issued.key)
