"""The OpenAPI document is valid OpenAPI 3.1 and states what the server really enforces."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from openapi_spec_validator import OpenAPIV31SpecValidator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return json.loads(Client().get("/api/openapi.json").content)


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def _parameter(document, path, method, name):
    return next(p for p in document["paths"][path][method]["parameters"] if p["name"] == name)


def test_paging_and_ids_state_their_bounds(document):
    page = _parameter(document, "/api/v1/cases", "get", "page")["schema"]
    assert page["minimum"] == 1 and page["maximum"] == 10_000
    after = _parameter(document, "/api/v1/stats/bigscreen", "get", "after")["schema"]
    assert after["minimum"] == 0 and after["maximum"] == 2**63 - 1


def test_choices_the_server_checks_are_enums(document):
    kind = _parameter(document, "/api/v1/stats/assessment/ranking", "get", "kind")["schema"]
    assert set(kind["enum"]) == {"department", "street", "inspector", "operator", "dispatcher"}
    action = _parameter(document, "/api/v1/cases/{number}/actions/{action}", "post", "action")["schema"]
    assert {"register", "dispatch", "respond", "verify", "callback"} <= set(action["enum"])
    level = _parameter(document, "/api/v1/stats/map/layers/{level}", "get", "level")["schema"]
    assert set(level["enum"]) >= {"street", "community", "grid"}


def test_every_operation_documents_its_error_answers(document):
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            if operation.get("security") and "401" not in answers:
                missing.append(f"{method} {path} 401")
            checked = [p for p in operation.get("parameters", []) if p["in"] != "path" or p["schema"].get("type") != "string"]
            if (checked or "requestBody" in operation) and "400" not in answers:
                missing.append(f"{method} {path} 400")
            for status, answer in answers.items():
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, f"{method} {path} {status}"
    assert missing == []


def test_bodies_document_the_413_the_server_answers_over_the_size_limit(document):
    for path in ["/api/v1/cases", "/api/v1/cases/{number}/actions/{action}", "/api/v1/intake/city", "/api/v1/intake/alarm"]:
        assert "413" in document["paths"][path]["post"]["responses"], path
