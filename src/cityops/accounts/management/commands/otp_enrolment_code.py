"""`cityops otp_enrolment_code <username>`: a one-time code for binding the second factor.

For the first security administrator (nobody can issue theirs on the web yet) and for recovery;
afterwards the security administrator issues codes on /account/otp/enrolment-codes/. Audited
with the command line as the actor."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cityops.accounts.otp import EnrolmentCodeRefused, enrolment_code_issue


class Command(BaseCommand):
    help = "签发动态口令开通码（一次性，首次绑定动态口令时使用）"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户不存在：{username}")
        try:
            code, expires_at = enrolment_code_issue(user=user, issued_by=None)
        except EnrolmentCodeRefused as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{username} 的开通码：{code}（有效期至 {timezone.localtime(expires_at):%Y-%m-%d %H:%M}，使用一次后失效）")
