from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from cityops.accounts.roles import ROLES
from cityops.web.navigation import nav_for


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    user = request.user
    roles = [ROLES[code] for code in sorted(user.role_codes) if code in ROLES]
    desks = [item for item in nav_for(user) if item["url"] != request.path]
    return render(request, "web/home.html", {"roles": roles, "desks": desks})


def locked_out(request, credentials=None, *args, **kwargs):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "message": "登录失败次数过多，账号已临时锁定，请 15 分钟后再试。", "details": None}, status=429)
    return render(request, "registration/locked_out.html", status=429)


def favicon(request):
    # Resolved per request: the hashed name exists only after collectstatic in production.
    return redirect(static("cityops/favicon.svg"), permanent=True)
