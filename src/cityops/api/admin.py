from django.contrib import admin

from cityops.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued through the API; here they can only be reviewed and revoked."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        count = queryset.update(revoked=True)
        self.message_user(request, f"已吊销 {count} 个令牌。")
