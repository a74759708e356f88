"""Helpers shared by the intake views."""

from __future__ import annotations

from django import forms

from cityops.cases.errors import CaseError

# Keys of `ValidationFailed.details` → form fields; location problems show under the map picker.
ERROR_FIELDS = {
    "description": "description", "location": "lon", "coord_system": "lon", "reporter_phone": "reporter_phone",
    "category": "category", "file": "photo", "case_type": "case_type", "note": "note", "passed": "passed",
    "satisfaction": "satisfaction", "comment": "comment",
}


def apply_case_error(form: forms.Form, exc: CaseError) -> None:
    """Put a domain error onto the form fields it is about (or on the form itself)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for key, value in details.items():
        name = ERROR_FIELDS.get(key)
        if name and name in form.fields:
            message = value if isinstance(value, str) and not value.isascii() else exc.message
            if name not in form.errors or message not in form.errors[name]:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
