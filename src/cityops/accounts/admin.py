from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as DjangoTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from cityops.accounts.admin_labels import localise_admin_names, permission_label
from cityops.accounts.models import RoleKey, User
from cityops.accounts.roles import ADMIN_ROLES, ROLES, role_label
from cityops.accounts.selectors import with_role
from cityops.accounts.services import (
    check_group_permissions,
    check_user_authorisations,
    may_assign_roles,
    password_reset_by_admin,
    reset_password_hours,
)
from cityops.accounts.widgets import GridTreeWidget, grid_summary

localise_admin_names()


def group_role(group: Group) -> str | None:
    """The role code bound to the group (its RoleKey), never read from the editable name."""
    try:
        return group.role_key.code
    except RoleKey.DoesNotExist:
        return None


def role_choice_label(group: Group) -> str:
    code = group_role(group)
    role = ROLES.get(code) if code else None
    if role is None:
        return f"{group.name}（自定义组）"
    return f"{role.label}：{role.description}" if role.description else role_label(role.code)


class RoleField(forms.ModelMultipleChoiceField):
    """Roles as checkboxes with their Chinese name and what they may do (not the group codes)."""

    def label_from_instance(self, obj: Group) -> str:
        return role_choice_label(obj)


class PermissionField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Permission) -> str:
        return permission_label(obj)


