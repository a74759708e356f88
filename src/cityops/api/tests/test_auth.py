"""Token issue, refusal, expiry and revocation; every refusal is JSON."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.api.models import ApiToken
from cityops.api.tests.client import ApiClient

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"


def test_valid_credentials_get_a_token_that_opens_the_api(department):
    user = UserFactory(role="dispatcher", username="zhangsan")
    response = ApiClient().post("/auth/token", {"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_at"]
    assert ApiClient(token=body["token"]).get("/departments").status_code == 200
    assert ApiToken.objects.get(user=user).last_used_at is not None


def test_token_is_stored_only_as_a_sha256_digest_of_its_secret(db):
    UserFactory(role="operator", username="lisi")
    token = ApiClient().post("/auth/token", {"username": "lisi", "password": PASSWORD}).json()["token"]
    prefix, secret = token.split(".", 1)
    record = ApiToken.objects.get(prefix=prefix)
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in record.key_hash


def test_token_lifetime_defaults_to_eight_hours_and_follows_the_setting(db, settings):
    UserFactory(username="wangwu")
    before = timezone.now()
    ApiClient().post("/auth/token", {"username": "wangwu", "password": PASSWORD})
    assert abs(ApiToken.objects.get().expires_at - before - timedelta(hours=8)) < timedelta(minutes=1)
    settings.CITYOPS_API_TOKEN_HOURS = 2
    ApiClient().post("/auth/token", {"username": "wangwu", "password": PASSWORD})
    assert abs(ApiToken.objects.order_by("-id").first().expires_at - before - timedelta(hours=2)) < timedelta(minutes=1)


def test_wrong_password_is_refused_with_invalid_credentials(db):
    UserFactory(username="zhaoliu")
    response = ApiClient().post("/auth/token", {"username": "zhaoliu", "password": "wrong-password"})
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"code": "invalid_credentials", "message": "用户名或密码错误", "details": None}
    assert not ApiToken.objects.exists()


def test_unknown_user_and_inactive_user_are_refused_the_same_way(db):
    UserFactory(username="gone", is_active=False)
    for username in ("nobody", "gone"):
        response = ApiClient().post("/auth/token", {"username": username, "password": PASSWORD})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"


def test_token_request_without_password_is_a_validation_error(db):
    response = ApiClient().post("/auth/token", {"username": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "password" in response.json()["details"]


def test_locked_out_account_gets_a_json_429_not_the_html_page(db):
    UserFactory(username="locked")
    client = ApiClient()
    for _ in range(5):
        client.post("/auth/token", {"username": "locked", "password": "wrong-password"})
    # Even the right password is refused while the account is locked.
    response = client.post("/auth/token", {"username": "locked", "password": PASSWORD})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "locked_out" and "锁定" in body["message"]
    assert not ApiToken.objects.exists()


def test_a_successful_token_request_clears_earlier_failures(db):
    user = UserFactory(username="forgetful")
    client = ApiClient()
    for _ in range(4):
        client.post("/auth/token", {"username": "forgetful", "password": "wrong-password"})
    assert client.post("/auth/token", {"username": "forgetful", "password": PASSWORD}).status_code == 200
    for _ in range(4):
        client.post("/auth/token", {"username": "forgetful", "password": "wrong-password"})
    assert client.post("/auth/token", {"username": "forgetful", "password": PASSWORD}).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None


def test_user_who_must_change_the_initial_password_gets_no_token(db):
    UserFactory(username="newbie", must_change_password=True)
    response = ApiClient().post("/auth/token", {"username": "newbie", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"


def test_missing_or_malformed_authorization_is_401_json(db):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}, {"HTTP_AUTHORIZATION": "Bearer abc.def"},
                    {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}):
        client = ApiClient()
        client.headers = headers
        response = client.get("/cases")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_refused(db):
    user = UserFactory(role="operator")
    client = ApiClient(user)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/cases")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized" and "过期" in response.json()["message"]


def test_revoked_token_is_refused(db):
    client = ApiClient(UserFactory(role="operator"))
    ApiToken.objects.update(revoked=True)
    assert client.get("/cases").status_code == 401


def test_token_of_a_deactivated_user_is_refused(db):
    user = UserFactory(role="operator")
    client = ApiClient(user)
    user.is_active = False
    user.save()
    assert client.get("/cases").status_code == 401


def test_deleting_the_token_revokes_it(db):
    client = ApiClient(UserFactory(role="operator"))
    assert client.delete("/auth/token").status_code == 204
    assert ApiToken.objects.get().revoked
    assert client.get("/cases").status_code == 401
