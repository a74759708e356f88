"""The one phone rule (`common.validators`): what it accepts, what it refuses, and that no
other module spells it again."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from cityops.common.validators import PHONE_MESSAGE, is_phone, validate_phone

SRC = Path(__file__).resolve().parents[2]  # src/cityops


@pytest.mark.parametrize("phone", ["13812341234", "0971-8123456", "0971-8123456-801", "+86 138 1234 1234", " 12345 "])
def test_is_phone_accepts_mobiles_landlines_extensions_and_country_codes(phone):
    assert is_phone(phone)


def test_is_phone_accepts_full_width_digits_of_a_chinese_input_method():
    assert is_phone("１３８１２３４１２３４")


@pytest.mark.parametrize("phone", ["", "   ", "138abc1234", "138.1234.1234", "电话13812341234", "1" * 21])
def test_is_phone_refuses_letters_dots_blanks_and_more_than_20_characters(phone):
    assert not is_phone(phone)


def test_validate_phone_lets_an_empty_field_pass():
    validate_phone("")
    validate_phone("  ")


def test_validate_phone_refuses_with_the_message_every_face_shows():
    with pytest.raises(ValidationError) as refused:
        validate_phone("138abc1234")
    assert refused.value.messages == [PHONE_MESSAGE] and refused.value.code == "invalid"


def test_no_module_outside_common_spells_the_phone_rule_again():
    copies = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "tests" not in path.parts and path.name != "validators.py"
        and re.search(r"""isdigit\(\) or \w+ in ["']-\+ ["']""", path.read_text(encoding="utf-8"))
    ]
    assert copies == []
