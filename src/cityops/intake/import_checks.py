"""Reading and checking an import file, row by row, before anything is written (see `imports`).

Every problem becomes a `RowError` (row, column, value, why): file-level problems (format,
encoding, headers, merged header cells, too many rows) are fatal — nothing can be imported —
and row problems mark their row invalid. The rules are those of `cases.services.case_create`
and the hotline intake form, applied to spreadsheet cells.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from cityops.cases.models import Case, Channel, CoordSystem
from cityops.cases.services import LOCATION_OPTIONAL, MAX_DESCRIPTION
from cityops.catalog.models import CaseType, Category, Urgency
from cityops.common.csvsafe import FORMULA_START
from cityops.common.validators import is_phone
from cityops.geo.lookup import NoGeoDataError
from cityops.intake.columns import EXPORT_ONLY_HEADERS, IMPORT_COLUMNS, Column
from cityops.intake.xlsx import CellError, Formula, XlsxError, column_letter, open_xlsx

MAX_STORED_ERRORS = 50_000
EARLIEST = date(2000, 1, 1)
FUTURE_TOLERANCE = timedelta(minutes=5)
# A CSV cell Excel would run as a formula; exports put an apostrophe in front, the reader takes it off.
CSV_ESCAPED = FORMULA_START

ProgressFn = Callable[[str, int, int | None], None]


def max_rows() -> int:
    return int(settings.CITYOPS_IMPORT_MAX_ROWS)


def max_bytes() -> int:
    return int(settings.CITYOPS_IMPORT_MAX_MB) * 1024 * 1024


def max_xlsx_uncompressed_bytes() -> int:
    """What an .xlsx's zip members may unpack to together (zip-bomb defence, see xlsx.check_archive)."""
    return int(settings.CITYOPS_MAX_XLSX_UNCOMPRESSED_MB) * 1024 * 1024


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the spreadsheet row (1 = header, 0 = the file as a whole)."""

    row: int
    column: str
    header: str
    value: str
    message: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ErrorList:
    """Collects errors; keeps the first MAX_STORED_ERRORS, counts all, remembers bad rows."""

    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.total = 0
        self.bad_rows: set[int] = set()
        self.fatal = False  # file-level: nothing can be imported, whatever the mode

    def add(self, row: int, column: int | None, header: str, value: Any, message: str, code: str, *, fatal: bool = False) -> None:
        self.total += 1
        if fatal:
            self.fatal = True
        else:
            self.bad_rows.add(row)
        if len(self.items) < MAX_STORED_ERRORS:
            letter = column_letter(column) if column is not None and column >= 0 else ""
            self.items.append(RowError(row, letter, header, _show(value), message, code))


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        text = value.text
    elif isinstance(value, CellError):
        text = value.code
    elif isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = str(value)
    return text if len(text) <= 100 else text[:97] + "…"


# ---------------------------------------------------------------- reading files


@dataclass
class Table:
    file_format: str
    rows: Iterator[tuple[int, list]]
    estimate: Callable[[int], int | None]
    merged: Callable[[], list[str]]
    encoding: str = ""
    sheet: str = ""


class FileRejected(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def open_source(source) -> tuple[Any, bool]:
    if isinstance(source, str | Path):
        return open(source, "rb"), True  # closed by cases_import
    return source, False


def file_digest(fh) -> tuple[str, int, bytes]:
    """sha256, size and the first bytes of a file object (left at position 0)."""
    fh.seek(0)
    digest = hashlib.sha256()
    size = 0
    head = b""
    limit = max_bytes()
    while chunk := fh.read(1 << 20):
        if not head:
            head = chunk[:8]
        digest.update(chunk)
        size += len(chunk)
        if size > limit:
            raise FileRejected(f"文件过大（超过 {limit // 1048576} MB），请拆分后分批导入。", "too_large")
    fh.seek(0)
    return digest.hexdigest(), size, head


def detect_format(filename: str, head: bytes) -> str:
    suffix = Path(filename or "").suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            "不支持旧版 Excel 97-2003 (.xls) 文件或加密的工作簿：请在 Excel 中去掉密码并“另存为”Excel 工作簿 (.xlsx) 后导入。",
            "xls_unsupported",
        )
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if suffix in (".xlsx", ".xlsm"):
        raise FileRejected("文件扩展名是 .xlsx，但内容不是 Excel 工作簿，请用 Excel 另存为 .xlsx 后导入。", "not_xlsx")
    if suffix in (".xls", ".et", ".ods", ".numbers"):
        raise FileRejected(f"不支持 {suffix} 文件，请另存为 Excel 工作簿 (.xlsx) 或 CSV UTF-8 后导入。", "unsupported_format")
    return "csv"


def _decode_csv(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]  # Excel's "Unicode text" (tab-separated)
    else:
        # Excel on Chinese Windows saves "CSV (逗号分隔)" in GBK; GB18030 is its superset.
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected("无法识别文件编码：请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后导入。", "encoding")


def _csv_value(text: str):
    """A non-empty, stripped CSV cell that starts with ' or =."""
    if text[0] == "'" and CSV_ESCAPED.match(text[1:]):
        return text[1:]  # our exports escape =, +, -, @ with a leading apostrophe
    if text[0] == "=":
        return Formula(text)
    return text


