from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.utils.translation import gettext_lazy as _


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Old password, new password twice; the new one passes AUTH_PASSWORD_VALIDATORS.

    Saving goes through `services.password_change_by_owner`, not `save()`."""

    def save(self, commit=True):  # pragma: no cover - the view never calls it
        raise NotImplementedError("use cityops.accounts.services.password_change_by_owner")


class OtpTokenForm(forms.Form):
    token = forms.RegexField(
        label=_("动态口令"), regex=r"^\s*\d{3}\s?\d{3}\s*$", max_length=8,
        error_messages={"invalid": _("请输入 6 位数字动态口令。"), "required": _("请输入 6 位数字动态口令。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )
