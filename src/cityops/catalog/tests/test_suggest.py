from __future__ import annotations

import pytest

from cityops.catalog.models import CategorySystem
from cityops.catalog.selectors import suggest_categories
from cityops.catalog.tests.factories import LeafCategoryFactory

pytestmark = pytest.mark.django_db


def codes(text: str, **kwargs) -> list[str]:
    return [s.category.code for s in suggest_categories(text, **kwargs)]


def test_specific_name_beats_a_generic_keyword(loaded_catalog) -> None:
    suggestions = suggest_categories("和平路口有个燃气井盖丢了，很危险")
    assert suggestions[0].category.code == "P0111"
    assert "燃气井盖" in suggestions[0].matched


def test_keywords_find_the_event(loaded_catalog) -> None:
    assert codes("小区门口垃圾堆了好几天，成堆的生活垃圾没人清理")[0] == "E0102"
    assert codes("晚上有人在路边露天烧烤，烟很大")[0] == "E0510"


def test_suggestions_can_be_limited_to_the_hotline_taxonomy(loaded_catalog) -> None:
    suggestions = suggest_categories("家里暖气不热，供暖温度不达标", system=CategorySystem.HOTLINE)
    assert suggestions[0].category.name == "冬季采暖"
    assert all(s.category.system == CategorySystem.HOTLINE for s in suggestions)


def test_limit_caps_the_number_of_suggestions(loaded_catalog) -> None:
    assert len(suggest_categories("井盖", limit=3)) == 3
    assert suggest_categories("井盖", limit=0) == []


def test_text_without_any_known_term_gives_no_suggestion(loaded_catalog) -> None:
    assert suggest_categories("今天天气不错") == []
    assert suggest_categories("   ") == []


def test_new_category_is_suggested_right_after_it_is_saved(loaded_catalog) -> None:
    assert codes("共享充电宝柜子倒了") == []
    leaf = LeafCategoryFactory(name="共享充电宝柜", keywords="充电宝")
    assert codes("共享充电宝柜子倒了") == [leaf.code]
