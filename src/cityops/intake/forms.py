"""Forms of the intake pages. `LocationForm` carries the map picker's fields (lon, lat,
coord_system) for any form that includes `intake/_map_picker.html`."""

from __future__ import annotations

from django import forms

from cityops.cases.models import CoordSystem
from cityops.cases.photos import PhotoRejected, photo_check
from cityops.cases.services import max_upload_bytes
from cityops.cases.states import Satisfaction
from cityops.catalog.models import CaseType, Category, CategorySystem
from cityops.common.validators import validate_phone

PHONE_HELP = "仅用于工作人员联系您，不会公开。"


class LocationForm(forms.Form):
    """The three fields the map picker posts. The location itself (inside the district?
    which grid?) is checked by `cases.services.case_create`; this only checks the format."""

    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    coord_system = forms.ChoiceField(required=False, choices=CoordSystem.choices, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in ("lon", "lat", "coord_system")):
            for name in ("lon", "lat", "coord_system"):
                self.errors.pop(name, None)
            self.add_error("lon", forms.ValidationError("坐标格式不正确，请重新在地图上选择位置。", code="location"))
            cleaned["lon"] = cleaned["lat"] = None
        if (cleaned.get("lon") is None) != (cleaned.get("lat") is None):
            cleaned["lon"] = cleaned["lat"] = None
        cleaned["coord_system"] = cleaned.get("coord_system") or CoordSystem.WGS84
        return cleaned

    @property
    def location_error(self) -> str:
        """The message to show under the map picker (errors about the location live on `lon`)."""
        errors = self.errors.get("lon") if self.is_bound else None
        return errors[0] if errors else ""


def check_photo(upload) -> None:
    """Reject what `cases.services.attachment_add` would reject, before any case is written."""
    if upload is None:
        return
    limit = max_upload_bytes()
    if upload.size > limit:
        raise forms.ValidationError(
            f"照片过大（{upload.size / 1048576:.1f} MB），上限为 {limit // 1048576} MB。", code="too_large"
        )
    if upload.size == 0:
        raise forms.ValidationError("照片文件为空。", code="empty")
    try:
        photo_check(upload.read())
    except PhotoRejected as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from None
    finally:
        upload.seek(0)


class PhotoField(forms.FileField):
    def __init__(self, *, capture: bool = False, **kwargs):
        attrs = {"accept": "image/jpeg,image/png,image/webp" if not capture else "image/*", "data-photo-input": ""}
        if capture:
            attrs["capture"] = "environment"
        kwargs.setdefault("widget", forms.FileInput(attrs=attrs))
        kwargs.setdefault("error_messages", {"required": "请拍摄现场照片。", "invalid": "照片上传失败，请重新选择。"})
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "data-max-bytes": str(max_upload_bytes())}

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            check_photo(upload)
        return upload


CITIZEN_CASE_TYPES = [
    (CaseType.COMPLAINT, "投诉（问题反映）"), (CaseType.HELP, "求助"), (CaseType.REPORT, "举报"),
    (CaseType.CONSULT, "咨询"), (CaseType.SUGGEST, "建议"), (CaseType.PRAISE, "表扬"),
]


class CitizenReportForm(LocationForm):
    case_type = forms.ChoiceField(label="反映类型", choices=CITIZEN_CASE_TYPES, initial=CaseType.COMPLAINT)
    description = forms.CharField(
        label="问题描述", max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "请描述问题：什么地方、什么情况、持续多久……"}),
        error_messages={"required": "请填写问题描述。", "max_length": "问题描述不能超过 %(limit_value)d 字。"},
    )
    address = forms.CharField(
        label="地址或参照物", max_length=200, required=False,
        widget=forms.TextInput(attrs={"placeholder": "如：东关大街与建国路交叉口东南角", "autocomplete": "street-address"}),
    )
    photo = PhotoField(label="现场照片（可选）", required=False)
    reporter_name = forms.CharField(label="您的称呼（可选）", max_length=32, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "name"}))
    reporter_phone = forms.CharField(
        label="联系电话（可选）", max_length=20, required=False, help_text=PHONE_HELP,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    no_callback = forms.BooleanField(label="不需要回访", required=False,
                                     help_text="勾选后办结时不再电话回访，您可凭查询码自行评价。")

    def clean_description(self):
        value = self.cleaned_data["description"].strip()
        if not value:
            raise forms.ValidationError("请填写问题描述。", code="required")
        return value

    def clean_reporter_phone(self):
        phone = self.cleaned_data["reporter_phone"].strip()
        validate_phone(phone)  # the rule of every face: common.validators
        return phone


class TrackForm(forms.Form):
    code = forms.CharField(
        label="查询码", max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "如 3F9A0C12B4", "autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false", "class": "code-input"}),
        error_messages={"required": "请输入查询码。"},
    )

    def clean_code(self):
        return "".join(self.cleaned_data["code"].split()).upper()


class RatingForm(forms.Form):
    code = forms.CharField(max_length=20, widget=forms.HiddenInput)
    satisfaction = forms.ChoiceField(
        label="您对办理结果是否满意？", choices=Satisfaction.choices, widget=forms.RadioSelect,
        error_messages={"required": "请选择满意度。", "invalid_choice": "请选择满意度。"},
    )
    comment = forms.CharField(label="意见建议（可选）", max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              error_messages={"max_length": "意见建议不能超过 %(limit_value)d 字。"})


def urban_category_choices() -> list:
    """Leaf categories of the 数字城管 tree, grouped by their 大类, for the inspector's select."""
    leaves = (
        Category.objects.filter(system=CategorySystem.URBAN, active=True, children__isnull=True)
        .select_related("parent").order_by("kind", "parent__code", "sort_order", "code")
    )
    groups: dict[str, list] = {}
    for leaf in leaves:
        group = f"{leaf.get_kind_display()} · {leaf.parent.name}" if leaf.parent else leaf.get_kind_display()
        groups.setdefault(group, []).append((leaf.code, f"{leaf.name}"))
    return [("", "请选择问题分类"), *groups.items()]


class InspectorReportForm(LocationForm):
    photo = PhotoField(label="现场照片", required=True, capture=True)
    category = forms.ChoiceField(label="问题分类", error_messages={"required": "请选择问题分类。", "invalid_choice": "请选择问题分类。"})
    description = forms.CharField(
        label="问题描述", max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "简要描述现场情况"}),
        error_messages={"required": "请填写问题描述。"},
    )
    address = forms.CharField(label="位置说明（可选）", max_length=200, required=False,
                              widget=forms.TextInput(attrs={"placeholder": "门牌号、参照物"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = urban_category_choices()


class VerifyForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    passed = forms.TypedChoiceField(
        label="核查结论", choices=[("1", "通过，同意结案"), ("0", "不通过，返工")], coerce=lambda v: v == "1",
        widget=forms.RadioSelect, error_messages={"required": "请选择核查结论。", "invalid_choice": "请选择核查结论。"},
    )
    note = forms.CharField(label="核查说明", max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "placeholder": "不通过时必填：说明需返工的问题", "data-note": ""}))
    photo = PhotoField(label="核查照片", required=False, capture=True)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("passed") is False and not (cleaned.get("note") or "").strip():
            self.add_error("note", forms.ValidationError("不通过时请填写返工原因。", code="required"))
        return cleaned
