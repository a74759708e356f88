"""Personal data typed into free text: phone numbers, ID-card numbers, bank cards, e-mail addresses.

One home for detecting them and for masking them for whoever may not see personal data
(pages, API, exports, webhooks, reports, the big screen, Open311). A number is treated as
personal only when it is shaped like one: an ID-card number must carry a valid GB 11643
check digit and a bank card a valid Luhn digit, so case numbers, dates and amounts pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Digits glued to other digits or ASCII letters are part of something else (a case number,
# a serial); Chinese text around a number is the normal case and does not prevent a match.
_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"

_ID_CARD = re.compile(_EDGE_BEFORE + r"[1-9][0-9]{16}[0-9Xx]" + _EDGE_AFTER)
_MOBILE = re.compile(_EDGE_BEFORE + r"(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}" + _EDGE_AFTER)
_LANDLINE = re.compile(_EDGE_BEFORE + r"0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}" + _EDGE_AFTER)
_CARD = re.compile(_EDGE_BEFORE + r"[1-9][0-9]{3}(?:[- ]?[0-9]{4}){2,3}(?:[0-9]{1,3})?" + _EDGE_AFTER)
# starts only where a local part can start, so a long run of letters is scanned once, not once per letter
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# Every number pattern above needs a run of at least seven digits, separators and check
# characters, and an e-mail an "@": cheap tests that rule out most texts (an address, "12号楼")
# before the scans (the e-mail scan in particular retries at every character of a digit run).
_NUMBER_RUN = re.compile(r"[0-9][0-9 -]{5,}[0-9Xx]")
_NOT_DIGIT = re.compile(r"[^0-9]")
# Full-width digits, letters and separators (typed with a Chinese input method) are read as their
# ASCII forms, one character for one, so positions in the original text stay the same.
_WIDE = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF38: ord("X"), 0xFF58: ord("x"), 0xFF0D: ord("-"),
                                                     0x3000: ord(" "), 0xFF20: ord("@"), 0xFF0B: ord("+"), 0xFF0E: ord(".")}
_HAS_WIDE = re.compile("[\uff10-\uff19\uff20]")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Found:
    kind: str  # "id_card" | "phone" | "bank_card" | "email"
    start: int
    end: int
    text: str


def id_card_valid(number: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def find_personal(text: str) -> list[Found]:
    """The personal data in `text`, left to right, without overlaps (longer kinds win)."""
    if not text:
        return []
    if _HAS_WIDE.search(text):
        text = text.translate(_WIDE)
    has_email = "@" in text
    has_number = _NUMBER_RUN.search(text) is not None
    if not has_email and not has_number:
        return []
    found: list[Found] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(kind: str, match: re.Match[str]) -> None:
        if free(match.start(), match.end()):
            taken.append((match.start(), match.end()))
            found.append(Found(kind, match.start(), match.end(), match.group()))

    if has_email:
        for m in _EMAIL.finditer(text):
            add("email", m)
    if not has_number:
        return found
    for m in _ID_CARD.finditer(text):
        if id_card_valid(m.group()):
            add("id_card", m)
    for m in _CARD.finditer(text):
        if luhn_valid(_digits(m.group())):
            add("bank_card", m)
    for m in _MOBILE.finditer(text):
        add("phone", m)
    for m in _LANDLINE.finditer(text):
        add("phone", m)
    found.sort(key=lambda f: f.start)
    return found


def _mask_one(item: Found) -> str:
    value = item.text
    if item.kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = _digits(value)
    if item.kind == "id_card":
        return f"{value[:6]}********{value[-4:]}"
    if item.kind == "bank_card":
        return f"****{digits[-4:]}"
    # phone: keep the first three and last four digits of the subscriber number
    return f"{digits[-11:-8]}****{digits[-4:]}" if len(digits) >= 11 else f"{digits[:3]}****{digits[-4:]}"


def mask_text(text: str) -> str:
    """`text` with every phone, ID-card number, bank card and e-mail partly hidden
    (138****1234, 110101********1234, ****1234, a***@example.com)."""
    items = find_personal(text)
    if not items:
        return text
    out, last = [], 0
    for item in items:
        out.append(text[last:item.start])
        out.append(_mask_one(item))
        last = item.end
    out.append(text[last:])
    return "".join(out)


def has_personal(text: str) -> bool:
    return bool(find_personal(text))


def mask_value(value: Any) -> Any:
    """`value` with `mask_text` applied to every string inside it (dicts, lists: a JSON payload)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
