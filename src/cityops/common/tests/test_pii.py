"""Personal data in free text is found by shape and check digit, and masked."""

from cityops.common.pii import find_personal, id_card_valid, luhn_valid, mask_text

VALID_ID = "11010519491231002X"  # the check digit of GB 11643's own example


def test_an_id_card_number_with_a_valid_check_digit_is_masked():
    assert mask_text(f"身份证号{VALID_ID}请核实") == "身份证号110105********002X请核实"


def test_an_eighteen_digit_number_with_a_wrong_check_digit_is_not_an_id_card():
    assert not id_card_valid("110105194912310021")
    assert [f.kind for f in find_personal("编号110105194912310021")] != ["id_card"]


def test_mobile_numbers_with_and_without_separators_are_masked():
    assert mask_text("电话13812345678，或138-1234-5678") == "电话138****5678，或138****5678"


def test_a_landline_with_area_code_is_masked():
    assert mask_text("座机010-62345678") == "座机010****5678"


def test_a_bank_card_passing_luhn_is_masked_to_its_last_four_digits():
    assert luhn_valid("6222021234567890128") or luhn_valid("4111111111111111")
    assert mask_text("卡号4111 1111 1111 1111退款") == "卡号****1111退款"


def test_an_email_address_is_masked():
    assert mask_text("邮箱 zhang.san@example.com") == "邮箱 z***@example.com"


def test_case_numbers_dates_and_amounts_stay():
    text = "案件CD20261207-0001于2026-12-07反映，金额12000元，楼号15号"
    assert mask_text(text) == text


def test_digits_glued_to_a_longer_number_are_not_a_phone():
    assert mask_text("订单号2013812345678999") == "订单号2013812345678999"


def test_full_width_digits_typed_with_a_chinese_input_method_are_masked():
    assert mask_text("电话：１３８１２３４５６７８。") == "电话：138****5678。"


def test_text_without_a_long_digit_run_or_at_sign_is_returned_as_is():
    text = "东关大街12号3单元，垃圾三天未清运"
    assert mask_text(text) is text


def test_every_string_inside_a_payload_is_masked_and_other_values_stay():
    from cityops.common.pii import mask_value

    payload = {"note": "电话13812345678", "value": 3, "items": ["邮箱 a.b@example.com", None], "passed": True}
    assert mask_value(payload) == {"note": "电话138****5678", "value": 3, "items": ["邮箱 a***@example.com", None], "passed": True}


def test_the_issue_example_masks_both_the_phone_and_the_id_card_number():
    assert mask_text("联系电话13812345678 身份证11010519491231002X") == "联系电话138****5678 身份证110105********002X"


def test_an_email_right_after_chinese_text_is_masked_and_a_long_letter_run_without_one_stays():
    assert mask_text("邮箱abc.d@example.com。") == "邮箱a***@example.com。"
    text = "a" * 4000 + "@"
    assert mask_text(text) == text
