"""Domain errors with stable codes; the API turns them into {"code", "message", "details"} and
the pages into Chinese messages."""

from __future__ import annotations

from typing import Any


class CaseError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(CaseError):
    code = "validation_error"
    http_status = 400


class InvalidTransition(CaseError):
    code = "invalid_transition"
    http_status = 409


class Conflict(CaseError):
    code = "conflict"
    http_status = 409


class NotAllowed(CaseError):
    code = "forbidden"
    http_status = 403


class CaseNotFound(CaseError):
    code = "not_found"
    http_status = 404
