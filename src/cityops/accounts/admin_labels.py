"""Chinese names in the admin for what Django and the third-party apps name in English.

Three sources of English, three remedies:
* strings the libraries mark for translation (Django's own, django-axes) are translated in
  `cityops/locale/zh_Hans` (the catalogue fills the few gaps of Django's zh_Hans files);
* django-otp marks nothing for translation and its app has no verbose name ("OTP_TOTP",
  "TOTP devices"), so its app, model and field names are set here once, at admin import;
* permission names are rows written in English by `migrate` ("Can add case"); they are
  shown through `permission_label`, never stored differently, so `roles_sync` is unaffected.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission

APP_NAMES = {
    "otp_totp": "双因素认证（动态口令）",
    "axes": "登录失败与锁定",
}

TOTP_MODEL_NAME = ("动态口令设备", "动态口令设备")
TOTP_FIELDS = {
    "user": ("用户", "设备所属的用户。"),
    "name": ("设备名称", "便于识别的名称，如“张三的手机”。"),
    "confirmed": ("已确认", "用户已输入过一次正确口令，设备可用于登录。"),
    "key": ("密钥", "十六进制密钥，最长 40 个字符。"),
    "step": ("时间步长（秒）", "每个口令的有效时长。"),
    "t0": ("起始时间", "开始计算时间步的 Unix 时间。"),
    "digits": ("口令位数", "每个口令的位数。"),
    "tolerance": ("容差（步）", "允许前后偏差的时间步数。"),
    "drift": ("时钟偏差（步）", "设备时钟与服务器之间的已知偏差。"),
    "last_t": ("上次口令时间步", "最近一次通过验证的时间步，下一个口令必须更新。"),
    "throttling_failure_timestamp": ("最近失败时间", "最近一次口令错误的时间。"),
    "throttling_failure_count": ("连续失败次数", "连续口令错误的次数。"),
    "created_at": ("创建时间", "设备登记的时间。"),
    "last_used_at": ("最近使用时间", "最近一次通过验证的时间。"),
}

PERMISSION_VERBS = {"add": "添加", "change": "修改", "delete": "删除", "view": "查看"}


def localise_admin_names() -> None:
    """Give the untranslatable third-party names their Chinese labels (idempotent)."""
    for label, name in APP_NAMES.items():
        try:
            apps.get_app_config(label).verbose_name = name
        except LookupError:  # app not installed
            continue
    Group._meta.verbose_name = Group._meta.verbose_name_plural = "角色"
    try:
        model = apps.get_model("otp_totp", "TOTPDevice")
    except LookupError:
        return
    model._meta.verbose_name, model._meta.verbose_name_plural = TOTP_MODEL_NAME
    for field_name, (verbose_name, help_text) in TOTP_FIELDS.items():
        field = model._meta.get_field(field_name)
        field.verbose_name, field.help_text = verbose_name, help_text


def permission_label(permission: Permission) -> str:
    """'用户与角色 · 用户 · 可修改用户' for Django's default permissions, the stored (Chinese) name
    for the project's own ones."""
    model = permission.content_type.model_class()
    if model is None:
        return permission.name
    app_name = apps.get_app_config(model._meta.app_label).verbose_name
    model_name = str(model._meta.verbose_name)
    verb, _, rest = permission.codename.partition("_")
    if verb in PERMISSION_VERBS and rest == model._meta.model_name:
        action = f"可{PERMISSION_VERBS[verb]}{model_name}"
    else:
        action = permission.name
    return f"{app_name} · {model_name} · {action}"
