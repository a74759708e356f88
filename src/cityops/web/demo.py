"""Steps of `cityops demo`, in order. Apps that bring demo data append their command here."""

DEMO_STEPS: list[tuple[str, str]] = [
    ("行政区划（城东区街道、社区）", "geo_load"),
    ("分类、部门、权责清单、节假日", "catalog_load"),
    ("演示网格（合成数据）", "geo_demo"),
    ("绩效目标与考核权重方案", "assessment_load_targets"),
    ("接入映射示例（市平台分类、地址、报警类型）", "api_demo_mappings"),
]
