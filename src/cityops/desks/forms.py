"""Forms of the desk pages: list filters, operator intake, and one small form per workflow action.

Forms only parse and check the shape of the input; the business rules (and their Chinese
messages) stay in `services.case_create` and `workflow.case_transition`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse

from cityops.cases.models import Case, Channel, CoordSystem, SlaLevel
from cityops.cases.photos import PhotoRejected, display_name, photo_check
from cityops.cases.selectors import CaseFilters
from cityops.cases.services import (
    LOCATION_OPTIONAL,
    CaseInput,
    channel_refusal,
    channels_for,
    max_upload_bytes,
)
from cityops.cases.states import OPEN_STATUSES, Action, ReturnReason, Satisfaction, Status
from cityops.catalog.models import CaseType, LimitUnit, Urgency
from cityops.desks.presenters import (
    department_choices,
    filter_category_choices,
    leaf_category_choices,
    street_choices,
)

OPEN = "open"
MAX_PHOTOS = 9


def _blank(label: str = "全部") -> list[tuple[str, str]]:
    return [("", label)]


# ---------------------------------------------------------------- list filters


class CaseFilterForm(forms.Form):
    """The filter bar of every case list. Invalid values are dropped, never a server error."""

    q = forms.CharField(label="关键词", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "编号/描述/地址"}))
    status = forms.ChoiceField(label="状态", required=False)
    channel = forms.ChoiceField(label="渠道", required=False, choices=_blank("全部渠道") + list(Channel.choices))
    category = forms.ChoiceField(label="分类", required=False)
    street = forms.ChoiceField(label="街道", required=False)
    department = forms.ChoiceField(label="部门", required=False)
    sla = forms.ChoiceField(
        label="时限", required=False,
        choices=_blank("全部时限") + [(v, label) for v, label in SlaLevel.choices if v != SlaLevel.NONE],
    )
    overdue = forms.BooleanField(label="仅超期", required=False)
    created_from = forms.DateField(label="上报自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="至", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, hide: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [*_blank("全部状态"), (OPEN, "未办结"), *Status.choices]
        self.fields["category"].choices = _blank("全部分类") + filter_category_choices()
        self.fields["street"].choices = _blank("全部街道") + street_choices()
        self.fields["department"].choices = _blank("全部部门") + department_choices()
        for name in hide:
            self.fields.pop(name, None)

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_from", "开始日期不能晚于结束日期。")
        return data

    def to_filters(self) -> CaseFilters:
        data = self.cleaned_data if self.is_valid() else {
            k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors
        }
        status = data.get("status") or ""
        return CaseFilters(
            status=sorted(OPEN_STATUSES) if status == OPEN else ([status] if status else None),
            channel=data.get("channel") or None,
            category=data.get("category") or None,
            street=data.get("street") or None,
            department=data.get("department") or None,
            sla=data.get("sla") or None,
            overdue=True if data.get("overdue") else None,
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            q=(data.get("q") or "").strip() or None,
        )


# ---------------------------------------------------------------- intake


class GroupedChoiceField(forms.ChoiceField):
    """A select of leaf categories in <optgroup>s (Django renders nested choices as groups)."""


def category_picker_select() -> forms.Select:
    """The leaf-category <select>, enhanced in the browser into a searchable picker
    (desks/static/cases/category_picker.js): 2 characters of a name or code list the matches."""
    return forms.Select(attrs={"data-category-picker": "1"})


class IntakeForm(forms.Form):
    """The operator's hotline intake form (热线受理)."""

    # Reports that need a place on the map; a consultation or a suggestion may come without one
    # (`cases.services.LOCATION_OPTIONAL`, the import asks the same set).
    LOCATION_OPTIONAL = LOCATION_OPTIONAL

    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices, initial=Channel.HOTLINE)
    case_type = forms.ChoiceField(label="工单类型", choices=CaseType.choices, initial=CaseType.COMPLAINT)
    title = forms.CharField(label="标题", required=False, max_length=120)
    description = forms.CharField(
        label="问题描述", max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "请填写问题描述。"},
    )
    address = forms.CharField(label="地址", required=False, max_length=200)
    lon = forms.FloatField(label="经度", required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(label="纬度", required=False, widget=forms.HiddenInput)
    coord_system = forms.ChoiceField(label="坐标系", choices=CoordSystem.choices, initial=CoordSystem.WGS84, required=False)
    category = GroupedChoiceField(label="分类", required=False, widget=category_picker_select())
    urgency = forms.ChoiceField(label="紧急程度", required=False, choices=_blank("按分类默认") + list(Urgency.choices))
    reporter_name = forms.CharField(label="反映人", required=False, max_length=64)
    reporter_phone = forms.CharField(label="联系电话", required=False, max_length=20)
    no_callback = forms.BooleanField(label="来电人不需要回访", required=False)

    location_error = ""  # set by the view from the service's "location" message

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            # The channels this user's roles may report through: one rule for desk and API
            # (`cases.services.channels_for`); any other channel is refused with its message.
            allowed = channels_for(user)
            field = self.fields["channel"]
            field.choices = [(value, label) for value, label in Channel.choices if value in allowed]
            field.initial = Channel.HOTLINE if Channel.HOTLINE in allowed else (allowed[0] if allowed else None)
            field.error_messages["invalid_choice"] = channel_refusal(user).message
        self.fields["category"].choices = _blank("（暂不分类）") + leaf_category_choices()
        self.fields["description"].widget.attrs.update({
            "hx-get": reverse("cases:suggest_categories"),
            "hx-trigger": "input changed delay:600ms, load",
            "hx-target": "#category-suggestions",
            "placeholder": "请记录来电人反映的问题：时间、地点、现象、诉求",
        })

    def to_input(self) -> CaseInput:
        d = self.cleaned_data
        return CaseInput(
            description=d["description"],
            channel=d["channel"],
            case_type=d["case_type"],
            title=d.get("title") or "",
            lon=d.get("lon"),
            lat=d.get("lat"),
            coord_system=d.get("coord_system") or CoordSystem.WGS84,
            address=d.get("address") or "",
            category=d.get("category") or None,
            urgency=d.get("urgency") or None,
            reporter_name=d.get("reporter_name") or "",
            reporter_phone=d.get("reporter_phone") or "",
            no_callback=bool(d.get("no_callback")),
            require_location=d["case_type"] not in self.LOCATION_OPTIONAL,
        )


# ---------------------------------------------------------------- photo uploads


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def check_photo(upload) -> None:
    """Refuse a non-image before anything is written (the service checks again when it stores it)."""
    size = getattr(upload, "size", 0) or 0
    limit = max_upload_bytes()
    if size > limit:
        raise forms.ValidationError(f"文件 {display_name(upload.name)} 过大（{size / 1048576:.1f} MB），上限为 {limit // 1048576} MB。")
    if size == 0:
        raise forms.ValidationError(f"文件 {display_name(upload.name)} 为空。")
    try:
        photo_check(upload.read())
    except PhotoRejected as exc:
        raise forms.ValidationError(f"文件 {display_name(upload.name)}：{exc.message}", code=exc.code) from None
    finally:
        upload.seek(0)


# ---------------------------------------------------------------- workflow actions


class ActionForm(forms.Form):
    """Base of the per-action forms: the version the user saw, and an optional note."""

    action: Action
    note_label = "说明"
    note_required = False
    photo_kind = ""  # attachment kind of uploaded photos, if the action takes photos

    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, case: Case | None = None, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)
        self.order_fields([name for name in self.fields if name != "note"] + ["note"])  # the action's own fields first
        self.fields["note"].label = self.note_label
        self.fields["note"].required = self.note_required
        if self.note_required:
            self.fields["note"].error_messages["required"] = f"请填写{self.note_label}。"
        if case is not None and not self.is_bound:
            self.initial.setdefault("version", case.version)

    def transition_data(self) -> dict[str, Any]:
        """The `data` argument of `case_transition` (everything but the version and files)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("version", "photos", "photo") and v not in (None, "")}

    def uploaded_photos(self) -> list:
        return []


class RegisterForm(ActionForm):
    action = Action.REGISTER
    category = forms.ChoiceField(label="分类", required=False, widget=category_picker_select())
    urgency = forms.ChoiceField(label="紧急程度", required=False, choices=_blank("不变") + list(Urgency.choices))
    case_type = forms.ChoiceField(label="工单类型", required=False, choices=_blank("不变") + list(CaseType.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.case.category if self.case is not None else None
        blank = f"（沿用 {current.code} {current.name}）" if current else "请选择分类"
        self.fields["category"].choices = _blank(blank) + leaf_category_choices()


class RejectForm(ActionForm):
    action = Action.REJECT
    note_label = "不予立案理由"
    note_required = True


class AnswerForm(ActionForm):
    action = Action.ANSWER
    answer = forms.CharField(label="答复内容", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": "请填写答复内容。"})


class MergeForm(ActionForm):
    action = Action.MERGE
    master = forms.CharField(label="主案件编号", max_length=20, error_messages={"required": "请填写主案件编号。"},
                             widget=forms.TextInput(attrs={"placeholder": "如 CD20261126-0001"}))

    def clean_master(self):
        return self.cleaned_data["master"].strip().upper()


class DispatchForm(ActionForm):
    action = Action.DISPATCH
    department = forms.ChoiceField(label="处置部门", error_messages={"required": "请选择处置部门。"})
    proposal = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _blank("请选择部门") + department_choices(dispatchable=True)

    def transition_data(self) -> dict[str, Any]:
        data = super().transition_data()
        data["route"] = "manual"
        return data


class SignForm(ActionForm):
    action = Action.SIGN


class ReturnForm(ActionForm):
    action = Action.RETURN
    note_label = "退单说明"
    note_required = True
    reason = forms.ChoiceField(label="退单原因", choices=_blank("请选择") + list(ReturnReason.choices),
                               error_messages={"required": "请选择退单原因。"})
    suggested_department = forms.ChoiceField(label="建议处置部门", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].widget.attrs["placeholder"] = "说明为什么不属于本单位或无法处置，派遣员据此审核"
        own = self.case.department.code if self.case is not None and self.case.department_id else None
        self.fields["suggested_department"].choices = _blank("（不指定）") + [
            (code, name) for code, name in department_choices(dispatchable=True) if code != own
        ]


class AcceptReturnForm(ActionForm):
    action = Action.ACCEPT_RETURN


class RejectReturnForm(ActionForm):
    action = Action.REJECT_RETURN
    note_label = "驳回理由"
    note_required = True


class RequestExtensionForm(ActionForm):
    action = Action.REQUEST_EXTENSION
    note_label = "延期理由"
    note_required = True
    value = forms.DecimalField(label="延期时长", min_value=0.5, max_value=90, decimal_places=1,
                               error_messages={"required": "请填写延期时长。"})
    unit = forms.ChoiceField(label="单位", choices=LimitUnit.choices, initial=LimitUnit.WORK_DAY)

    def transition_data(self) -> dict[str, Any]:
        data = super().transition_data()
        data["value"] = str(data["value"])
        return data


class ApproveExtensionForm(ActionForm):
    action = Action.APPROVE_EXTENSION
    value = forms.DecimalField(label="批准时长", required=False, min_value=0.5, max_value=90, decimal_places=1)
    unit = forms.ChoiceField(label="单位", required=False, choices=LimitUnit.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = (self.case.extension_request or {}) if self.case is not None else {}
        if request and not self.is_bound:
            self.initial.setdefault("value", request.get("value"))
            self.initial.setdefault("unit", request.get("unit"))

    def transition_data(self) -> dict[str, Any]:
        data = super().transition_data()
        if "value" in data:
            data["value"] = str(data["value"])
        else:
            data.pop("unit", None)
        return data


class DenyExtensionForm(ActionForm):
    action = Action.DENY_EXTENSION
    note_label = "驳回理由"
    note_required = True


class SuspendForm(ActionForm):
    action = Action.SUSPEND
    note_label = "挂账理由"
    note_required = True


class ResumeForm(ActionForm):
    action = Action.RESUME


class RespondForm(ActionForm):
    action = Action.RESPOND
    photo_kind = "after"
    result = forms.CharField(label="处置结果", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": "请填写处置结果。"})
    photos = MultipleFileField(label="处置后照片", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from cityops.cases.workflow import after_photo_required

        if self.case is not None and after_photo_required(self.case):
            self.fields["photos"].required = True
            self.fields["photos"].label = "处置后照片（部件类或网格员上报的案件须上传）"
            self.fields["photos"].error_messages["required"] = "该案件须上传处置后照片（部件类或网格员上报的案件）。"

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if not photos and self.fields["photos"].required:
            raise forms.ValidationError(self.fields["photos"].error_messages["required"], code="required")
        if len(photos) > MAX_PHOTOS:
            raise forms.ValidationError(f"最多上传 {MAX_PHOTOS} 张照片。")
        for upload in photos:
            check_photo(upload)
        return photos

    def uploaded_photos(self) -> list:
        return list(self.cleaned_data.get("photos") or [])


class VerifyForm(ActionForm):
    action = Action.VERIFY
    photo_kind = "verify"
    note_label = "核查说明（不通过时必填）"
    passed = forms.TypedChoiceField(
        label="核查结果", choices=[("true", "通过，结案"), ("false", "不通过，返工")], widget=forms.RadioSelect,
        coerce=lambda v: v == "true", error_messages={"required": "请选择核查结果。"},
    )
    photo = forms.FileField(label="核查照片", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo:
            check_photo(photo)
        return photo

    def transition_data(self) -> dict[str, Any]:
        data = super().transition_data()
        data["passed"] = self.cleaned_data["passed"]
        return data

    def uploaded_photos(self) -> list:
        photo = self.cleaned_data.get("photo")
        return [photo] if photo else []


class CallbackForm(ActionForm):
    action = Action.CALLBACK
    note_label = "回访记录"
    satisfaction = forms.ChoiceField(label="满意度", choices=Satisfaction.choices, widget=forms.RadioSelect,
                                     error_messages={"required": "请选择满意度。", "invalid_choice": "请选择满意度。"})


class CallbackAttemptForm(ActionForm):
    action = Action.CALLBACK_ATTEMPT
    note_label = "未接通说明"


class CorrectSatisfactionForm(ActionForm):
    action = Action.CORRECT_SATISFACTION
    note_label = "更正理由"
    note_required = True
    satisfaction = forms.ChoiceField(label="更正为", choices=Satisfaction.choices, widget=forms.RadioSelect,
                                     error_messages={"required": "请选择满意度。", "invalid_choice": "请选择满意度。"})


class ReviewForm(ActionForm):
    action = Action.REVIEW
    note_label = "复核意见"
    note_required = True


class ReopenForm(ActionForm):
    action = Action.REOPEN
    note_label = "重办要求"
    note_required = True


class SuperviseForm(ActionForm):
    action = Action.SUPERVISE
    note_label = "督办意见"


class UrgeForm(ActionForm):
    action = Action.URGE
    note_label = "催办意见"


ACTION_FORMS: dict[Action, type[ActionForm]] = {
    form.action: form
    for form in (
        RegisterForm, RejectForm, AnswerForm, MergeForm, DispatchForm, SignForm, ReturnForm, RequestExtensionForm,
        ApproveExtensionForm, DenyExtensionForm, SuspendForm, ResumeForm, RespondForm, VerifyForm, CallbackForm,
        SuperviseForm, UrgeForm, AcceptReturnForm, RejectReturnForm, CallbackAttemptForm, CorrectSatisfactionForm, ReviewForm, ReopenForm,
    )
}

# Actions that need nothing but a click (their form has no visible required field).
ONE_CLICK = frozenset({Action.SIGN, Action.RESUME, Action.SUPERVISE, Action.URGE, Action.ACCEPT_RETURN})
