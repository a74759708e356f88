"""CSV for Excel that never runs a cell as a formula (CSV injection, OWASP "CSV Injection").

Every CSV the site hands out goes through `csv_writer`: a cell starting with =, +, -, @,
a tab or a carriage return gets a leading apostrophe, so `=HYPERLINK(…)` from an uploaded
file or a citizen's text reads as text in Excel and WPS. The importer takes the apostrophe
off again (`intake.import_checks.CSV_ESCAPED`, the same pattern), so exported files import
unchanged.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from typing import Any

# Apostrophes already in front are counted too: "'=1" must come back as "'=1", not "=1".
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")


def csv_cell(value: Any) -> str:
    """The text of one cell: None empty, datetimes without microseconds, floats exact,
    formula-looking text behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text and FORMULA_START.match(text) else text


class SafeCsvWriter:
    """`csv.writer` whose rows pass through `csv_cell`; `writerow` returns what the target's
    `write` returned (the line itself with `LineTarget`)."""

    def __init__(self, target: Any) -> None:
        self._writer = csv.writer(target)

    def writerow(self, row: list[Any]) -> Any:
        return self._writer.writerow([csv_cell(value) for value in row])


class LineTarget:
    """A `write` target that hands back what was written, for streaming line by line."""

    def write(self, value: str) -> str:
        return value


def csv_writer(target: Any = None) -> SafeCsvWriter:
    """The one CSV writer of the site; without a target, `writerow` returns the line."""
    return SafeCsvWriter(target if target is not None else LineTarget())