def read_csv(data: bytes) -> Table:
    text, encoding = _decode_csv(data)
    if "\x00" in text:
        raise FileRejected("文件包含空字符 (NUL)，不是有效的文本 CSV 文件。", "csv_error")
    end = text.find("\n")
    first_line = text[: end if end >= 0 else len(text)]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    lines = text.count("\n") + 1

    def rows() -> Iterator[tuple[int, list]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        number = 0
        try:
            for record in reader:
                number += 1
                values = [
                    (_csv_value(cell) if cell[0] in "'=" else cell) if (cell := raw.strip()) else None for raw in record
                ]
                if any(v is not None for v in values):
                    yield number, values
        except csv.Error as exc:
            raise FileRejected(f"CSV 格式错误（第 {number + 1} 行）：{exc}", "csv_error") from None

    return Table("csv", rows(), estimate=lambda seen: lines, merged=list, encoding=encoding)


def read_xlsx(fh) -> Table:
    try:
        sheet = open_xlsx(fh, prefer_sheet="案件", max_uncompressed=max_xlsx_uncompressed_bytes())
    except XlsxError as exc:
        raise FileRejected(exc.message, exc.code) from None

    def rows() -> Iterator[tuple[int, list]]:
        try:
            yield from sheet.rows()
        except XlsxError as exc:
            raise FileRejected(exc.message, exc.code) from None

    def estimate(seen: int) -> int | None:
        if sheet.dimension_rows:
            return sheet.dimension_rows
        return int(seen * sheet.size / sheet.bytes_read) if sheet.bytes_read else None

    return Table("xlsx", rows(), estimate=estimate, merged=lambda: sheet.merged, sheet=sheet.name)


# ---------------------------------------------------------------- headers


def _normalise_header(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    return re.sub(r"\s+", "", text).rstrip("*＊")


_HEADER_KEYS: dict[str, str] = {}
for _col in IMPORT_COLUMNS:
    _HEADER_KEYS[_col.header] = _col.key
    _HEADER_KEYS[_col.key] = _col.key
    for _alias in _col.aliases:
        _HEADER_KEYS[_alias] = _col.key
_COLUMNS_BY_KEY: dict[str, Column] = {c.key: c for c in IMPORT_COLUMNS}


def map_header(row_no: int, values: list, errors: ErrorList) -> dict[str, int]:
    """Column key → index; every unknown, duplicate or missing header is an error."""
    mapping: dict[str, int] = {}
    for index, raw in enumerate(values):
        if raw is None:
            continue
        if isinstance(raw, Formula | CellError) or not isinstance(raw, str):
            errors.add(row_no, index, "", raw, "表头必须是文字（不能是公式、数字或日期）。", "bad_header", fatal=True)
            continue
        name = _normalise_header(raw)
        if not name:
            continue
        key = _HEADER_KEYS.get(name)
        if key is None:
            if name in EXPORT_ONLY_HEADERS:
                continue  # a column of our own exports: read-only, ignored
            known = "、".join(c.header for c in IMPORT_COLUMNS)
            errors.add(row_no, index, name, raw, f"未知的列“{name}”。可用的列：{known}（请使用导入模板）。", "unknown_column", fatal=True)
            continue
        if key in mapping:
            errors.add(row_no, index, name, raw, f"列“{name}”重复（第一次出现在 {column_letter(mapping[key])} 列）。", "duplicate_column", fatal=True)
            continue
        mapping[key] = index
    for column in IMPORT_COLUMNS:
        if column.required and column.key not in mapping:
            errors.add(row_no, None, column.header, "", f"缺少必填列“{column.header}”。", "missing_column", fatal=True)
    if ("lon" in mapping) != ("lat" in mapping):
        missing = "纬度" if "lon" in mapping else "经度"
        errors.add(row_no, None, missing, "", f"“经度”和“纬度”两列须同时存在，缺少“{missing}”。", "missing_column", fatal=True)
    return mapping


# ---------------------------------------------------------------- values


def _choices(enum, extra: dict[str, str] | None = None) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in enum.choices:
        table[value.lower()] = value
        table[str(label).lower()] = value
    for alias, value in (extra or {}).items():
        table[alias.lower()] = value
    return table


CHANNELS = _choices(Channel, {"12345": Channel.CITY_PLATFORM, "市级派件": Channel.CITY_PLATFORM, "热线": Channel.HOTLINE,
                              "网格员": Channel.INSPECTOR, "网上": Channel.WEB, "物联感知": Channel.IOT})
CASE_TYPES = _choices(CaseType)
CHANNEL_LABELS = "、".join(str(label) for label in Channel.labels)
CASE_TYPE_LABELS = "、".join(str(label) for label in CaseType.labels)
URGENCIES = _choices(Urgency)
COORD_SYSTEMS = {"wgs84": CoordSystem.WGS84, "gps": CoordSystem.WGS84, "gcj02": CoordSystem.GCJ02,
                 "高德": CoordSystem.GCJ02, "腾讯": CoordSystem.GCJ02, "火星坐标": CoordSystem.GCJ02}
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：时](\d{1,2})分?(?:[:：](\d{1,2})秒?)?)?$")
_TEXT_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _parse_text_datetime(text: str) -> datetime | None:
    """Unambiguous spellings only: ISO 8601, 2026/11/26 9:30, 2026年11月26日 9:30."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    candidate = text.replace("/", "-").replace(".", "-") if text[:4].isdigit() else text
    for fmt in _TEXT_DATE_FORMATS:
        try:
            return datetime.strptime(candidate, fmt)  # noqa: DTZ007  (wall-clock time, made aware below)
        except ValueError:
            continue
    match = _CN_DATE.match(text)
    if match:
        parts = [int(p) if p else 0 for p in match.groups()]
        try:
            return datetime(*parts)  # noqa: DTZ001  (made aware below)
        except ValueError:
            return None
    return None


class RowChecker:
    """Validates one data row after another into a compact tuple for the writer."""

    def __init__(self, mapping: dict[str, int], errors: ErrorList, now: datetime) -> None:
        from cityops.geo.models import Region, UnitGrid

        self.mapping = mapping
        self.errors = errors
        self.now = now
        self.latest = now + FUTURE_TOLERANCE
        self.tz = timezone.get_current_timezone()
        self.categories: dict[str, tuple[int, str, bool, bool]] = {}
        parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True).distinct())
        for pk, code, urgency, active in Category.objects.values_list("id", "code", "default_urgency", "active"):
            self.categories[code] = (pk, urgency, active, pk not in parents)
        self.category_names = dict(Category.objects.values_list("code", "name"))
        self.grid_ids = dict(UnitGrid.objects.values_list("code", "id"))
        self.region_ids = dict(Region.objects.values_list("code", "id"))
        self.external_seen: dict[tuple[str, str], int] = {}
        self.index = {key: mapping.get(key) for key in _COLUMNS_BY_KEY}

    # ------------------------------------------------ helpers

    def _error(self, row: int, key: str, value: Any, message: str, code: str) -> None:
        self.errors.add(row, self.index.get(key), _COLUMNS_BY_KEY[key].header, value, message, code)

    def _cell_problem(self, row: int, key: str, value: Any) -> bool:
        if isinstance(value, Formula):
            self._error(row, key, value, "单元格是公式：请复制该列后“选择性粘贴 → 数值”，再导入。", "formula")
            return True
        if isinstance(value, CellError):
            self._error(row, key, value, f"单元格是错误值 {value.code}，请更正后导入。", "cell_error")
            return True
        return False

    def _text(self, row: int, key: str, value: Any, limit: int) -> str | None:
        """A text cell (numbers are accepted as their digits); None after an error."""
        if value is None:
            return ""
        if isinstance(value, str):
            text = value.strip()
        elif isinstance(value, bool | datetime | date):
            self._error(row, key, value, "应为文字，该单元格是日期或逻辑值。", "not_text")
            return None
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            text = str(int(value)) if value.is_integer() else repr(value)
        elif self._cell_problem(row, key, value):
            return None
        else:
            text = str(value).strip()
        if len(text) > limit:
            self._error(row, key, value, f"超过 {limit} 字（当前 {len(text)} 字）。", "too_long")
            return None
        return text

    def _choice(self, row: int, key: str, value: Any, table: dict[str, str], default: str | None, labels: str) -> str | None:
        if value is None:
            return default
        if self._cell_problem(row, key, value):
            return None
        found = table.get(str(value).strip().lower())
        if found is None:
            self._error(row, key, value, f"无法识别“{_show(value)}”，可填：{labels}。", "invalid_choice")
        return found

    def _coordinate(self, row: int, key: str, value: Any, bound: float) -> float | None:
        if self._cell_problem(row, key, value):
            return None
        if isinstance(value, bool | datetime | date):
            self._error(row, key, value, "应为十进制度数，如 101.7812。", "not_number")
            return None
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            self._error(row, key, value, "应为十进制度数，如 101.7812（不要写度分秒或文字）。", "not_number")
            return None
        if number != number or not -bound <= number <= bound:
            self._error(row, key, value, f"超出范围（-{bound:g} 到 {bound:g}）。", "out_of_range")
            return None
        return number

    def _created_at(self, row: int, value: Any) -> datetime | bool | None:
        """The report time (aware), None when empty; False after an error."""
        if value is None:
            return None
        if self._cell_problem(row, "created_at", value):
            return False
        if isinstance(value, bool):
            moment = None
        elif isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)  # noqa: DTZ001
        elif isinstance(value, int | float):
            self._error(row, "created_at", value,
                        f"上报时间是数字 {value:g}，不是日期：请把该列的单元格格式设为“日期”或“时间”。", "date_number")
            return False
        else:
            moment = _parse_text_datetime(str(value).strip())
            if moment is None:
                self._error(row, "created_at", value,
                            "无法识别的日期文本：请使用日期单元格，或写成 2026-11-26 09:30（年-月-日 时:分）。", "date_text")
                return False
        if moment is None:
            self._error(row, "created_at", value, "应为日期时间。", "date_text")
            return False
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, self.tz)
        if moment > self.latest:
            self._error(row, "created_at", value, "上报时间晚于当前时间。", "date_future")
            return False
        if moment.date() < EARLIEST:
            self._error(row, "created_at", value, f"上报时间早于 {EARLIEST:%Y-%m-%d}，请检查。", "date_too_old")
            return False
        return moment

    # ------------------------------------------------ one row

    def check(self, row: int, values: list) -> list | None:
        """The row as a list in R_* order, or None (its errors recorded). The location is
        resolved later for all rows at once (`locate_rows`)."""
        index = self.index
        size = len(values)

        def get(key: str):
            i = index[key]
            return values[i] if i is not None and i < size else None

        before = self.errors.total
        external_id = self._text(row, "external_id", get("external_id"), 64)
        channel = self._choice(row, "channel", get("channel"), CHANNELS, Channel.HOTLINE, CHANNEL_LABELS)
        case_type = self._choice(row, "case_type", get("case_type"), CASE_TYPES, CaseType.COMPLAINT, CASE_TYPE_LABELS)
        urgency = self._choice(row, "urgency", get("urgency"), URGENCIES, "", "一般、紧急")
        title = self._text(row, "title", get("title"), 120)
        description = self._text(row, "description", get("description"), MAX_DESCRIPTION)
        if description == "":
            self._error(row, "description", None, "问题描述必填。", "required")
        address = self._text(row, "address", get("address"), 200)
        reporter_name = self._text(row, "reporter_name", get("reporter_name"), 64)
        phone = self._text(row, "reporter_phone", get("reporter_phone"), 20)
        if phone and not is_phone(phone):
            self._error(row, "reporter_phone", get("reporter_phone"), "联系电话格式不正确（只能有数字、空格、- 和 +）。", "bad_phone")

        category_id = None
        raw_category = get("category")
        code = self._text(row, "category", raw_category, 16)
        if code:
            found = self.categories.get(code) or self.categories.get(code.upper())
            if found is None or not found[2]:
                self._error(row, "category", raw_category, f"分类编码 {code} 不存在或已停用（见模板中的“分类编码”工作表）。", "unknown_category")
            elif not found[3]:
                self._error(row, "category", raw_category,
                            f"{code} {self.category_names.get(code, '')} 是大类，请填写具体小类编码。", "not_leaf")
            else:
                category_id = found[0]
                if not urgency:
                    urgency = found[1]
        if urgency == "":
            urgency = Urgency.NORMAL

        coord = self._choice(row, "coord_system", get("coord_system"), COORD_SYSTEMS, CoordSystem.WGS84, "WGS84、GCJ02")
        raw_lon, raw_lat = get("lon"), get("lat")
        lon = self._coordinate(row, "lon", raw_lon, 180) if raw_lon is not None else None
        lat = self._coordinate(row, "lat", raw_lat, 90) if raw_lat is not None else None
        if (raw_lon is None) != (raw_lat is None):
            key = "lat" if raw_lat is None else "lon"
            self._error(row, key, None, "经度和纬度须同时填写。", "location_pair")
        elif raw_lon is None and case_type and case_type not in LOCATION_OPTIONAL:
            self._error(row, "lon", None,
                        f"工单类型为“{CaseType(case_type).label}”时必须填写经纬度（咨询、建议、表扬可不填）。", "location_required")

        created_at = self._created_at(row, get("created_at"))

        if external_id and channel:
            key = (channel, external_id)
            first = self.external_seen.get(key)
            if first is not None:
                self._error(row, "external_id", external_id, f"外部编号与第 {first} 行重复（同一来源渠道内不能重复）。", "duplicate_in_file")
            else:
                self.external_seen[key] = row

        if self.errors.total != before:
            return None
        return [
            row, external_id, channel, case_type, category_id, urgency, title, description, address,
            lon, lat, coord, None, None, None, reporter_name, phone, created_at or self.now,
        ]

    def locate_rows(self, rows: list[list], progress: ProgressFn) -> None:
        """Resolve every row's point to WGS-84 + grid/community/street, in bulk; rows outside
        the district get an error (the caller drops rows with errors)."""
        todo = [item for item in rows if item[R_LON] is not None]
        done = 0
        for start in range(0, len(todo), 20_000):
            chunk = todo[start : start + 20_000]
            try:
                found = locate_many([(item[R_LON], item[R_LAT], item[R_COORD]) for item in chunk])
            except NoGeoDataError:
                self.errors.add(0, None, "", "", "辖区地理数据尚未加载，无法定位，请先执行 cityops geo load。", "no_geo_data", fatal=True)
                return
            for item, hit in zip(chunk, found, strict=True):
                if hit is None:
                    self._error(item[R_ROW], "lon", f"{item[R_LON]!r}, {item[R_LAT]!r}",
                                "位置不在本辖区（请核对经纬度和坐标系）。", "outside_district")
                    continue
                wlon, wlat, grid_code, community_id, street_id = hit
                item[R_LON], item[R_LAT] = wlon, wlat
                item[R_GRID] = self.grid_ids.get(grid_code) if grid_code else None
                item[R_COMMUNITY], item[R_STREET] = community_id, street_id
            done += len(chunk)
            progress("locate", done, len(todo))


def locate_many(points: list[tuple[float, float, str]]) -> list[tuple | None]:
    """`cityops.geo.lookup.locate` for many points at once.

    Per point: (WGS-84 lon, WGS-84 lat, grid code, community region id, street region id),
    or None when the point is outside the district. Points that fall inside a unit grid
    (nearly all of them) are answered by one vectorised STRtree query on the lookup's own
    index, with the same rules (district outline first, lowest grid code on a shared edge);
    every other point goes through `locate` itself. Tests compare both on random points.
    Raises NoGeoDataError like `locate`.
    """
    import numpy as np
    import shapely

    from cityops.geo.coords import to_wgs84
    from cityops.geo.lookup import OutsideDistrictError, get_index, locate

    index = get_index()
    if index.empty:
        raise NoGeoDataError()
    converted = [to_wgs84(lon, lat, system) if system != CoordSystem.WGS84 else (float(lon), float(lat))
                 for lon, lat, system in points]
    out: list[tuple | None] = [None] * len(points)
    if not converted:
        return out
    xs = np.fromiter((p[0] for p in converted), dtype=float, count=len(converted))
    ys = np.fromiter((p[1] for p in converted), dtype=float, count=len(converted))
    inside = shapely.intersects_xy(index.district, xs, ys) if index.district is not None else np.ones(len(xs), bool)
    best = np.full(len(xs), -1, dtype=np.int64)
    if index.grids is not None:
        which, hit = index.grids.tree.query(shapely.points(xs, ys), predicate="intersects")
        if len(which):
            lowest = np.full(len(xs), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(lowest, which, hit)
            best = np.where(lowest == np.iinfo(np.int64).max, -1, lowest)
    keys = index.grids.keys if index.grids is not None else []
    regions: dict[str, int] | None = None
    for i, (wlon, wlat) in enumerate(converted):
        if not inside[i]:
            continue
        if best[i] >= 0:
            grid_code, community_id, street_id = keys[best[i]]
            out[i] = (wlon, wlat, grid_code, community_id, street_id)
            continue
        lon, lat, system = points[i]
        try:
            found = locate(lon, lat, system)
        except OutsideDistrictError:
            continue
        if regions is None:
            regions = {info.code: rid for rid, info in index.regions.items()}
        out[i] = (found.lon, found.lat, found.grid_code, regions.get(found.community_code), regions.get(found.street_code))
    return out


# Positions in the validated row tuple.
R_ROW, R_EXTERNAL, R_CHANNEL, R_TYPE, R_CATEGORY, R_URGENCY, R_TITLE, R_DESCRIPTION, R_ADDRESS = range(9)
R_LON, R_LAT, R_COORD, R_GRID, R_COMMUNITY, R_STREET, R_NAME, R_PHONE, R_CREATED = range(9, 18)


def check_existing_external_ids(valid: list[tuple], errors: ErrorList, mapping: dict[str, int]) -> None:
    """Rows whose (channel, external id) is already in the database."""
    wanted: dict[str, dict[str, int]] = defaultdict(dict)
    for item in valid:
        if item[R_EXTERNAL]:
            wanted[item[R_CHANNEL]][item[R_EXTERNAL]] = item[R_ROW]
    column = mapping.get("external_id")
    for channel, ids in wanted.items():
        keys = list(ids)
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            # exclude(""): the unique index is partial (external_id <> ''); without the
            # condition SQLite scans every case of the channel.
            found = (Case.objects.filter(channel=channel, external_id__in=chunk).exclude(external_id="")
                     .order_by().values_list("external_id", "number"))
            for external_id, number in found:
                errors.add(ids[external_id], column, "外部编号", external_id,
                           f"该来源渠道的外部编号已存在（案件 {number}），不能重复导入。", "duplicate_existing")


def explain_misplaced_header(table: Table, row_no: int, errors: ErrorList) -> None:
    """A title line above the header is a common mistake: say so instead of listing every cell."""
    for _ in range(5):
        following = next(table.rows, None)
        if following is None:
            return
        probe = ErrorList()
        mapping = map_header(following[0], following[1], probe)
        if not probe.total and mapping:
            errors.items.clear()
            errors.total = 0
            errors.add(row_no, None, "", "", f"第 {following[0]} 行才是表头：请删除表头上方的标题行，让表头位于第一行。",
                       "header_not_first_row", fatal=True)
            return


def check_merged(ranges: list[str], header_row: int, mapping: dict[str, int], errors: ErrorList) -> None:
    if not ranges:
        return
    from openpyxl.utils.cell import range_boundaries

    for ref in ranges:
        try:
            min_col, min_row, _max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if min_row <= header_row:
            errors.add(header_row, min_col - 1, "", ref, f"表头有合并单元格 {ref}：请取消合并，每列一个表头。", "merged_cell", fatal=True)
            continue
        for row in range(min_row, min(max_row, min_row + 10_000) + 1):
            errors.add(row, min_col - 1, "", ref, f"合并单元格 {ref}：请取消合并，并在每一行填写完整的值。", "merged_cell")
