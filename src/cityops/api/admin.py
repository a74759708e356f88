from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from cityops.api import keys, tokens, webhooks
from cityops.api.models import ApiCallLog, ApiKey, ApiToken, WebhookDelivery, WebhookSubscription
from cityops.intake.admin import json_block


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
        tokens.token_rows.invalidate()
        self.message_user(request, f"已吊销 {count} 个令牌。")


# ---------------------------------------------------------------- API keys


class ApiKeyCreateForm(forms.ModelForm):
    """A key always gets a new service account of role `system` (submit cases, read their own).

    三员分立: no `user` field (a key is never bound to a person's account) and no role choice; a
    business role or department scope is given to the service account afterwards by the
    security administrator, in the user admin (docs/security.md, "API keys")."""

    class Meta:
        model = ApiKey
        fields = ["name"]
        help_texts = {"name": "接入系统名称。将新建“外部系统”服务账号；如需业务角色，由安全管理员在用户管理中为该服务账号分配。"}


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown once, in the message after they are created; only their digest is stored."""

    list_display = ["name", "prefix", "user", "service_roles", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["name", "user", "service_roles", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="服务账号角色")
    def service_roles(self, obj: ApiKey) -> str:
        return "、".join(keys.roles.role_label(c) for c in sorted(obj.user.role_codes)) or "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the call log keeps pointing at the key

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        try:
            issued = keys.apikey_issue(
                name=data["name"], role=keys.roles.SYSTEM, created_by=request.user.get_username(),
                actor=request.user, request=request,
            )
        except keys.KeyIssueError as exc:
            self.message_user(request, f"未创建：{exc}", messages.ERROR)
            obj.pk = None
            return
        obj.pk = issued.record.pk
        obj.__dict__.update({k: v for k, v in issued.record.__dict__.items() if not k.startswith("_")})
        self.message_user(
            request, f"已创建 API 密钥“{issued.record.name}”，请立即复制保存，此后不再显示：{issued.key}", messages.WARNING,
        )

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            super().log_addition(request, obj, message)

    @admin.action(description="吊销所选密钥", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"已吊销 {count} 个密钥。")


@admin.register(ApiCallLog)
class ApiCallLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "key_name", "method", "path", "status_code", "duration_ms", "ip"]
    list_filter = ["key_name", "method", "status_code"]
    search_fields = ["key_name", "path"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------- webhooks


def _is_security_admin(user) -> bool:
    """Webhook subscriptions are the security administrator's (三员分立: sysadmin runs the
    systems but cannot open a data channel to a place of its choosing)."""
    return bool(user and user.is_active and (user.is_superuser or user.has_role(keys.roles.SECADMIN)))


def _service_accounts():
    from django.contrib.auth import get_user_model

    from cityops.api import outbound

    User = get_user_model()
    candidates = User.objects.filter(is_active=True, is_staff=False, is_superuser=False, password__startswith="!")
    return User.objects.filter(pk__in=[u.pk for u in candidates if outbound.is_service_account(u)])


class WebhookSubscriptionForm(forms.ModelForm):
    """The account and the URL are checked by the model's clean() (api.outbound): a service
    account of role system, a target on CITYOPS_WEBHOOK_ALLOWED_HOSTS over https."""

    url = forms.CharField(label="推送地址", max_length=500,
                          help_text="https 地址，主机须在 CITYOPS_WEBHOOK_ALLOWED_HOSTS 允许列表中")
    events = forms.MultipleChoiceField(
        label="订阅事件", widget=forms.CheckboxSelectMultiple,
        choices=[("*", "全部事件")] + [(k, f"{k}（{v}）") for k, v in webhooks.EVENT_TYPES.items()],
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "account", "url", "events", "active"]
        help_texts = {"account": "只能选择角色为“外部系统”的服务账号（不能登录的账号）；推送内容按该账号的权限脱敏"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "account" in self.fields:
            self.fields["account"].queryset = _service_accounts()

    def clean_url(self):
        return (self.cleaned_data.get("url") or "").strip()


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "account", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url", "account__username"]
    readonly_fields = ["secret_hint", "created_at"]
    actions = ["rotate_secret"]

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_security_admin(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return _is_security_admin(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_security_admin(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_security_admin(request.user) and super().has_delete_permission(request, obj)

    @admin.display(description="签名密钥")
    def secret_hint(self, obj):
        return f"{obj.secret[:4]}…（创建或更换时显示一次）" if obj and obj.secret else "保存后生成"

    def save_model(self, request, obj, form, change):
        from cityops.audit.models import AuditAction
        from cityops.audit.services import audit_record

        created = not obj.secret
        if created:
            obj.secret = webhooks.new_secret()
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditAction.CONFIG_CHANGE, request=request, target=f"webhook_subscription:{obj.pk}",
            details={"change": "update" if change else "create", "name": obj.name, "account": obj.account.get_username(),
                     "url": obj.url, "events": obj.events, "active": obj.active},
        )
        if created:
            self.message_user(request, f"签名密钥（请立即复制给对方系统，此后不再完整显示）：{obj.secret}", messages.WARNING)

    @admin.action(description="更换签名密钥", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            subscription.secret = webhooks.new_secret()
            subscription.save(update_fields=["secret"])
            self.message_user(request, f"{subscription.name} 的新签名密钥：{subscription.secret}", messages.WARNING)


RESPONSE_EXCERPT = 200


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: status, attempts, the reply's status code and a short escaped excerpt
    of it; the payload as a subscriber without the personal-data permission would see it.
    Re-send puts a delivery back in the queue (through the same target checks)."""

    list_display = ["created_at", "subscription", "event_type", "status", "attempts", "last_status_code", "last_error",
                    "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type", "subscription"]
    search_fields = ["case_event__case__number"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name not in ("payload", "last_response")] + [
        "payload_masked", "response_excerpt"]
    exclude = ["payload", "last_response"]  # never as form fields: shown only masked / as an excerpt
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="内容（个人信息已脱敏）")
    def payload_masked(self, obj):
        return json_block(webhooks.mask_payload(obj.payload)) if obj else ""

    @admin.display(description="最近响应（摘录）")
    def response_excerpt(self, obj):
        from django.utils.html import format_html

        text = (obj.last_response or "") if obj else ""
        if not text:
            return "—"
        from cityops.common.pii import mask_text

        excerpt = mask_text(text[:RESPONSE_EXCERPT]) + ("…" if len(text) > RESPONSE_EXCERPT else "")
        return format_html("<code>{}</code>", excerpt)

    @admin.action(description="重新推送所选记录", permissions=["change"])
    def resend(self, request, queryset):
        deliveries = list(queryset.select_related("subscription"))
        webhooks.webhook_resend(deliveries=deliveries)
        sent = sum(1 for d in WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
                   .select_related("subscription__account") if webhooks.deliver(d))
        self.message_user(request, f"已重新推送 {len(deliveries)} 条，其中 {sent} 条送达；未送达的将按退避策略重试。")