class UserAdminForm(forms.ModelForm):
    # The password hash is not a field: nobody needs to see it (三员分立); it is changed
    # through the reset form only (`UserAdmin.user_change_password`).
    class Meta:
        model = User
        fields = [
            "username", "display_name", "phone", "email", "groups", "department", "grids",
            "is_active", "must_change_password",
        ]
        field_classes = {"groups": RoleField}
        widgets = {"groups": forms.CheckboxSelectMultiple(attrs={"class": "role-choices"}), "grids": GridTreeWidget}
        labels = {"groups": "角色"}
        help_texts = {
            "groups": "角色决定可用的功能；系统管理员、安全管理员、审计管理员三者互斥（三员分立）。",
            "grids": "网格员/监督员负责的单元网格：按街道、社区展开勾选，可搜索街道、社区名称或网格编码。",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "groups" in self.fields:  # in the order of `roles.ROLES`, unknown groups last
            rank = {code: i for i, code in enumerate(ROLES)}
            queryset = self.fields["groups"].queryset.select_related("role_key")
            groups = sorted(queryset, key=lambda g: (rank.get(group_role(g), len(rank)), g.name))
            self.fields["groups"].choices = [(g.pk, role_choice_label(g)) for g in groups]

    def clean_must_change_password(self):
        value = self.cleaned_data.get("must_change_password")
        if self.instance.pk and self.instance.must_change_password and not value:
            # Only the owner ends an initial password, by replacing it (the reset stays audited).
            raise ValidationError("初始密码须由本人登录后修改，管理员不能取消“须修改初始密码”。")
        return value

    def clean(self):
        cleaned = super().clean()
        groups = cleaned.get("groups")
        if groups is not None:
            try:  # two admin roles, or an admin role holding more than its role through any group
                check_user_authorisations(self.instance, group_pks=[g.pk for g in groups])
            except ValidationError as exc:
                self.add_error("groups", exc)
        return cleaned


class RoleListFilter(admin.SimpleListFilter):
    title = "角色"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(code, role.label) for code, role in ROLES.items()]

    def queryset(self, request, queryset):
        if self.value():
            return with_role(queryset, self.value())
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminForm

    class Media:
        css = {"all": ["accounts/admin.css"]}

    list_display = ["username", "display_name", "department", "role_list", "is_active", "last_login"]
    list_filter = [RoleListFilter, "department", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "phone"]
    filter_horizontal = []
    fieldsets = [
        (None, {"fields": ["username", "password_status"]}),
        ("个人信息", {"fields": ["display_name", "phone", "email"]}),
        ("角色与范围", {"fields": ["groups", "department", "grids"]}),
        ("状态", {"fields": ["is_active", "is_staff", "must_change_password", "last_login", "date_joined"]}),
    ]
    readonly_fields = ["password_status", "password_reset_link", "last_login", "date_joined", "is_staff"]

    @admin.display(description="角色")
    def role_list(self, obj: User) -> str:
        return "、".join(role_label(c) if (c := group_role(g)) else g.name for g in obj.groups.all())

    @admin.display(description="密码")
    def password_status(self, obj: User) -> str:
        return f"{'已设置' if obj.has_usable_password() else '未设置'} · 通过重置修改"

    @admin.display(description="密码")
    def password_reset_link(self, obj: User) -> str:
        # Django names the reset view "auth_user_password_change" whatever the user model.
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('{} · 通过<a href="{}">重置密码</a>修改', "已设置" if obj.has_usable_password() else "未设置", url)

    @admin.display(description="角色")
    def role_display(self, obj: User) -> str:
        return self.role_list(obj) or "—"

    @admin.display(description="负责网格")
    def grid_display(self, obj: User) -> str:
        return grid_summary(obj.grids.select_related("street", "community"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department").prefetch_related("groups__role_key")

    # 三员分立: the system administrator manages accounts but not their roles, and not the
    # accounts of the other administrators (resetting their password would be taking their
    # role); the security administrator assigns roles and nothing else; nobody their own.

    @staticmethod
    def _may_edit_account(request, obj: User | None) -> bool:
        user = request.user
        if user.is_superuser:
            return True
        if not user.has_perm("accounts.change_user"):
            return False
        if obj is not None and obj.is_service_account:
            # Service accounts carry API keys: their role and scope are the security
            # administrator's (role assignment), their keys are revoked in the key admin.
            return False
        return obj is None or obj.pk == user.pk or not obj.role_codes & ADMIN_ROLES

    @staticmethod
    def _may_assign_roles(request, obj: User | None) -> bool:
        return may_assign_roles(request.user, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_edit_account(request, obj) or self._may_assign_roles(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        if not self._may_assign_roles(request, obj):
            fields.append("role_display")
        if not self._may_edit_account(request, obj):
            # A service account's department is its scope: set with its role, by the role assigner.
            keep = ("groups", "grids", "department") if obj.is_service_account and self._may_assign_roles(request, obj) \
                else ("groups", "grids")
            fields += [f for f in UserAdminForm.Meta.fields if f not in keep] + ["grid_display"]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        # Read-only roles and grids are shown by name (the codes say nothing to a person).
        swap = {"password_status": "password_reset_link"} if self._may_edit_account(request, obj) else {}
        if not self._may_assign_roles(request, obj):
            swap["groups"] = "role_display"
        if not self._may_edit_account(request, obj):
            swap["grids"] = "grid_display"
        return [(title, {**opts, "fields": [swap.get(f, f) for f in opts["fields"]]}) for title, opts in fieldsets]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "grids":  # no "add a grid" popup next to the picker
            return self.formfield_for_manytomany(db_field, request, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def user_change_password(self, request, id, form_url=""):
        """An administrator's password reset. Nobody chooses the new password: a random initial
        password is shown once, expires after CITYOPS_RESET_PASSWORD_HOURS and must be replaced
        at the first sign-in; the account's sessions end, its authenticator stays (so whoever
        reset it still lacks the owner's second factor), and the reset and the owner's change
        that follows name the resetter in the audit trail."""
        from django.contrib import messages
        from django.http import HttpResponseRedirect
        from django.template.response import TemplateResponse

        target = self.get_object(request, id)
        if target is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, id)
        if not self._may_edit_account(request, target) or target.is_service_account:
            raise PermissionDenied
        if request.method == "POST":
            password = password_reset_by_admin(user=target, actor=request.user, request=request)
            messages.warning(
                request,
                f"已重置“{target}”的密码。初始密码（只显示这一次，请当面或以密封方式交给本人，"
                f"{reset_password_hours():g} 小时内有效，首次登录须修改）：{password}",
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[target.pk]))
        context = {
            **self.admin_site.each_context(request), "title": f"重置密码：{target}", "original": target,
            "opts": self.opts, "has_otp": target.totpdevice_set.filter(confirmed=True).exists(),
        }
        return TemplateResponse(request, "admin/accounts/user/reset_password.html", context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Staff status follows the roles so nobody gets the admin without an admin role.
        from cityops.accounts.roles import ROLES

        user = form.instance
        if hasattr(user, "_role_codes"):
            del user._role_codes
        staff = any(ROLES[c].staff for c in user.role_codes if c in ROLES)
        if user.is_staff != staff and not user.is_superuser:
            User.objects.filter(pk=user.pk).update(is_staff=staff)


admin.site.unregister(Group)


class RoleAdminForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name", "permissions"]

    def clean(self):
        cleaned = super().clean()
        permissions = cleaned.get("permissions")
        if permissions is not None and self.instance.pk is not None:
            # Only what is added is checked, as the signal does: roles_sync may have left a
            # permission a later table no longer forbids. The role comes from the group's key.
            before = set(self.instance.permissions.values_list("pk", flat=True))
            adding = [p for p in permissions if p.pk not in before]
            try:
                check_group_permissions(self.instance, adding)
            except ValidationError as exc:
                self.add_error("permissions", exc)
        elif permissions is not None:
            try:
                check_group_permissions(None, permissions)
            except ValidationError as exc:
                self.add_error("permissions", exc)
        return cleaned


@admin.register(Group)
class RoleAdmin(DjangoGroupAdmin):
    """Roles are groups bound to a role code by `RoleKey` (`accounts/roles.py`); shown by their
    Chinese names. The name is a label: renaming a group changes neither its role nor its limits.

    Their permissions are set by `cityops roles_sync` from `ROLE_PERMISSIONS`; an edit here
    lasts until the next sync."""

    form = RoleAdminForm
    list_display = ["role_name", "code", "description", "member_count"]
    search_fields = ["name"]
    ordering = ["name"]

    @admin.display(description="角色名称")
    def role_name(self, obj: Group) -> str:
        code = group_role(obj)
        return role_label(code) if code else obj.name

    @admin.display(description="角色代码", ordering="role_key__code")
    def code(self, obj: Group) -> str:
        return group_role(obj) or "—（自定义组）"

    @admin.display(description="职责")
    def description(self, obj: Group) -> str:
        role = ROLES.get(group_role(obj) or "")
        return role.description if role else ""

    @admin.display(description="用户数", ordering="member_count")
    def member_count(self, obj: Group) -> int:
        return obj.member_count  # type: ignore[attr-defined]  # annotated by get_queryset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("role_key").annotate(member_count=Count("user"))

    def get_readonly_fields(self, request, obj=None):
        # A role group keeps its name (it is how people recognise it); its role is the key anyway.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and group_role(obj) and not request.user.is_superuser:
            fields.append("name")
        return fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "name":
            field.label = "组名"
            field.help_text = "仅为显示名称；角色由系统内部的角色标识确定，改名不会改变角色。"
        return field

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "permissions":
            kwargs["form_class"] = PermissionField
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "permissions":
            field.label = "权限"
            field.help_text = "由 cityops roles_sync 按 accounts/roles.py 同步；此处修改在下次同步时会被还原。"
        return field


# django-otp's device admin with Chinese section titles (its models are renamed in admin_labels).
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TotpDeviceAdmin(DjangoTOTPDeviceAdmin):
    search_help_text = "按用户名或电子邮件地址搜索"
    SECTION_TITLES = {"Identity": "设备", "Timestamps": "时间", "Configuration": "参数", "State": "状态", "Throttling": "错误限制"}

    def get_fieldsets(self, request, obj=None):
        return [(self.SECTION_TITLES.get(title, title), options) for title, options in super().get_fieldsets(request, obj)]
