"""The audit page's search form."""

from __future__ import annotations

from django import forms

from cityops.audit.models import AuditAction
from cityops.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(label="开始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="结束日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    actor = forms.CharField(label="操作人", max_length=150, required=False)
    action = forms.ChoiceField(label="动作", required=False, choices=[("", "全部动作"), *AuditAction.choices])
    target = forms.CharField(label="对象", max_length=255, required=False)
    ip = forms.CharField(label="来源地址", max_length=45, required=False, help_text="可只填前缀，如 10.1.")

    def clean_ip(self) -> str:
        value = self.cleaned_data["ip"].strip()
        if value and not all(c.isalnum() or c in ".:" for c in value):
            raise forms.ValidationError("来源地址只能包含数字、字母、点和冒号。")
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_from", "开始日期不能晚于结束日期。")
        return cleaned

    def filters(self) -> AuditFilters:
        d = self.cleaned_data
        return AuditFilters(
            date_from=d.get("date_from"), date_to=d.get("date_to"), actor=d.get("actor") or "",
            action=d.get("action") or "", target=d.get("target") or "", ip=d.get("ip") or "",
        )
