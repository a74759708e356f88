"""等保 2.0 身份鉴别 (口令复杂度) — finding 9: `Password123!` was accepted. Common words, the
system's name, the username and keyboard runs with digits and symbols around them, repeated
characters and digit runs are refused, in Chinese (cityops.accounts.validators.PatternValidator)."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from cityops.accounts.services import generate_password
from cityops.accounts.tests.factories import UserFactory
from cityops.accounts.tests.helpers import codes_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("password", ["Password123!", "Admin@2024", "P@ssw0rd2024", "Adm1n@2024", "Welcome2024!x", "Monkey#2024"])
def test_a_common_word_with_digits_and_symbols_is_refused(password):
    assert "password_common_word" in codes_of(password, UserFactory())


@pytest.mark.parametrize("password", ["Cityops#2024", "CityOps@123", "Sysadmin-2024"])
def test_the_systems_name_or_a_role_with_decorations_is_refused(password):
    assert "password_common_word" in codes_of(password, UserFactory())


def test_the_username_with_decorations_is_refused_as_a_pattern():
    assert "password_common_word" in codes_of("Wangfang@2024", UserFactory(username="wangfang"))


@pytest.mark.parametrize("password", ["Qwer1234!", "Abcd1234", "1qaz2wsx!Q", "Qwerasdf12!", "Zxcvbnm,./1", "Poiu#0987"])
def test_a_keyboard_or_alphabet_run_with_digits_is_refused(password):
    codes = codes_of(password, UserFactory())
    assert codes & {"password_keyboard_sequence", "password_common_word"}, codes


@pytest.mark.parametrize("password", ["Ab1!Ab1!Ab1!", "Xk-9999-Lm#q", "Tr7#Tr7#Tr7#"])
def test_repeated_characters_or_chunks_are_refused(password):
    assert "password_repeated" in codes_of(password, UserFactory())


@pytest.mark.parametrize("password", ["A1234567890!", "Zx#98765432"])
def test_a_digit_run_with_hardly_any_letters_is_refused(password):
    assert "password_digit_sequence" in codes_of(password, UserFactory())


def test_the_refusal_names_the_word_in_chinese():
    with pytest.raises(ValidationError) as exc:
        validate_password("Password123!", UserFactory())
    assert any("常见单词或名称（password）" in message for message in exc.value.messages)


@pytest.mark.parametrize("password", ["Harbour-lights7", "Tiger-Moth-42", "Xk9#mQ2!vL7p", "Sun!2024#Kat"])
def test_passwords_without_a_guessable_core_pass(password):
    assert codes_of(password, UserFactory()) == set()


def test_generated_initial_passwords_pass_the_policy():
    user = UserFactory()
    assert all(codes_of(generate_password(), user) == set() for _ in range(200))


def test_the_change_page_refuses_password123_in_chinese(client):
    user = UserFactory(username="changer")
    client.force_login(user)
    response = client.post("/account/password/", {
        "old_password": "Demo-pass-123", "new_password1": "Password123!", "new_password2": "Password123!",
    })
    assert response.status_code == 200 and "仅加数字或符号很容易被猜到" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("Demo-pass-123")


def test_the_change_page_lists_the_pattern_rule(client):
    client.force_login(UserFactory())
    assert "不能以常见单词、系统名称、键盘或字母顺序为主体" in client.get("/account/password/").content.decode()
