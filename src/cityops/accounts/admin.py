from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from cityops.accounts.models import User
from cityops.accounts.services import check_separation_of_duties


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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Staff status follows the roles so nobody gets the admin without an admin role.
        from cityops.accounts.roles import ROLES

        user = form.instance
        staff = any(ROLES[g.name].staff for g in user.groups.all() if g.name in ROLES)
        if user.is_staff != staff and not user.is_superuser:
            User.objects.filter(pk=user.pk).update(is_staff=staff)
