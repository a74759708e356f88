"""Password policy (等保 2.0 身份鉴别: 口令复杂度与定期更换), as AUTH_PASSWORD_VALIDATORS classes.

Each validator reads its threshold from settings when it runs unless OPTIONS fixed one, so the
policy is tuned through CITYOPS_PASSWORD_* environment variables without touching the list.
"""

from __future__ import annotations

import functools
import itertools
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


def _setting(value: int | None, name: str) -> int:
    """The validator's own option, else the declared setting `name` (config/settings/environment.py)."""
    return int(value) if value is not None else int(getattr(settings, name))


class MinimumLengthValidator:
    """At least CITYOPS_PASSWORD_MIN_LENGTH characters (default 10)."""

    def __init__(self, min_length: int | None = None) -> None:
        self._min_length = min_length

    @property
    def min_length(self) -> int:
        return _setting(self._min_length, "CITYOPS_PASSWORD_MIN_LENGTH")

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
        return min(_setting(self._min_classes, "CITYOPS_PASSWORD_MIN_CLASSES"), len(CHARACTER_CLASSES))

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
        return _setting(self._history, "CITYOPS_PASSWORD_HISTORY")

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


# ---------------------------------------------------------------- guessable patterns
# Words guessers try first on this system, besides Django's list of 20,000 common passwords.
SITE_WORDS = frozenset({
    "cityops", "chengyun", "yiwangtongguan", "yiwang", "tongguan", "chengshi", "zhengwu", "zhihui",
    "admin", "administrator", "sysadmin", "secadmin", "auditor", "operator", "dispatcher", "inspector",
    "leader", "system", "manager", "welcome", "password", "passwd", "pass", "demo", "test", "guest",
    "root", "user", "login", "qwerty", "iloveyou", "woaini", "china", "zhongguo", "beijing", "shanghai",
})
# Keyboard rows, columns (1qaz2wsx…) and the alphabet; a run of 3+ of any of them, either way.
SEQUENCES = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qazwsxedcrfvtgbyhnujmikolp", "abcdefghijklmnopqrstuvwxyz")
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t", "8": "b"})


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isascii() and c.isalpha())


def _core(password: str) -> str:
    """The password without the digits and symbols tacked on at either end."""
    start, end = 0, len(password)
    while start < end and not password[start].isalpha():
        start += 1
    while end > start and not password[end - 1].isalpha():
        end -= 1
    return password[start:end]


def _is_run(piece: str) -> bool:
    return any(piece in seq or piece in seq[::-1] for seq in SEQUENCES)


def _keyboard_walk(letters: str) -> bool:
    """`letters` is made entirely of keyboard or alphabet runs of 3 or more (qwer, asdf, qazwsx)."""
    n = len(letters)
    if n < 3 or n > 64:
        return False
    reachable = [True] + [False] * n
    for end in range(3, n + 1):
        reachable[end] = any(reachable[start] and _is_run(letters[start:end]) for start in range(end - 2))
    return reachable[n]


def _digit_run(digits: str) -> bool:
    if len(digits) < 4:
        return False
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return len(steps) == 1 and steps <= {0, 1, 9}


@functools.lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from django.contrib.auth.password_validation import CommonPasswordValidator

    return frozenset(word for word in CommonPasswordValidator().passwords if word.isalpha()) | SITE_WORDS


class PatternValidator:
    """No guessable pattern: a common word, the system's name or the username (also in leet
    spelling, P@ssw0rd) or a keyboard/alphabet run (Qwer, Asdf, Abcd, 1qaz2wsx) with digits and
    symbols around it (Password123!, Admin@2024, Qwer1234!, Abcd1234, Cityops#2024); runs of one
    repeated character or a repeated chunk; a digit run (123456, 888888) with hardly any letters."""

    def _words(self, user) -> frozenset[str]:
        username = _letters((user.get_username() if user is not None else "") or "")
        return _common_words() | ({username} if len(username) >= 3 else set())

    def _refuse_word(self, candidates: set[str], user) -> str | None:
        words = self._words(user)
        for letters in sorted(candidates, key=len, reverse=True):
            if len(letters) >= 3 and letters in words:
                return letters
            # A long word with a letter or two beside it (Passwordab1!, xWelcome2024).
            for word in (w for w in words if len(w) >= 5 and len(letters) - 2 <= len(w) < len(letters)):
                if word in letters:
                    return word
        return None

    def validate(self, password: str, user=None) -> None:
        core = _core(password)
        candidates = {_letters(core), _letters(core.translate(_LEET)), _letters(core.replace("1", "l").translate(_LEET)),
                      _letters(password)}
        candidates.discard("")
        word = self._refuse_word(candidates, user)
        if word is not None:
            raise ValidationError(
                _("密码以常见单词或名称（%(word)s）为主体，仅加数字或符号很容易被猜到。"), code="password_common_word",
                params={"word": word},
            )
        if any(_keyboard_walk(letters) for letters in candidates):
            raise ValidationError(_("密码以键盘或字母顺序（如 qwer、asdf、abcd）为主体，很容易被猜到。"), code="password_keyboard_sequence")
        if _repeated(password):
            raise ValidationError(_("密码含有连续重复的字符或重复的片段，很容易被猜到。"), code="password_repeated")
        digits = "".join(c for c in password if c.isdigit())
        if len(_letters(password)) <= 2 and _digit_run(digits):
            raise ValidationError(_("密码主要由连续或重复的数字组成，很容易被猜到。"), code="password_digit_sequence")

    def get_help_text(self) -> str:
        return _("不能以常见单词、系统名称、键盘或字母顺序为主体再加数字符号（如 Password123!、Qwer1234!），不能有大段重复。")


def _repeated(password: str) -> bool:
    """Four or more of one character in a row (aaaa, 1111), or the whole password one chunk repeated (Ab1!Ab1!Ab1!)."""
    if any(password[i] == password[i + 1] == password[i + 2] == password[i + 3] for i in range(len(password) - 3)):
        return True
    n = len(password)
    return any(n % size == 0 and password == password[:size] * (n // size) for size in range(1, n // 2 + 1))
