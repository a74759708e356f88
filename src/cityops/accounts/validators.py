"""Password policy (等保 2.0 身份鉴别: 口令复杂度与定期更换), as AUTH_PASSWORD_VALIDATORS classes.

Each validator reads its threshold from settings when it runs unless OPTIONS fixed one, so the
policy is tuned through CITYOPS_PASSWORD_* environment variables without touching the list.
"""

from __future__ import annotations

import string

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CHARACTER_CLASSES = (
    ("大写字母", lambda c: c.isupper()),
    ("小写字母", lambda c: c.islower()),
    ("数字", lambda c: c.isdigit()),
    ("符号", lambda c: c in string.punctuation or c == " " or not (c.isalnum() or c.isspace())),
)


def _setting(value: int | None, name: str, default: int) -> int:
    return int(value) if value is not None else int(getattr(settings, name, default))


class MinimumLengthValidator:
    """At least CITYOPS_PASSWORD_MIN_LENGTH characters (default 10)."""

    def __init__(self, min_length: int | None = None) -> None:
        self._min_length = min_length

    @property
    def min_length(self) -> int:
        return _setting(self._min_length, "CITYOPS_PASSWORD_MIN_LENGTH", 10)

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                _("密码太短，至少需要 %(min_length)d 个字符。"), code="password_too_short",
                params={"min_length": self.min_length},
            )

    def get_help_text(self) -> str:
        return _("至少 %(min_length)d 个字符。") % {"min_length": self.min_length}


class CharacterClassesValidator:
    """Characters of at least CITYOPS_PASSWORD_MIN_CLASSES of the four classes (default 3 of 4)."""

    def __init__(self, min_classes: int | None = None) -> None:
        self._min_classes = min_classes

    @property
    def min_classes(self) -> int:
        return min(_setting(self._min_classes, "CITYOPS_PASSWORD_MIN_CLASSES", 3), len(CHARACTER_CLASSES))

    def validate(self, password: str, user=None) -> None:
        present = sum(1 for _label, test in CHARACTER_CLASSES if any(test(c) for c in password))
        if present < self.min_classes:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少 %(min_classes)d 类。"),
                code="password_too_few_classes", params={"min_classes": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _("包含大写字母、小写字母、数字、符号中的至少 %(min_classes)d 类。") % {"min_classes": self.min_classes}


class UsernameValidator:
    """Neither the username nor anything containing it (case-insensitive, also reversed)."""

    def validate(self, password: str, user=None) -> None:
        username = (user.get_username() if user is not None else "") or ""
        if len(username) < 3:
            return
        lowered, name = password.lower(), username.lower()
        if name in lowered or name[::-1] in lowered:
            raise ValidationError(_("密码不能包含用户名。"), code="password_contains_username")

    def get_help_text(self) -> str:
        return _("不能包含用户名。")


class PasswordHistoryValidator:
    """None of the last CITYOPS_PASSWORD_HISTORY passwords (default 5), the current one included."""

    def __init__(self, history: int | None = None) -> None:
        self._history = history

    @property
    def history(self) -> int:
        return _setting(self._history, "CITYOPS_PASSWORD_HISTORY", 5)

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None or self.history <= 0:
            return
        from cityops.accounts.models import PasswordHistory, User

        hashes = list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[: self.history])
        # The stored hash, not `user.password`: a form may already have set the new one in memory.
        current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        if current and current not in hashes:
            hashes.insert(0, current)
        if any(check_password(password, encoded) for encoded in hashes[: self.history]):
            raise ValidationError(
                _("新密码不能与最近 %(count)d 次使用过的密码相同。"), code="password_reused", params={"count": self.history},
            )

    def get_help_text(self) -> str:
        return _("不能与最近 %(count)d 次使用过的密码相同。") % {"count": self.history}
