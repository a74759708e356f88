"""PostgreSQL binary COPY rows built column-wise with NumPy (no Python work per row).

A binary COPY stream is a signature, then per row an int16 field count and per field an
int32 length (-1 for NULL) followed by the value in network byte order, then a trailer.
`RowEncoder` takes *segments*, each one or more consecutive fields whose bytes (length
prefixes included) are given for every row as a uint8 matrix plus a per-row length, and
scatters them into one buffer. Values that come from a small set (a category's title and
description, a status block …) are encoded once per distinct value and picked by code.
"""

from __future__ import annotations

import struct

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 in Unix microseconds
NULL_FIELD = b"\xff\xff\xff\xff"


# ---------------------------------------------------------------- one value → field bytes


def text(value: str | None) -> bytes:
    if value is None:
        return NULL_FIELD
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def jsonb(value: str | None) -> bytes:
    if value is None:
        return NULL_FIELD
    data = b"\x01" + value.encode()
    return struct.pack("!i", len(data)) + data


def int8(value: int | None) -> bytes:
    return NULL_FIELD if value is None or value < 0 else struct.pack("!iq", 8, value)


def int4(value: int) -> bytes:
    return struct.pack("!ii", 4, value)


def boolean(value: bool) -> bytes:
    return struct.pack("!i?", 1, value)


# ---------------------------------------------------------------- columns → segments


class RowEncoder:
    """Collect segments for `n` rows, then `encode()` them into COPY bytes (without signature)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.nfields = 0
        self.segments: list[tuple[np.ndarray, np.ndarray | int]] = []

    def _add(self, mat: np.ndarray, lens: np.ndarray | int, fields: int) -> None:
        self.segments.append((mat, lens))
        self.nfields += fields

    def fixed(self, values: np.ndarray, dtype: str, null: np.ndarray | None = None) -> None:
        """A fixed-size column (">i8", ">i4", ">f8", "?"), NULL where `null` is True."""
        size = np.dtype(dtype).itemsize
        mat = np.empty((self.n, 4 + size), dtype=np.uint8)
        mat[:, :4] = np.frombuffer(struct.pack("!i", size), dtype=np.uint8)
        mat[:, 4:] = np.ascontiguousarray(values.astype(dtype)).view(np.uint8).reshape(self.n, size)
        if null is not None and null.any():
            mat[null, :4] = 0xFF
            self._add(mat, np.where(null, 4, 4 + size), 1)
        else:
            self._add(mat, 4 + size, 1)

    def int8(self, values: np.ndarray, nullable: bool = False) -> None:
        """int8 column; negative values are NULL when `nullable`."""
        self.fixed(values, ">i8", values < 0 if nullable else None)

    def timestamp(self, unix_us: np.ndarray) -> None:
        """timestamptz from Unix microseconds; negative is NULL."""
        self.fixed(unix_us - PG_EPOCH_US, ">i8", unix_us < 0)

    def strings(self, values: np.ndarray) -> None:
        """A text column from a NumPy bytes array ("S" dtype, UTF-8, no trailing NULs in the data)."""
        width = values.dtype.itemsize
        lens = np.char.str_len(values).astype(np.int64)
        mat = np.empty((self.n, 4 + width), dtype=np.uint8)
        mat[:, :4] = lens.astype(">i4").view(np.uint8).reshape(self.n, 4)
        mat[:, 4:] = values.view(np.uint8).reshape(self.n, width)
        self._add(mat, 4 + lens, 1)

    def raw(self, mat: np.ndarray, lens: np.ndarray | int, fields: int) -> None:
        self._add(mat, lens, fields)

    def lookup(self, codes: np.ndarray, entries: list[bytes], fields: int) -> None:
        """Fields whose encoded bytes are `entries[code]` (each entry already has its length prefixes)."""
        widths = np.array([len(e) for e in entries], dtype=np.int64)
        width = int(widths.max()) if len(entries) else 0
        table = np.zeros((len(entries), max(width, 1)), dtype=np.uint8)
        for i, entry in enumerate(entries):
            table[i, : len(entry)] = np.frombuffer(entry, dtype=np.uint8)
        lens = widths[codes]
        if (lens == lens[0]).all() if len(lens) else True:
            self._add(table[codes][:, :width], width, fields)
        else:
            self._add(table[codes], lens, fields)

    def encode(self, block: int = 16384) -> list[bytes]:
        """Lay the segments side by side in a padded matrix (one row per COPY row), then keep
        the valid bytes of each segment: a boolean compress in row-major order is exactly the
        concatenation of the rows."""
        header = np.frombuffer(struct.pack("!h", self.nfields), dtype=np.uint8)
        widths = [mat.shape[1] for mat, _lens in self.segments]
        total = 2 + sum(widths)
        out: list[bytes] = []
        for start in range(0, self.n, block):
            stop = min(self.n, start + block)
            k = stop - start
            padded = np.empty((k, total), dtype=np.uint8)
            valid = np.ones((k, total), dtype=bool)
            padded[:, :2] = header
            col = 2
            for (mat, lens), width in zip(self.segments, widths, strict=True):
                padded[:, col : col + width] = mat[start:stop]
                if not isinstance(lens, int):
                    np.less(np.arange(width), lens[start:stop, None], out=valid[:, col : col + width])
                elif lens < width:
                    valid[:, col + lens : col + width] = False
                col += width
            out.append(padded[valid].tobytes())
        return out


def group_encode(keys: np.ndarray, fixed: list[tuple[np.ndarray, str]], tails: dict[int, bytes], nfields: int) -> list[bytes]:
    """Rows that share their variable part: each row is `fixed` columns (non-null) then the
    bytes `tails[key]`. Rows are written grouped by key (COPY does not care about order)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bounds = np.flatnonzero(np.diff(sorted_keys)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(keys)]])
    head = struct.pack("!h", nfields)
    fixed_sorted = [(values[order], dtype) for values, dtype in fixed]
    fixed_width = 2 + sum(4 + np.dtype(d).itemsize for _v, d in fixed)
    out: list[bytes] = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        if a == b:
            continue
        tail = tails[int(sorted_keys[a])]
        k = b - a
        rec = np.empty((k, fixed_width + len(tail)), dtype=np.uint8)
        rec[:, :2] = np.frombuffer(head, dtype=np.uint8)
        col = 2
        for values, dtype in fixed_sorted:
            size = np.dtype(dtype).itemsize
            rec[:, col : col + 4] = np.frombuffer(struct.pack("!i", size), dtype=np.uint8)
            rec[:, col + 4 : col + 4 + size] = np.ascontiguousarray(values[a:b].astype(dtype)).view(np.uint8).reshape(k, size)
            col += 4 + size
        rec[:, col:] = np.frombuffer(tail, dtype=np.uint8)
        out.append(rec.tobytes())
    return out
