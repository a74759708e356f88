"""Personal data typed into a case's free text, as a user may see it.

The one decision for pages, partials, API answers and exports: the text as stored for a role
that sees personal data (`permissions.can_see_personal_data`), with phones, ID-card numbers,
bank cards and e-mails masked (`common.pii.mask_text`) for everyone else. The desks
(their presenters and the `pii` template filter) and the API serialisers use it.
"""

from __future__ import annotations

from typing import Any

from cityops.cases.models import Case, CaseEvent
from cityops.cases.permissions import can_see_personal_data
from cityops.common.pii import mask_text, mask_value

# What people type: the case's own texts, and the texts of its requests (退单说明, 延期理由).
FREE_TEXT_FIELDS = ("title", "description", "address", "result", "answer")


def shown_text(text: str | None, user, *, clear: bool | None = None) -> str:
    """Free text as `user` may see it: as stored for a role that sees personal data
    (`permissions.can_see_personal_data`), with phones, ID-card numbers, bank cards and
    e-mails masked (`common.pii.mask_text`) for everyone else. `clear` is that decision made
    once for a whole list (so a 1,000-row page asks the permission once)."""
    if not text:
        return text or ""
    if clear is None:
        clear = can_see_personal_data(user)
    return text if clear else mask_text(text)


def case_free_text(case: Case, user, *, clear: bool | None = None) -> dict[str, Any]:
    """A case's free text as `user` may see it: title, description, address, 处置结果, 答复,
    and the notes of a pending return or extension request. The stored case is never changed."""
    if clear is None:
        clear = can_see_personal_data(user)
    out: dict[str, Any] = {f: shown_text(getattr(case, f), user, clear=clear) for f in FREE_TEXT_FIELDS}
    out["return_request"] = case.return_request if clear or not case.return_request else mask_value(case.return_request)
    out["extension_request"] = (
        case.extension_request if clear or not case.extension_request else mask_value(case.extension_request)
    )
    return out


def event_free_text(event: CaseEvent, user, *, clear: bool | None = None) -> tuple[str, dict[str, Any]]:
    """An event's note and payload as `user` may see them (a 退单说明 or 延期理由 may hold a phone)."""
    if clear is None:
        clear = can_see_personal_data(user)
    if clear:
        return event.note, event.payload or {}
    return mask_text(event.note or ""), mask_value(event.payload or {})
