from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from cityops.accounts.models import User
from cityops.accounts.roles import ADMIN_ROLES
from cityops.accounts.services import check_separation_of_duties, may_assign_roles


class UserAdminForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "username", "password", "display_name", "phone", "email", "groups", "department", "grids",
            "is_active", "must_change_password",
        ]

    def clean(self):
        cleaned = super().clean()
        groups = cleaned.get("groups")
        if groups is not None:
            try:
                check_separation_of_duties(g.name for g in groups)
            except ValidationError as exc:
                self.add_error("groups", exc)
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminForm
    list_display = ["username", "display_name", "department", "role_list", "is_active", "last_login"]
    list_filter = ["groups", "department", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "phone"]
    filter_horizontal = ["groups", "grids"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("个人信息", {"fields": ["display_name", "phone", "email"]}),
        ("角色与范围", {"fields": ["groups", "department", "grids"]}),
        ("状态", {"fields": ["is_active", "is_staff", "must_change_password", "last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined", "is_staff"]

    @admin.display(description="角色")
    def role_list(self, obj: User) -> str:
        from cityops.accounts.roles import role_label

        return "、".join(role_label(g.name) for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department").prefetch_related("groups")

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
            fields.append("groups")
        if not self._may_edit_account(request, obj):
            fields += [f for f in UserAdminForm.Meta.fields if f != "groups"]
        return fields

    def user_change_password(self, request, id, form_url=""):
        target = self.get_object(request, id)
        if target is not None and not self._may_edit_account(request, target):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Staff status follows the roles so nobody gets the admin without an admin role.
        from cityops.accounts.roles import ROLES

        user = form.instance
        staff = any(ROLES[g.name].staff for g in user.groups.all() if g.name in ROLES)
        if user.is_staff != staff and not user.is_superuser:
            User.objects.filter(pk=user.pk).update(is_staff=staff)
