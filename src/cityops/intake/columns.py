"""The columns of the case spreadsheet, shared by the import template, the importer and the exports.

An export is an import file plus read-only columns: its first columns (案件编号, 状态) and
its trailing ones are ignored on import, so an exported file can be imported again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    help: str = ""
    example: object = ""
    width: int = 14
    aliases: tuple[str, ...] = ()


# The import columns, in template order. Only 问题描述 must be present; the others may be left out.
IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("external_id", "外部编号", help="来源系统中的编号，可空；同一来源渠道内不能重复（最长 64 字）",
           example="SJ20261126000123", width=20),
    Column("channel", "来源渠道", help="热线电话、市级12345平台、网格员上报、市民网上反映、Open311、系统接口、视频/物联感知，或其编码；空则为热线电话",
           example="市级12345平台", width=14),
    Column("case_type", "工单类型", help="咨询、求助、投诉、举报、建议、表扬，或其编码；空则为投诉", example="投诉", width=10),
    Column("category", "分类编码", help="小类编码（见“分类编码”工作表），如 E0102；可空，受理时再分类", example="E0102", width=10),
    Column("urgency", "紧急程度", help="一般或紧急；空则按分类默认", example="一般", width=10),
    Column("title", "标题", help="可空，最长 120 字", example="小区东门垃圾未清运", width=20),
    Column("description", "问题描述", required=True, help="必填，最长 4000 字",
           example="小区东门外垃圾堆放两天没人清运，气味很大。", width=40),
    Column("address", "地址", help="可空，最长 200 字", example="东关大街 12 号", width=24),
    Column("lon", "经度", help="十进制度数，如 101.7812；投诉、求助、举报必须有位置，咨询、建议、表扬可空", example=101.7812, width=12),
    Column("lat", "纬度", help="十进制度数，如 36.6231；与经度同时填写", example=36.6231, width=12),
    Column("coord_system", "坐标系", help="WGS84（GPS，默认）或 GCJ02（高德、腾讯地图）", example="WGS84", width=10),
    Column("reporter_name", "反映人", help="可空，最长 64 字", example="张先生", width=10),
    Column("reporter_phone", "联系电话", help="可空；请把该列设为文本格式，以免 Excel 改写号码", example="13800000000", width=16),
    Column("created_at", "上报时间", help="日期时间单元格，或文本 2026-11-26 09:30（北京时间）；空则为导入时间，不能晚于当前时间",
           example="2026-11-26 09:30", width=20),
)

# Columns an export adds; an import ignores them.
EXPORT_LEADING: tuple[Column, ...] = (
    Column("number", "案件编号", width=18),
    Column("status", "状态", width=10),
)
EXPORT_TRAILING: tuple[Column, ...] = (
    Column("category_name", "分类名称", width=16),
    Column("street", "街道", width=14),
    Column("community", "社区", width=14),
    Column("grid", "网格编码", width=18),
    Column("department", "处置部门", width=16),
    Column("sla_level", "时限状态", width=10),
    Column("deadline", "环节时限", width=20),
    Column("registered_at", "立案时间", width=20),
    Column("dispatched_at", "派遣时间", width=20),
    Column("responded_at", "反馈时间", width=20),
    Column("closed_at", "结案时间", width=20),
    Column("satisfaction", "满意度", width=10),
    Column("satisfaction_at", "满意度确定时间", width=20),
    Column("satisfaction_source", "满意度来源", width=10),
    Column("citizen_satisfaction", "市民评价", width=10),
    Column("callback_status", "回访状态", width=10),
)
EXPORT_COLUMNS: tuple[Column, ...] = (*EXPORT_LEADING, *IMPORT_COLUMNS, *EXPORT_TRAILING)
EXPORT_ONLY_HEADERS = frozenset(c.header for c in (*EXPORT_LEADING, *EXPORT_TRAILING))
