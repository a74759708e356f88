from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from cityops.accounts.policy import password_expires_at
from cityops.accounts.roles import ROLES
from cityops.intake.landing import phone_landing
from cityops.web.navigation import nav_for


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    user = request.user
    if phone := phone_landing(request):  # inspectors and departments on a phone: their phone pages
        return redirect(phone)
    roles = [ROLES[code] for code in sorted(user.role_codes) if code in ROLES]
    desks = [item for item in nav_for(user) if item["url"] != request.path]
    expires = password_expires_at(user)
    # Warn for the last two weeks, so the change isn't a surprise at the next login.
    soon = expires if expires is not None and expires - timezone.now() < timedelta(days=14) else None
    return render(request, "web/home.html", {"roles": roles, "desks": desks, "password_expires_at": soon})


def _lockout_minutes() -> int:
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    return max(int(cooloff.total_seconds() // 60), 1) if isinstance(cooloff, timedelta) else 15


def axes_username(request, credentials=None) -> str | None:
    """The username django-axes records (its default lookup), cut to its 255-character column:
    a longer one typed into a login form was a 500 on PostgreSQL instead of a failed login."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        value = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", None) or {}
        value = data.get(field)
    return value[:255] if isinstance(value, str) else value


def locked_out(request, credentials=None, *args, **kwargs):
    """Too many failed passwords or TOTP codes (django-axes, cityops.accounts.otp)."""
    minutes = _lockout_minutes()
    if request.path.startswith("/api/"):
        message = f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试。"
        return JsonResponse({"code": "locked_out", "message": message, "details": None}, status=429)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def favicon(request):
    # Resolved per request: the hashed name exists only after collectstatic in production.
    return redirect(static("cityops/favicon.svg"), permanent=True)
