"""Passwords are hashed with Argon2id (parameters in docs/security.md); the PBKDF2 hashes of
older installations still sign in and are re-hashed at that sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.urls import reverse

from cityops.accounts.hashers import Argon2idHasher
from cityops.accounts.models import PasswordHistory
from cityops.accounts.tests.factories import UserFactory
from config.settings import base

PASSWORD = "Demo-pass-123"


def test_argon2id_is_the_first_hasher_of_every_deployed_profile():
    assert base.PASSWORD_HASHERS[0] == "cityops.accounts.hashers.Argon2idHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in base.PASSWORD_HASHERS


def test_the_argon2id_parameters_are_the_documented_ones():
    hasher = Argon2idHasher()
    assert (hasher.memory_cost, hasher.time_cost, hasher.parallelism) == (47104, 1, 1)
    assert "m=47104,t=1,p=1" in hasher.encode(PASSWORD, hasher.salt())


@pytest.mark.django_db
def test_a_pbkdf2_password_signs_in_and_is_rehashed_with_argon2id(client, settings):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user = UserFactory(username="veteran")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    changed_at, history = user.password_changed_at, PasswordHistory.objects.filter(user=user).count()

    response = client.post(reverse("web:login"), {"username": "veteran", "password": PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$v=19$m=47104,t=1,p=1$")
    # A re-hash is neither a password change (expiry clock) nor a history entry.
    assert user.password_changed_at == changed_at
    assert PasswordHistory.objects.filter(user=user).count() == history
