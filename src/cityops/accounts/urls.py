from django.urls import path

from cityops.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.security, name="security"),
    path("password/", views.password_change, name="password_change"),
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("otp/verify/", views.otp_verify_view, name="otp_verify"),
    path("otp/disable/", views.otp_disable, name="otp_disable"),
    path("otp/enrolment-codes/", views.otp_enrolment_codes, name="otp_enrolment_codes"),
]
