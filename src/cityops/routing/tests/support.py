"""Helpers of the routing tests (the fixtures are in conftest.py): synthetic texts of three
hotline classes, the demo history's leaf categories, and the public complaints data."""

from __future__ import annotations

import random
from pathlib import Path

from cityops.routing.training import Dataset
from cityops.testing.shared_data import require_shared

VOCAB = {
    "H01": ["小区", "物业", "停车", "道路", "施工", "噪音", "房屋", "拆迁", "违建", "井盖", "路灯", "电梯"],
    "H02": ["社保", "工资", "拖欠", "养老", "保险", "失业", "劳动", "合同", "退休", "医保", "加班", "仲裁"],
    "H03": ["学校", "老师", "学生", "教育", "收费", "课外", "培训", "幼儿园", "考试", "招生", "校车", "补课"],
}
FILLER = ["请求", "领导", "尽快", "处理", "反映", "问题", "市民", "希望", "相关", "部门", "谢谢", "情况"]
NAMES = {"H01": "城乡建设", "H02": "劳动和社会保障", "H03": "教育文体"}
DEPARTMENTS = {"H01": ("zhujian", "区住建局"), "H02": ("renshe", "区人社局"), "H03": ("jiaoyu", "区教育局")}


def synthetic_dataset(per_class: int = 50, seed: int = 0) -> Dataset:
    rng = random.Random(seed)
    texts, labels = [], []
    for code, words in VOCAB.items():
        for _ in range(per_class):
            texts.append("".join(rng.sample(words, 4) + rng.sample(FILLER, 3)))
            labels.append(code)
    return Dataset(texts, labels, [f"s{i}" for i in range(len(texts))], {}, "synthetic")


DEMO_LEAVES = {  # code: (parent code, department) — a few 小类 of CATEGORIES, both systems
    "E0102": ("E01", "chengguan"), "E0301": ("E03", "chengguan"), "E0508": ("E05", "chengguan"),
    "P0118": ("P01", "chengguan"), "H010208": ("H0102", "zhujian"), "H020306": ("H0203", "renshe"),
}


def real_data(name: str) -> Path:
    """A file of the public complaints data (`complaints/<name>` in the shared data folder);
    skips the test when it is absent."""
    return require_shared("complaints", name)
