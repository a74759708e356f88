import pytest

from cityops.routing.text import MAX_FEATURE_CHARS, char_text, is_garbage, normalize, words


def test_normalize_folds_width_case_whitespace_and_traditional_characters():
    assert normalize("  ＡＢＣ１２３\t\n 漢字　轉換 ") == "abc123 汉字 转换"


def test_normalize_caps_the_length():
    assert len(normalize("字" * 50_000)) == MAX_FEATURE_CHARS


def test_char_text_is_the_same_for_segmented_and_raw_text():
    assert char_text(normalize("小区 物业 违规 收费")) == char_text(normalize("小区物业违规收费！"))


@pytest.mark.parametrize("text", ["", None, "好", "😀😀😀", "！？。，", "   ", "a1"])
def test_too_little_text_is_garbage(text):
    assert is_garbage(text)


@pytest.mark.parametrize("text", ["小区门口垃圾成堆", "路灯坏了 street light broken", "學校亂收費"])
def test_real_complaints_are_not_garbage(text):
    assert not is_garbage(text)


def test_words_segments_raw_text():
    assert "物业" in words(normalize("小区物业违规收费"))
