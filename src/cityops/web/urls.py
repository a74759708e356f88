from django.contrib.auth import views as auth_views
from django.urls import path

from cityops.common.ratelimit import limit_posts
from cityops.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    # Per-IP brake on login posts, on top of django-axes' lockout after repeated failures.
    path("login/", limit_posts("login", "web/ratelimited.html")(views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
