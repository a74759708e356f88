from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views import defaults

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


def favicon(request):
    # Resolved per request: the hashed name exists only after collectstatic in production.
    return redirect(static("cityops/favicon.svg"), permanent=True)


# ---------------------------------------------------------------- error pages (config/urls.py handler400 … 500)
# People get the Chinese pages of web/templates (400/403/404/500.html, 403_csrf.html for a failed
# CSRF check); machines calling a path under the API get the API's JSON shape instead of HTML.
_API_PREFIX = "/api/"
_OPEN311_PREFIX = "/open311/"
_ERROR_MESSAGES = {
    400: ("bad_request", "请求无效。"),
    403: ("forbidden", "无权执行此操作。"),
    404: ("not_found", "资源不存在。"),
    500: ("server_error", "服务器内部错误，请稍后重试。"),
}


def _machine_error(request, status: int) -> JsonResponse | None:
    path = getattr(request, "path", "") or ""
    code, message = _ERROR_MESSAGES[status]
    if path.startswith(_API_PREFIX):
        return JsonResponse({"code": code, "message": message, "details": None}, status=status,
                            json_dumps_params={"ensure_ascii": False})
    if path.startswith(_OPEN311_PREFIX):
        # GeoReport v2's error list.
        return JsonResponse([{"code": status, "description": message}], status=status, safe=False,
                            json_dumps_params={"ensure_ascii": False})
    return None


def bad_request(request, exception):
    return _machine_error(request, 400) or defaults.bad_request(request, exception)


def permission_denied(request, exception):
    return _machine_error(request, 403) or defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    return _machine_error(request, 404) or defaults.page_not_found(request, exception)


def server_error(request):
    return _machine_error(request, 500) or defaults.server_error(request)
